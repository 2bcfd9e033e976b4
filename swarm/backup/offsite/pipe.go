package offsite

import (
	"errors"
	"io"
	"sync"
)

// Pipe is an in-memory pipe holding up to a number of written blocks, so that the
// encryption writing into it keeps going while the upload reading from it sends a part
// (io.Pipe would make each wait for the other).
type Pipe struct {
	blocks  chan []byte
	aborted chan struct{}
	abort   sync.Once
	err     error // the writer's reason, set before blocks is closed
	cur     []byte
}

// errAborted is what a writer gets once the reader has gone.
var errAborted = errors.New("the upload ended before everything was read")

// NewPipe makes a pipe holding at most blocks written blocks.
func NewPipe(blocks int) *Pipe {
	return &Pipe{blocks: make(chan []byte, blocks), aborted: make(chan struct{})}
}

// Write queues a copy of p, waiting while the pipe is full.
func (p *Pipe) Write(b []byte) (int, error) {
	select {
	case p.blocks <- append([]byte(nil), b...):
		return len(b), nil
	case <-p.aborted:
		return 0, errAborted
	}
}

// CloseWithError ends the writing side: the reader gets err after what was written (io.EOF for nil).
func (p *Pipe) CloseWithError(err error) {
	p.err = err
	close(p.blocks)
}

// Read returns what was written, in order.
func (p *Pipe) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		next, ok := <-p.blocks
		if !ok {
			if p.err != nil {
				return 0, p.err
			}
			return 0, io.EOF
		}
		p.cur = next
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// Abort ends the reading side: a waiting or later Write fails.
func (p *Pipe) Abort() { p.abort.Do(func() { close(p.aborted) }) }
