// Package connlimit bounds the client connections a server holds open.
//
// Every open connection costs a goroutine, buffers and a file descriptor,
// whether or not its client ever sends a request; without a bound, enough
// slow or idle clients exhaust the process's descriptors and the gateway
// can no longer reach its vendors or its store. At the bound, Accept waits
// for a connection to close, so new clients wait in the kernel's accept
// queue (as with HAProxy's maxconn) instead of being refused.
//
// golang.org/x/net/netutil.LimitListener does the same, but says nothing
// when the bound is reached; this one counts it, for a metric, and logs
// it, at most once every LogEvery, so that an operator sees why clients
// wait. See docs/security.md.
package connlimit

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// LogEvery is the least time between two log lines about the bound.
const LogEvery = 10 * time.Second

// Limiter bounds the connections open through the listeners it wraps.
type Limiter struct {
	max    int
	slots  chan struct{}
	logger *slog.Logger

	open    atomic.Int64
	reached atomic.Int64 // accepts that found every slot taken
	logged  atomic.Int64 // unix nanoseconds of the last log line
}

// New returns a limiter of max connections; max <= 0 means no bound.
// A nil logger logs nothing.
func New(max int, logger *slog.Logger) *Limiter {
	l := &Limiter{max: max, logger: logger}
	if max > 0 {
		l.slots = make(chan struct{}, max)
	}
	return l
}

// Max is the bound; 0 means none.
func (l *Limiter) Max() int { return max(l.max, 0) }

// Open is the number of connections open now.
func (l *Limiter) Open() int64 { return l.open.Load() }

// Reached counts the accepts that had to wait for a free slot.
func (l *Limiter) Reached() int64 { return l.reached.Load() }

// Listen wraps ln so that its connections count against the bound.
func (l *Limiter) Listen(ln net.Listener) net.Listener {
	return &listener{Listener: ln, l: l, done: make(chan struct{})}
}

type listener struct {
	net.Listener
	l         *Limiter
	done      chan struct{}
	closeOnce sync.Once
}

func (ln *listener) Accept() (net.Conn, error) {
	l := ln.l
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		default:
			l.full()
			select {
			case l.slots <- struct{}{}:
			case <-ln.done:
				return nil, net.ErrClosed
			}
		}
	}
	c, err := ln.Listener.Accept()
	if err != nil {
		l.release()
		return nil, err
	}
	l.open.Add(1)
	return &conn{Conn: c, l: l}, nil
}

// Close also ends an Accept waiting for a slot, so that a server shutting
// down is not held by the connections it is draining.
func (ln *listener) Close() error {
	ln.closeOnce.Do(func() { close(ln.done) })
	return ln.Listener.Close()
}

// full counts an accept that found the bound reached and logs it, at most
// once every LogEvery.
func (l *Limiter) full() {
	n := l.reached.Add(1)
	if l.logger == nil {
		return
	}
	now, last := time.Now().UnixNano(), l.logged.Load()
	if now-last < int64(LogEvery) || !l.logged.CompareAndSwap(last, now) {
		return
	}
	l.logger.Warn("connection limit reached: new connections wait until one closes (http.max_connections)",
		"max_connections", l.max, "open", l.open.Load(), "waits_total", n)
}

func (l *Limiter) release() {
	if l.slots != nil {
		<-l.slots
	}
}

type conn struct {
	net.Conn
	l    *Limiter
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		c.l.release()
	})
	return err
}

// CloseWrite half-closes a TCP connection. net/http sends its FIN this way
// before closing a connection whose request it did not read to the end,
// so that the client reads the answer before a reset.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
