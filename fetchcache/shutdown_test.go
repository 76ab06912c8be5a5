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
