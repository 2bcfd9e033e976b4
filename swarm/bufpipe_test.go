package swarm

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"
)

func TestBufferedPipeDeliversEveryByteInOrder(t *testing.T) {
	want := make([]byte, 5<<20+123)
	rand.Read(want)
	for _, viaWriteTo := range []bool{false, true} {
		p := newBufferedPipe(3, 64<<10)
		go func() {
			for rest := want; len(rest) > 0; {
				n := min(len(rest), 7777) // writes that straddle buffers
				p.Write(rest[:n])
				rest = rest[n:]
			}
			p.CloseWithError(nil)
		}()
		var got bytes.Buffer
		var err error
		if viaWriteTo {
			_, err = p.WriteTo(&got)
		} else {
			_, err = io.CopyBuffer(struct{ io.Writer }{&got}, struct{ io.Reader }{p}, make([]byte, 1000))
		}
		if err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("WriteTo=%v: err %v, %d of %d bytes, equal %v", viaWriteTo, err, got.Len(), len(want), bytes.Equal(got.Bytes(), want))
		}
	}
}

func TestBufferedPipePassesTheWritersError(t *testing.T) {
	p := newBufferedPipe(2, 16)
	broke := errors.New("upload broke off")
	go func() {
		p.Write([]byte("partial"))
		p.CloseWithError(broke)
	}()
	got, err := io.ReadAll(p)
	if string(got) != "partial" || !errors.Is(err, broke) {
		t.Fatalf("got %q, %v; want the partial bytes, then the writer's error", got, err)
	}
}

func TestBufferedPipeReleasesAWriterWhenTheReaderGivesUp(t *testing.T) {
	p := newBufferedPipe(2, 16)
	done := make(chan error, 1)
	go func() {
		_, err := p.Write(make([]byte, 1000)) // more than the pipe holds: blocks
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a write larger than the pipe returned before anyone read: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	gone := errors.New("engine stopped reading")
	p.CloseRead(gone)
	select {
	case err := <-done:
		if !errors.Is(err, gone) {
			t.Fatalf("write error %v, want the reader's", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the writer stayed blocked after the reader gave up")
	}
}
