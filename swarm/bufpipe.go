package swarm

import (
	"io"
	"sync"
)

// bufferedPipe is an in-memory pipe holding a few buffers, so the writer (reading
// an upload and checking it) and the reader (the engine's stream) work at the
// same time instead of taking turns as with io.Pipe. Memory is count*size bytes.
type bufferedPipe struct {
	full     chan []byte   // filled buffers, in order
	free     chan []byte   // buffers ready to fill
	done     chan struct{} // closed when the reader gives up
	doneOnce sync.Once
	rerr     error // why the reader gave up, set before done closes
	werr     error // why the writer stopped, set before full closes
	fill     []byte
	rest     []byte
	restBuf  []byte
}

// newBufferedPipe makes a pipe of count buffers of size bytes each.
func newBufferedPipe(count, size int) *bufferedPipe {
	p := &bufferedPipe{full: make(chan []byte, count), free: make(chan []byte, count), done: make(chan struct{})}
	for i := 0; i < count; i++ {
		p.free <- make([]byte, 0, size)
	}
	return p
}

// Write copies b into the pipe, waiting for a free buffer when all are full.
func (p *bufferedPipe) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		if p.fill == nil {
			select {
			case buf := <-p.free:
				p.fill = buf[:0]
			case <-p.done:
				return n, p.rerr
			}
		}
		k := copy(p.fill[len(p.fill):cap(p.fill)], b)
		p.fill, b, n = p.fill[:len(p.fill)+k], b[k:], n+k
		if len(p.fill) == cap(p.fill) {
			p.full <- p.fill // never blocks: the channel holds every buffer
			p.fill = nil
		}
	}
	return n, nil
}

// CloseWithError ends the writer's side: the reader gets what was written, then err (io.EOF when nil).
func (p *bufferedPipe) CloseWithError(err error) {
	if len(p.fill) > 0 {
		p.full <- p.fill
		p.fill = nil
	}
	p.werr = err
	close(p.full)
}

// Read hands out the written bytes in order.
func (p *bufferedPipe) Read(b []byte) (int, error) {
	if len(p.rest) == 0 {
		if err := p.next(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.rest)
	p.rest = p.rest[n:]
	return n, nil
}

// WriteTo passes whole buffers on, without copying them again.
func (p *bufferedPipe) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(p.rest) == 0 {
			if err := p.next(); err == io.EOF {
				return total, nil
			} else if err != nil {
				return total, err
			}
		}
		n, err := w.Write(p.rest)
		total += int64(n)
		p.rest = p.rest[n:]
		if err != nil {
			p.CloseRead(err)
			return total, err
		}
	}
}

// next returns the last buffer to the writer and takes the next one.
func (p *bufferedPipe) next() error {
	if p.restBuf != nil {
		p.free <- p.restBuf[:0] // never blocks: the channel holds every buffer
		p.restBuf = nil
	}
	buf, ok := <-p.full
	if !ok {
		if p.werr != nil {
			return p.werr
		}
		return io.EOF
	}
	p.rest, p.restBuf = buf, buf
	return nil
}

// CloseRead ends the reader's side: a waiting or later Write returns err.
func (p *bufferedPipe) CloseRead(err error) {
	p.doneOnce.Do(func() {
		if err == nil {
			err = io.ErrClosedPipe
		}
		p.rerr = err
		close(p.done)
	})
}
