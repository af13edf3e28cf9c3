// Package reqlog records requests asynchronously: the gateway hands each
// finished request to a Writer, which never blocks it, and a background
// goroutine writes them to the store in batches. Under overload or a store
// outage records are dropped and counted rather than slowing the gateway or
// growing memory without bound.
package reqlog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

// Options configure a Writer. Zero values select the defaults.
type Options struct {
	QueueSize     int           // records waiting to be written; default 10000
	BatchSize     int           // records per InsertRequests; default 500
	FlushInterval time.Duration // longest a record waits for a batch to fill; default 1s
	Logger        *slog.Logger  // default slog.Default()

	// Retries is how many times a failed batch is retried before it is
	// dropped; default 3. Backoff doubles from RetryBackoff (default 250ms).
	Retries      int
	RetryBackoff time.Duration
	// WriteTimeout bounds one InsertRequests call; default 10s.
	WriteTimeout time.Duration
}

// Stats are the Writer's counters.
type Stats struct {
	Queued  int    // accepted, not yet written or given up on
	Written uint64 // stored
	Dropped uint64 // refused by Log: queue full, Writer closed, or no ID
	Failed  uint64 // given up on after the store kept failing
}

// Writer is an asynchronous, batched, bounded writer of request logs. Its
// methods are safe for concurrent use.
type Writer struct {
	st   store.Store
	opts Options
	log  *slog.Logger

	// mu guards closed and the closing of queue: Log holds it shared, so
	// Close can close the channel once no send can be in flight. A shared
	// RWMutex lock is one atomic add on the hot path.
	mu     sync.RWMutex
	closed bool
	queue  chan store.RequestLog

	inBatch atomic.Int64 // records taken off the queue, not yet resolved
	written atomic.Uint64
	dropped atomic.Uint64
	failed  atomic.Uint64
	noID    atomic.Bool // warned about a record without ID

	ctx       context.Context // canceled when Close gives up waiting
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// New starts a Writer over s. Close it to flush and stop its goroutine.
func New(s store.Store, opts Options) *Writer {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 10000
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Retries <= 0 {
		opts.Retries = 3
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = 250 * time.Millisecond
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer{
		st:     s,
		opts:   opts,
		log:    opts.Logger,
		queue:  make(chan store.RequestLog, opts.QueueSize),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go w.run()
	return w
}

// Log queues r for writing. It never blocks: when the queue is full, or the
// Writer is closed, r is dropped and counted.
func (w *Writer) Log(r store.RequestLog) {
	if r.ID == "" {
		// The store would reject the whole batch for it.
		w.dropped.Add(1)
		if w.noID.CompareAndSwap(false, true) {
			w.log.Warn("reqlog: dropping request record without ID (further ones are counted silently)")
		}
		return
	}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		w.dropped.Add(1)
		return
	}
	select {
	case w.queue <- r:
	default:
		w.dropped.Add(1)
	}
	w.mu.RUnlock()
}

// Stats returns a snapshot of the counters.
func (w *Writer) Stats() Stats {
	return Stats{
		Queued:  len(w.queue) + int(w.inBatch.Load()),
		Written: w.written.Load(),
		Dropped: w.dropped.Load(),
		Failed:  w.failed.Load(),
	}
}

// Close stops accepting records, writes everything queued, and returns
// once done, or with ctx's error once ctx expires. In that case writing is
// abandoned and what was still queued is counted as failed.
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		close(w.queue)
		w.mu.Unlock()
	})
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		select {
		case <-w.done: // finished just in time
			return nil
		default:
		}
		w.cancel()
		return ctx.Err()
	}
}

func (w *Writer) run() {
	defer close(w.done)
	defer w.cancel()
	tick := time.NewTicker(w.opts.FlushInterval)
	defer tick.Stop()
	batch := make([]store.RequestLog, 0, w.opts.BatchSize)
	flush := func() {
		if len(batch) > 0 {
			w.write(batch)
			clear(batch) // drop references to the records' strings
			batch = batch[:0]
			w.inBatch.Store(0)
		}
	}
	for {
		select {
		case r, ok := <-w.queue:
			if !ok {
				flush()
				return
			}
			batch = append(batch, r)
			w.inBatch.Store(int64(len(batch)))
			if len(batch) >= w.opts.BatchSize {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// write stores batch, retrying with backoff, and otherwise gives up on it.
func (w *Writer) write(batch []store.RequestLog) {
	backoff := w.opts.RetryBackoff
	var err error
	attempts := 0
	for attempts <= w.opts.Retries {
		if w.ctx.Err() != nil {
			err = w.ctx.Err()
			break
		}
		if attempts > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-w.ctx.Done():
				t.Stop()
				continue // reported by the check above
			}
			backoff *= 2
		}
		attempts++
		ctx, cancel := context.WithTimeout(w.ctx, w.opts.WriteTimeout)
		err = w.st.InsertRequests(ctx, batch)
		cancel()
		if err == nil {
			w.written.Add(uint64(len(batch)))
			return
		}
	}
	w.failed.Add(uint64(len(batch)))
	// Records carry no secrets, but only the count and cause are logged.
	w.log.Error("reqlog: dropping request records after failed writes",
		"records", len(batch), "attempts", attempts, "err", err)
}
