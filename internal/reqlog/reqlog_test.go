package reqlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/store/sqlite"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "reqlog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func rec(i int) store.RequestLog {
	return store.RequestLog{
		ID:       fmt.Sprintf("req_%05d", i),
		Time:     time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
		KeyID:    "key_1",
		Endpoint: "chat.completions",
		Status:   200,
		Usage:    llm.Usage{InputTokens: int64(i), OutputTokens: 1},
	}
}

func stored(t *testing.T, s store.Store) int {
	t.Helper()
	got, err := s.Requests(context.Background(), store.RequestFilter{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return len(got)
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func closeW(t *testing.T, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestWrittenWithinFlushInterval(t *testing.T) {
	s := openStore(t)
	const interval = 50 * time.Millisecond
	w := New(s, Options{FlushInterval: interval, BatchSize: 1000, Logger: quiet()})
	defer closeW(t, w)
	start := time.Now()
	for i := range 10 {
		w.Log(rec(i))
	}
	waitFor(t, 5*time.Second, "records to be stored", func() bool { return stored(t, s) == 10 })
	// A tick is at most one interval away; allow slack for a slow -race run.
	if d := time.Since(start); d > 10*interval {
		t.Errorf("records stored after %v, want within about %v", d, interval)
	}
	// The writer counts a batch just after its insert commits, so a reader
	// of the store can see the rows a moment before the count.
	waitFor(t, 5*time.Second, "the batch to be counted", func() bool { return w.Stats().Written == 10 })
	if st := w.Stats(); st.Written != 10 || st.Queued != 0 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestBatchSizeTriggersWrite(t *testing.T) {
	s := openStore(t)
	w := New(s, Options{FlushInterval: time.Hour, BatchSize: 5, Logger: quiet()})
	for i := range 8 {
		w.Log(rec(i))
	}
	waitFor(t, 5*time.Second, "a full batch to be stored", func() bool { return stored(t, s) == 5 })
	time.Sleep(50 * time.Millisecond)
	if n := stored(t, s); n != 5 {
		t.Errorf("stored %d records before the interval, want only the full batch of 5", n)
	}
	if st := w.Stats(); st.Queued != 3 {
		t.Errorf("Stats.Queued = %d, want 3", st.Queued)
	}
	closeW(t, w)
	if n := stored(t, s); n != 8 {
		t.Errorf("stored %d after Close, want 8", n)
	}
}

func TestCloseFlushesAll(t *testing.T) {
	s := openStore(t)
	w := New(s, Options{FlushInterval: time.Hour, BatchSize: 100, Logger: quiet()})
	const n = 1234
	for i := range n {
		w.Log(rec(i))
	}
	closeW(t, w)
	if got := stored(t, s); got != n {
		t.Errorf("stored %d, want %d", got, n)
	}
	if st := w.Stats(); st != (Stats{Written: n}) {
		t.Errorf("Stats = %+v, want Written %d only", st, n)
	}
	// Close is idempotent.
	closeW(t, w)
}

// blockingStore holds InsertRequests until release is closed (or the
// context ends), so a test can fill the queue deterministically.
type blockingStore struct {
	store.Store
	entered chan struct{} // receives once per InsertRequests call
	release chan struct{}
}

func newBlocking(s store.Store) *blockingStore {
	return &blockingStore{Store: s, entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (b *blockingStore) InsertRequests(ctx context.Context, logs []store.RequestLog) error {
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.Store.InsertRequests(ctx, logs)
}

func TestDropsWhenFull(t *testing.T) {
	s := openStore(t)
	b := newBlocking(s)
	w := New(b, Options{QueueSize: 4, BatchSize: 1, FlushInterval: time.Hour, Logger: quiet()})
	w.Log(rec(0))
	<-b.entered // the writer holds record 0 and is stuck in the store
	for i := 1; i <= 4; i++ {
		w.Log(rec(i)) // fills the queue
	}
	start := time.Now()
	for i := 5; i <= 7; i++ {
		w.Log(rec(i)) // dropped, without blocking
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("Log on a full queue took %v", d)
	}
	if st := w.Stats(); st != (Stats{Queued: 5, Dropped: 3}) {
		t.Errorf("Stats with a full queue = %+v, want Queued 5, Dropped 3", st)
	}
	close(b.release)
	closeW(t, w)
	if st := w.Stats(); st != (Stats{Written: 5, Dropped: 3}) {
		t.Errorf("Stats after Close = %+v, want Written 5, Dropped 3", st)
	}
	got, err := s.Requests(t.Context(), store.RequestFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if want := "req_00004,req_00003,req_00002,req_00001,req_00000"; strings.Join(ids, ",") != want {
		t.Errorf("stored %v, want %s", ids, want)
	}
}

// flakyStore fails the first fails calls, or all of them when fails < 0.
type flakyStore struct {
	store.Store
	fails int
	calls atomic.Int32
}

var errFlaky = errors.New("flaky: database is locked")

func (f *flakyStore) InsertRequests(ctx context.Context, logs []store.RequestLog) error {
	n := int(f.calls.Add(1))
	if f.fails < 0 || n <= f.fails {
		return errFlaky
	}
	return f.Store.InsertRequests(ctx, logs)
}

func TestRetryThenSucceed(t *testing.T) {
	s := openStore(t)
	f := &flakyStore{Store: s, fails: 2}
	w := New(f, Options{FlushInterval: time.Hour, Retries: 3, RetryBackoff: time.Millisecond, Logger: quiet()})
	for i := range 3 {
		w.Log(rec(i))
	}
	closeW(t, w)
	if st := w.Stats(); st != (Stats{Written: 3}) {
		t.Errorf("Stats = %+v, want Written 3", st)
	}
	if c := f.calls.Load(); c != 3 {
		t.Errorf("InsertRequests calls = %d, want 3", c)
	}
	if n := stored(t, s); n != 3 {
		t.Errorf("stored %d, want 3", n)
	}
}

func TestFailedBatchDropped(t *testing.T) {
	s := openStore(t)
	f := &flakyStore{Store: s, fails: -1}
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
	w := New(f, Options{FlushInterval: time.Hour, Retries: 2, RetryBackoff: time.Millisecond, Logger: logger})
	for i := range 3 {
		w.Log(rec(i))
	}
	closeW(t, w)
	if st := w.Stats(); st != (Stats{Failed: 3}) {
		t.Errorf("Stats = %+v, want Failed 3", st)
	}
	if c := f.calls.Load(); c != 3 {
		t.Errorf("InsertRequests calls = %d, want 1 + 2 retries", c)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{"level=ERROR", "records=3", "attempts=3", errFlaky.Error()} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestLogAfterCloseDropped(t *testing.T) {
	s := openStore(t)
	w := New(s, Options{Logger: quiet()})
	closeW(t, w)
	w.Log(rec(1))
	if st := w.Stats(); st != (Stats{Dropped: 1}) {
		t.Errorf("Stats = %+v, want Dropped 1", st)
	}
}

func TestRecordWithoutIDDropped(t *testing.T) {
	s := openStore(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	w := New(s, Options{FlushInterval: time.Hour, Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))})
	w.Log(store.RequestLog{})
	w.Log(store.RequestLog{})
	w.Log(rec(1))
	closeW(t, w)
	if st := w.Stats(); st != (Stats{Written: 1, Dropped: 2}) {
		t.Errorf("Stats = %+v, want Written 1, Dropped 2", st)
	}
	if n := strings.Count(buf.String(), "without ID"); n != 1 {
		t.Errorf("warned %d times, want once", n)
	}
}

func TestCloseTimeout(t *testing.T) {
	s := openStore(t)
	b := newBlocking(s)
	w := New(b, Options{BatchSize: 2, FlushInterval: time.Hour, Logger: quiet()})
	for i := range 5 {
		w.Log(rec(i))
	}
	<-b.entered
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want DeadlineExceeded", err)
	}
	// The writer gives up on the rest instead of running on in the background.
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		t.Fatal("writer goroutine still running after Close timed out")
	}
	if st := w.Stats(); st != (Stats{Failed: 5}) {
		t.Errorf("Stats = %+v, want Failed 5", st)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	s := openStore(t)
	before := runtime.NumGoroutine()
	for range 5 {
		w := New(s, Options{FlushInterval: 10 * time.Millisecond, Logger: quiet()})
		w.Log(rec(1))
		closeW(t, w)
	}
	waitFor(t, 5*time.Second, "writer goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
}

// TestConcurrentLogAndClose checks, under -race, that every record is
// accounted for exactly once while Close races with Log.
func TestConcurrentLogAndClose(t *testing.T) {
	s := openStore(t)
	w := New(s, Options{QueueSize: 500, BatchSize: 50, FlushInterval: 5 * time.Millisecond, Logger: quiet()})
	const loggers, per = 8, 500
	var wg sync.WaitGroup
	for g := range loggers {
		wg.Go(func() {
			for i := range per {
				w.Log(rec(g*per + i))
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	closeW(t, w)
	wg.Wait()
	st := w.Stats()
	if st.Written+st.Dropped+st.Failed != loggers*per || st.Queued != 0 {
		t.Errorf("Stats = %+v: records unaccounted for (want sum %d)", st, loggers*per)
	}
	if n := stored(t, s); uint64(n) != st.Written {
		t.Errorf("stored %d, Stats.Written %d", n, st.Written)
	}
}

// memStore is a minimal in-memory store for tests that run in a synctest
// bubble, where the real store's goroutines would not belong.
type memStore struct {
	store.Store
	mu   sync.Mutex
	logs []store.RequestLog
}

func (m *memStore) InsertRequests(_ context.Context, logs []store.RequestLog) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logs = append(m.logs, logs...)
	return nil
}

func (m *memStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.logs)
}

// TestFlushTiming uses a fake clock to pin the flush interval exactly; the
// bubble also fails the test if the writer goroutine outlives Close.
func TestFlushTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memStore{}
		w := New(m, Options{FlushInterval: time.Second, Logger: quiet()})
		time.Sleep(500 * time.Millisecond)
		w.Log(rec(1))
		time.Sleep(499 * time.Millisecond)
		synctest.Wait()
		if n := m.count(); n != 0 {
			t.Errorf("written %d before the tick", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := m.count(); n != 1 {
			t.Errorf("written %d at the tick, want 1", n)
		}
		w.Log(rec(2))
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := m.count(); n != 2 {
			t.Errorf("written %d after Close, want 2", n)
		}
	})
}

type discardStore struct{ store.Store }

func (discardStore) InsertRequests(context.Context, []store.RequestLog) error { return nil }

// BenchmarkLog measures the gateway's hot path: handing a record over.
func BenchmarkLog(b *testing.B) {
	w := New(discardStore{}, Options{QueueSize: 1 << 16, Logger: quiet()})
	defer w.Close(context.Background())
	r := rec(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Log(r)
		}
	})
}
