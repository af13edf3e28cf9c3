package connlimit

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/testenv"
)

func TestLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.SyncBuffer
	l := New(2, slog.New(slog.NewTextHandler(&logs, nil)))
	ln := l.Listen(raw)
	defer ln.Close()

	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial()
	dial()
	first, second := <-accepted, <-accepted
	// The third connection is made by the kernel but not accepted: the
	// accept loop waits for a slot, and says so once.
	dial()
	eventually(t, func() bool { return l.Reached() > 0 }) // Accept counts, then waits
	if l.Open() != 2 || len(accepted) != 0 {
		t.Fatalf("open %d, accepted %d beyond the limit", l.Open(), len(accepted))
	}
	first.Close()
	third := <-accepted
	if l.Open() != 2 {
		t.Errorf("open = %d after one closed and one more was accepted", l.Open())
	}
	first.Close() // a second Close frees nothing
	second.Close()
	third.Close()
	if l.Open() != 0 {
		t.Errorf("open = %d after every connection closed", l.Open())
	}
	if n := strings.Count(logs.String(), "connection limit reached"); n != 1 {
		t.Errorf("%d log lines about the limit:\n%s", n, logs.String())
	}
}

// Closing the listener ends an Accept that waits for a slot.
func TestCloseWhileFull(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(1, nil)
	ln := l.Listen(raw)
	c, _ := net.Dial("tcp", raw.Addr().String())
	defer c.Close()
	held, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	done := make(chan error)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	eventually(t, func() bool { return l.Reached() > 0 })
	ln.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
}

func TestNoLimit(t *testing.T) {
	if l := New(0, nil); l.Max() != 0 || l.slots != nil {
		t.Error("a limit of 0 bounds")
	}
}

// eventually polls cond, for at most 10 s: a bound on a hang, not a
// timed assertion.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
	}
}
