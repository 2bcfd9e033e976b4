package offsite

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

func TestPipeCarriesEverythingInOrderAndEnds(t *testing.T) {
	p := NewPipe(2)
	want := bytes.Repeat([]byte("berth"), 10000)
	go func() {
		for i := 0; i < len(want); i += 777 {
			p.Write(want[i:min(i+777, len(want))])
		}
		p.CloseWithError(nil)
	}()
	got, err := io.ReadAll(p)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (%v), want %d", len(got), err, len(want))
	}

	broken := errors.New("disk read failed")
	p = NewPipe(1)
	go func() { p.Write([]byte("part")); p.CloseWithError(broken) }()
	if got, err := io.ReadAll(p); string(got) != "part" || !errors.Is(err, broken) {
		t.Errorf("a writer's error: %q %v", got, err)
	}
}

func TestPipeAbortFreesAWaitingWriter(t *testing.T) {
	p := NewPipe(1)
	p.Write([]byte("fills the pipe"))
	done := make(chan error, 1)
	go func() { _, err := p.Write([]byte("waits")); done <- err }()
	time.Sleep(50 * time.Millisecond)
	p.Abort()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a write after the reader went succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the writer still waits after Abort")
	}
}
