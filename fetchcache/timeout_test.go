package fetchcache

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen"
)

// TestOriginTimeout: an origin that accepts and never answers fails the
// fetch at Options.Timeout, on real HTTP; once it answers again the next
// fetch succeeds, and no goroutine is left behind.
func TestOriginTimeout(t *testing.T) {
	var hang atomic.Bool
	hang.Store(true)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang.Load() {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(func() { close(release); srv.Close() })

	before := runtime.NumGoroutine()
	const timeout = 200 * time.Millisecond
	c := New(Options{Timeout: timeout})
	req := &Request{URL: srv.URL + "/data", Revalidate: regen.Seconds(60)}
	start := time.Now()
	_, _, err := c.Fetch(context.Background(), req, Call{Now: time.Now()})
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fetch from a hung origin: err = %v; want context.DeadlineExceeded", err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Errorf("fetch from a hung origin took %v; want about %v", took, timeout)
	}

	hang.Store(false)
	resp, res, err := c.Fetch(context.Background(), req, Call{Now: time.Now()})
	if err != nil || string(resp.Body) != `{"ok":true}` || res.Status != regen.Miss {
		t.Fatalf("fetch after the origin recovered = %v, %v; want the body, MISS", res.Status, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	c.fetcher.(httpFetcher).client.CloseIdleConnections()
	waitGoroutines(t, before)
}

// TestShutdownCancelsDetachedCalls: a call that a caller gave up on runs on
// detached; Shutdown with a deadline cancels it instead of waiting for its
// timeout.
func TestShutdownCancelsDetachedCalls(t *testing.T) {
	started := make(chan struct{})
	canceled := make(chan struct{})
	c := New(Options{Timeout: time.Hour, Fetcher: FetcherFunc(func(ctx context.Context, _ *Request) (*Response, error) {
		close(started)
		<-ctx.Done()
		close(canceled)
		return nil, ctx.Err()
	})})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	if _, _, err := c.Fetch(ctx, &Request{URL: "/x"}, Call{Now: time.Now()}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch = %v; want the caller's cancellation", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer scancel()
	if err := c.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v; want its deadline", err)
	}
	select {
	case <-canceled:
	case <-time.After(2 * time.Second):
		t.Fatal("Shutdown's deadline did not cancel the detached origin call")
	}
}

// waitGoroutines waits (a bounded time) for the goroutine count to come
// back to at most n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines = %d; want back to %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
}
