package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/routecache"
)

// TestAbandonedRenderDoesNotOverwrite: a MISS render that ignores its
// deadline is abandoned, and the next request's render stores a newer
// entry; when the abandoned render returns at last, it must not replace
// that entry with its older page.
func TestAbandonedRenderDoesNotOverwrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var renders atomic.Int32
		var site Site
		site.Page("/x", Page{Revalidate: sec(60), Render: stuckFirst(release, &renders, "old", "new")})
		e := newEngine(t, &site, Options{RenderTimeout: time.Second, Logger: discard})
		if r := get(e, "/x"); r.code != http.StatusGatewayTimeout {
			t.Fatalf("stuck render: %d; want 504", r.code)
		}
		if r := get(e, "/x"); r.code != 200 || r.body != "new" {
			t.Fatalf("next request: %d %q; want 200 new", r.code, r.body)
		}
		close(release)
		synctest.Wait()
		if r := get(e, "/x"); r.code != 200 || r.status != "HIT" || r.body != "new" {
			t.Fatalf("after the abandoned render returned: %d %s %q; want 200 HIT new", r.code, r.status, r.body)
		}
	})
}

// TestAbandonedRenderWithoutWaiters: a MISS render that ignores its
// deadline is abandoned at the deadline even when no request waits for it
// any more (its client went away): the next request starts a fresh render
// at once instead of joining the stuck one and waiting a whole
// RenderTimeout behind it.
func TestAbandonedRenderWithoutWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		var renders atomic.Int32
		var site Site
		site.Page("/x", Page{Revalidate: sec(60), Render: stuckFirst(release, &renders, "x", "x")})
		e := newEngine(t, &site, Options{RenderTimeout: time.Second, Logger: discard})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/x", nil)
		e.ServeHTTP(httptest.NewRecorder(), req) // the client gives up
		time.Sleep(2 * time.Second)              // past the render's deadline
		start := time.Now()
		if r := get(e, "/x"); r.code != 200 || r.status != "MISS" || time.Since(start) != 0 {
			t.Fatalf("request after the deadline: %d %s after %v (%d renders); want 200 MISS at once from a fresh render",
				r.code, r.status, time.Since(start), renders.Load())
		}
	})
}

// TestAbandonedRegeneration: a background regeneration that ignores its
// deadline is abandoned at it like a failed one: the path backs off, and
// after the back-off a request starts a fresh regeneration rather than
// finding the stuck one "in flight" forever.
func TestAbandonedRegeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		var renders atomic.Int32
		var site Site
		site.Page("/x", Page{Revalidate: sec(1), Render: render.PageFunc(
			func(ctx context.Context, s *render.Scope, w io.Writer) error {
				n := renders.Add(1)
				if n == 2 {
					<-release // ignores ctx
				}
				_, err := fmt.Fprintf(w, "v%d", n)
				return err
			})})
		e := newEngine(t, &site, Options{RenderTimeout: time.Second, Logger: discard})
		if r := get(e, "/x"); r.code != 200 || r.body != "v1" {
			t.Fatalf("first render: %d %q", r.code, r.body)
		}
		time.Sleep(2 * time.Second)
		if r := get(e, "/x"); r.status != "STALE" {
			t.Fatalf("due page: %s; want STALE", r.status)
		}
		synctest.Wait() // the regeneration is stuck
		// Past its deadline and the back-off after it.
		time.Sleep(time.Second + renderGrace + DefaultRetryBackoff + time.Second)
		if r := get(e, "/x"); r.status != "STALE" || r.body != "v1" {
			t.Fatalf("after the stuck regeneration's deadline: %s %q; want STALE v1", r.status, r.body)
		}
		synctest.Wait()
		if r := get(e, "/x"); r.status != "HIT" || r.body != "v3" {
			t.Fatalf("after a fresh regeneration: %s %q (%d renders); want HIT v3", r.status, r.body, renders.Load())
		}
	})
}

// TestForgottenRenderDoesNotOverwrite: a render whose flight call was
// forgotten (a request gave up on it) does not replace, when it ends within
// its own deadline, an entry at least as new as its own, which the next
// request's render stored.
func TestForgottenRenderDoesNotOverwrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var site Site
		site.Page("/x", Page{Revalidate: sec(60), Render: render.PageFunc(
			func(ctx context.Context, s *render.Scope, w io.Writer) error {
				_, err := io.WriteString(w, "old")
				return err
			})})
		e := newEngine(t, &site, Options{RenderTimeout: time.Second, Logger: discard})
		rt, params := e.match("/x")
		start := time.Now()
		c, _ := e.flights.Start("/x")
		e.flights.Forget("/x", c)
		newer := &routecache.Entry{Status: 200, Body: []byte("new"), Created: start.Add(time.Millisecond), Revalidate: sec(60)}
		if err := e.routes.Set(t.Context(), "/x", newer); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := e.renderStore(ctx, rt, "/x", params, start, nil, false, c, nil); err != nil {
			t.Fatal(err)
		}
		if it, _, _ := e.store.Get(t.Context(), "/x"); string(it.Body) != "new" {
			t.Errorf("after the forgotten render: %q; want the newer entry kept", it.Body)
		}
	})
}

// TestLateWaiterStopsAtRenderDeadline: a request that joins a MISS render
// late stops waiting when the render passes its deadline, as the request
// that started it does, not a whole RenderTimeout after it joined.
func TestLateWaiterStopsAtRenderDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		var site Site
		site.Page("/x", Page{Revalidate: sec(60), Render: render.PageFunc(
			func(ctx context.Context, s *render.Scope, w io.Writer) error {
				<-release // ignores ctx
				return nil
			})})
		e := newEngine(t, &site, Options{RenderTimeout: time.Second, Logger: discard})
		first := make(chan response)
		go func() { first <- get(e, "/x") }()
		time.Sleep(900 * time.Millisecond)
		start := time.Now()
		r := get(e, "/x")
		if took := time.Since(start); r.code != http.StatusGatewayTimeout || took != 100*time.Millisecond+renderGrace {
			t.Errorf("late waiter: %d after %v; want 504 after %v, at the render's deadline", r.code, took, 100*time.Millisecond+renderGrace)
		}
		if r := <-first; r.code != http.StatusGatewayTimeout {
			t.Errorf("first request: %d; want 504", r.code)
		}
	})
}

// TestMissDoesNotWaitForQueuedRegeneration: a MISS for a path whose
// regeneration is still queued behind a full pool renders at once, while
// the request waits, instead of waiting for the queue (and being answered
// 504 when the queue is longer than RenderTimeout); the queued
// regeneration then does not run.
func TestMissDoesNotWaitForQueuedRegeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		releaseY := make(chan struct{})
		var releaseOnce sync.Once
		release := func() { releaseOnce.Do(func() { close(releaseY) }) }
		defer release()
		var blockY atomic.Bool
		var xRenders atomic.Int32
		var site Site
		site.Page("/x", Page{Revalidate: sec(1), Render: render.PageFunc(
			func(ctx context.Context, s *render.Scope, w io.Writer) error {
				_, err := fmt.Fprintf(w, "x v%d", xRenders.Add(1))
				return err
			})})
		site.Page("/y", Page{Revalidate: sec(1), Render: render.PageFunc(
			func(ctx context.Context, s *render.Scope, w io.Writer) error {
				if blockY.Load() {
					<-releaseY
				}
				_, err := io.WriteString(w, "y")
				return err
			})})
		e := newEngine(t, &site, Options{MaxRegenerations: 1, RenderTimeout: time.Second, Logger: discard})
		get(e, "/x")
		get(e, "/y")
		time.Sleep(2 * time.Second)
		blockY.Store(true)
		get(e, "/y") // its regeneration takes the only worker
		get(e, "/x") // its regeneration is queued
		if err := e.RevalidatePath(context.Background(), "/x", PagePath, regen.RevalidateExpire); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if r := get(e, "/x"); r.code != 200 || r.status != "MISS" || r.body != "x v2" || time.Since(start) != 0 {
			t.Fatalf("MISS with a regeneration queued: %d %s %q after %v; want 200 MISS x v2 at once", r.code, r.status, r.body, time.Since(start))
		}
		release()
		synctest.Wait()
		if r := get(e, "/x"); r.status != "HIT" || r.body != "x v2" || xRenders.Load() != 2 {
			t.Fatalf("after the queue drained: %s %q after %d renders; want HIT x v2, the queued regeneration skipped", r.status, r.body, xRenders.Load())
		}
	})
}
