package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(3, 5)
		var running, peak, ran atomic.Int32
		release := make(chan struct{})
		accepted := 0
		for range 20 {
			if p.TryGo(func() {
				n := running.Add(1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				<-release
				running.Add(-1)
				ran.Add(1)
			}) {
				accepted++
			}
		}
		synctest.Wait()
		// 3 running and 5 queued: the other 12 were refused.
		if accepted != 8 || p.Len() != 5 || running.Load() != 3 {
			t.Fatalf("accepted %d, queued %d, running %d; want 8, 5, 3", accepted, p.Len(), running.Load())
		}
		close(release)
		p.Close()
		if ran.Load() != 8 || peak.Load() != 3 {
			t.Errorf("ran %d, peak %d; want 8, 3", ran.Load(), peak.Load())
		}
		if p.TryGo(func() {}) {
			t.Error("TryGo after Close = true; want false")
		}
	})
}

func TestIdlePoolHoldsNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(4, 100)
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			if !p.TryGo(func() { time.Sleep(time.Millisecond); wg.Done() }) {
				t.Fatal("TryGo refused work under its queue bound")
			}
		}
		wg.Wait()
		synctest.Wait()
		p.mu.Lock()
		running := p.running
		p.mu.Unlock()
		if running != 0 {
			t.Errorf("running after the queue drained = %d; want 0", running)
		}
	})
}

// TestDrain: Drain returns once the work counted is done and the pool
// closed, or with ctx's error when ctx ends first.
func TestDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(1, 1)
		var wg sync.WaitGroup
		release := make(chan struct{})
		wg.Add(1)
		p.Go(func() { defer wg.Done(); <-release })
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := Drain(ctx, &wg, p); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Drain with work hanging = %v; want DeadlineExceeded", err)
		}
		close(release)
		if err := Drain(t.Context(), &wg, nil); err != nil {
			t.Errorf("Drain after the work = %v; want nil", err)
		}
		synctest.Wait()
		if p.TryGo(func() {}) {
			t.Error("the pool takes work after Drain closed it")
		}
	})
}
