package engine

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/regen-dev/regen/store"
)

// sharedStore is a store that several engines share, as the Redis store
// is: a memory store with a lock table. The test plays the other instance.
type sharedStore struct {
	*store.Memory
	mu    sync.Mutex // protects locks
	locks map[string]bool
}

func (s *sharedStore) TryLock(ctx context.Context, key string, lease time.Duration) (func(), bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[key] {
		return nil, false, nil
	}
	s.locks[key] = true
	return func() {
		s.mu.Lock()
		delete(s.locks, key)
		s.mu.Unlock()
	}, true, nil
}

var _ store.Locker = (*sharedStore)(nil)

// TestSharedLock: while another instance holds a path's lock, a stale path
// is served STALE without a render, and a missing path waits for the other
// instance's entry instead of rendering.
func TestSharedLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &sharedStore{Memory: store.NewMemory(store.MemoryOptions{}), locks: map[string]bool{}}
		var c counter
		var site Site
		site.Page("/p", Page{Revalidate: sec(60), Render: fetchPage("p", &c)})
		var logs logBuffer
		e := newEngine(t, &site, Options{Store: st, Logger: logs.logger()})
		other := newEngine(t, &site, Options{Store: st, Logger: logs.logger()})

		if r := get(e, "/p"); r.status != "MISS" || c.get() != 1 {
			t.Fatalf("first GET = %s after %d renders; want MISS, 1", r.status, c.get())
		}
		// The other instance starts regenerating /p.
		st.locks["render:/p"] = true
		time.Sleep(60 * time.Second)
		for range 3 {
			if r := get(e, "/p"); r.status != "STALE" {
				t.Errorf("GET while locked elsewhere = %s; want STALE", r.status)
			}
		}
		synctest.Wait()
		if c.get() != 1 {
			t.Errorf("renders while locked elsewhere = %d; want 1", c.get())
		}
		if !e.backoff.Waiting("/p", time.Now()) || e.backoff.Waiting("/p", time.Now().Add(time.Second)) {
			t.Error("a lock held elsewhere should pause the next try for one second")
		}
		if logs.String() != "" {
			t.Errorf("log = %q; a regeneration running elsewhere is not a failure", logs.String())
		}

		// A missing path waits for the other instance's entry.
		st.Delete(context.Background(), "/p")
		done := make(chan response)
		go func() { done <- get(e, "/p") }()
		time.Sleep(time.Second)
		synctest.Wait()
		delete(st.locks, "render:/p")
		if r := get(other, "/p"); r.status != "MISS" { // the other instance renders and stores it
			t.Fatalf("other instance GET = %s; want MISS", r.status)
		}
		if r := <-done; r.status != "MISS" || r.body != "p n=2" {
			t.Errorf("waiting GET = %s %q; want the other instance's entry, p n=2", r.status, r.body)
		}
		if c.get() != 2 {
			t.Errorf("renders = %d; want 2 (one per instance, none by the waiter)", c.get())
		}
	})
}
