package fetchcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/internal/pool"
)

// TestFetchDuringShutdown: an engine's Shutdown whose deadline passes gives
// up on the renders in flight, which may go on fetching while the Data
// Cache's Shutdown waits for its detached calls, or wakes from that wait. A
// call started then must not be added to the WaitGroup being waited on
// (a data race under -race; "WaitGroup is reused before previous Wait has
// returned", a panic, without). Real time: the race is in the scheduling.
func TestFetchDuringShutdown(t *testing.T) {
	for round := range 40 {
		c := New(Options{Fetcher: FetcherFunc(func(ctx context.Context, req *Request) (*Response, error) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Millisecond):
				return &Response{Status: 200}, nil
			}
		})})
		ctx, cancel := context.WithCancel(context.Background())
		var stop atomic.Bool
		var wg sync.WaitGroup
		var n atomic.Int64
		for range 8 {
			wg.Go(func() {
				for !stop.Load() {
					req := &Request{URL: fmt.Sprintf("/%d/%d", round, n.Add(1)), Revalidate: regen.Seconds(60)}
					c.Fetch(ctx, req, Call{Now: time.Now()})
				}
			})
		}
		time.Sleep(2 * time.Millisecond)
		sctx, scancel := context.WithTimeout(context.Background(), time.Millisecond)
		_ = c.Shutdown(sctx) // its deadline passes, or the calls in flight end first
		time.Sleep(2 * time.Millisecond)
		stop.Store(true)
		wg.Wait()
		scancel()
		cancel()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAbandonedCallDoesNotOverwrite: a caller whose deadline passes
// forgets the call it waited on, so the next caller makes its own; when
// the forgotten call answers at last, it must not replace the newer entry
// the next call stored with its older answer.
func TestAbandonedCallDoesNotOverwrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		c := New(Options{Fetcher: FetcherFunc(func(ctx context.Context, req *Request) (*Response, error) {
			if calls.Add(1) == 1 {
				<-release // slow, within its Timeout
				return &Response{Status: 200, Body: []byte("old")}, nil
			}
			return &Response{Status: 200, Body: []byte("new")}, nil
		})})
		defer c.Close()
		req := &Request{URL: "/x", Revalidate: regen.Seconds(60)}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, _, err := c.Fetch(ctx, req, Call{Now: time.Now()}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("first fetch: %v; want its deadline", err)
		}
		resp, _, err := c.Fetch(context.Background(), req, Call{Now: time.Now()})
		if err != nil || string(resp.Body) != "new" {
			t.Fatalf("second fetch: %v; want new", err)
		}
		close(release)
		synctest.Wait()
		resp, res, err := c.Fetch(context.Background(), req, Call{Now: time.Now()})
		if err != nil || string(resp.Body) != "new" || res.Status != regen.Hit {
			t.Fatalf("after the forgotten call answered: %q %v %v; want new, HIT", resp.Body, res.Status, err)
		}
	})
}

// TestRefreshDoesNotWaitForQueuedRefresh: a caller that needs fresh data
// (Call.RefreshStale: a regeneration, itself running on the pool) and finds
// the key's background refresh still queued behind busy workers takes the
// refresh over and makes it at once: waiting for the queue could wait for
// itself, every worker a regeneration waiting for a refresh queued behind
// them.
func TestRefreshDoesNotWaitForQueuedRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		p := pool.New(1, 10)
		c := New(Options{Scheduler: p, Fetcher: FetcherFunc(func(ctx context.Context, req *Request) (*Response, error) {
			return &Response{Status: 200, Body: fmt.Appendf(nil, "v%d", calls.Add(1))}, nil
		})})
		defer c.Close()
		req := &Request{URL: "/d", Revalidate: regen.Seconds(1)}
		if _, _, err := c.Fetch(context.Background(), req, Call{Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		release := make(chan struct{})
		defer close(release)
		p.TryGo(func() { <-release }) // the only worker is busy
		if _, res, _ := c.Fetch(context.Background(), req, Call{Now: time.Now()}); res.Status != regen.Stale {
			t.Fatalf("stale read: %v; want STALE", res.Status) // its refresh is queued
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		resp, _, err := c.Fetch(ctx, req, Call{Now: time.Now(), RefreshStale: true})
		if err != nil || string(resp.Body) != "v2" || time.Since(start) != 0 {
			t.Fatalf("refreshing read with the refresh queued: %v after %v; want v2 at once", err, time.Since(start))
		}
	})
}
