package fetchcache

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
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
