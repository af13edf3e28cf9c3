package keys

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

// slowSource answers after a delay, counting lookups.
type slowSource struct {
	key     store.Key
	lookups atomic.Int32
}

func (s *slowSource) KeyByHash(ctx context.Context, hash string) (store.Key, error) {
	s.lookups.Add(1)
	select {
	case <-time.After(50 * time.Millisecond):
	case <-ctx.Done():
		return store.Key{}, ctx.Err()
	}
	return s.key, nil
}

// Concurrent misses for one key make one store lookup, and a waiter is
// not failed by the cancellation of the caller that led the lookup.
func TestLookupSharesConcurrentMisses(t *testing.T) {
	secret, k, err := Generate("busy", nil)
	if err != nil {
		t.Fatal(err)
	}
	src := &slowSource{key: k}
	a := NewAuthenticator(src, AuthenticatorOptions{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if got, err := a.Lookup(context.Background(), secret); err != nil || got.ID != k.ID {
				t.Errorf("Lookup = %+v, %v", got, err)
			}
		})
	}
	wg.Wait()
	if n := src.lookups.Load(); n != 1 {
		t.Errorf("%d store lookups for 50 concurrent misses, want 1", n)
	}

	a.Purge()
	src.lookups.Store(0)
	leader, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := a.Lookup(leader, secret); done <- err }()
	time.Sleep(10 * time.Millisecond) // the leader's lookup is in flight
	var follower error
	wg.Go(func() { _, follower = a.Lookup(context.Background(), secret) })
	time.Sleep(10 * time.Millisecond)
	cancel()
	wg.Wait()
	if err := <-done; err == nil {
		t.Error("the canceled leader succeeded")
	}
	if follower != nil {
		t.Errorf("the follower failed with the leader's cancellation: %v", follower)
	}
}
