package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
)

// hungOrigin is an HTTP origin on 127.0.0.1 that accepts requests and, while
// hung, never answers them (until the client gives up).
type hungOrigin struct {
	*httptest.Server
	hung    atomic.Bool
	version atomic.Int64
}

func newHungOrigin(t *testing.T) *hungOrigin {
	o := &hungOrigin{}
	o.hung.Store(true)
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.hung.Load() {
			<-r.Context().Done()
			return
		}
		fmt.Fprintf(w, "%s@%d", r.URL.Path, o.version.Load())
	}))
	t.Cleanup(o.Close)
	return o
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// settle waits, a bounded time, until cond holds: for goroutines and
// connections to wind down after a test's servers close.
func settle(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%s\n%s", what, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHungOrigin is issue 8's fault injection on real HTTP: with an origin
// that accepts and never answers, MISSes are answered 504 within the render
// deadline (the origin calls they started end at FetchTimeout), a regeneration that times out keeps the last good page, the
// paths serve 200 once the origin recovers, and goroutines and file
// descriptors come back to their baseline.
func TestHungOrigin(t *testing.T) {
	gBefore, fdBefore := runtime.NumGoroutine(), openFDs(t)
	origin := newHungOrigin(t)
	clock := &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var site Site
	site.Page("/p/[slug]", Page{Revalidate: sec(60), Render: render.PageFunc(
		func(ctx context.Context, s *render.Scope, w io.Writer) error {
			res, err := s.Fetch(ctx, &fetchcache.Request{URL: origin.URL + "/data/" + s.Params()["slug"]})
			if err != nil {
				return err
			}
			_, err = w.Write(res.Body)
			return err
		})})
	var logs logBuffer
	const renderTimeout = 500 * time.Millisecond
	e, err := New(&site, Options{Now: clock.Now, RenderTimeout: renderTimeout, FetchTimeout: 2 * renderTimeout, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(e)
	client := front.Client()
	fetch := func(path string) (int, string, string) {
		resp, err := client.Get(front.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Cache-Status"), string(b)
	}

	// Twenty unique paths at once: each MISS is answered within the render
	// deadline plus a second.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			start := time.Now()
			code, _, _ := fetch(fmt.Sprintf("/p/s%d", i))
			if took := time.Since(start); code != http.StatusGatewayTimeout || took > renderTimeout+time.Second {
				t.Errorf("MISS on a hung origin: %d after %v; want 504 within %v", code, took, renderTimeout+time.Second)
			}
		})
	}
	wg.Wait()
	if !strings.Contains(logs.String(), "render timed out") {
		t.Errorf("no log line for the timed-out renders:\n%s", logs.String())
	}

	// The origin recovers: the same path renders at once (it is not stuck).
	origin.hung.Store(false)
	if code, st, body := fetch("/p/s0"); code != 200 || st != "MISS" || body != "/data/s0@0" {
		t.Fatalf("after the origin recovered: %d %s %q; want 200 MISS /data/s0@0", code, st, body)
	}

	// The origin hangs again and the page is due: the regeneration times
	// out, the last good page stays, STALE.
	origin.hung.Store(true)
	origin.version.Store(1)
	clock.Advance(61 * time.Second)
	if code, st, body := fetch("/p/s0"); code != 200 || st != "STALE" || body != "/data/s0@0" {
		t.Fatalf("due page on a hung origin: %d %s %q; want 200 STALE with the old page", code, st, body)
	}
	settle(t, "the regeneration did not time out", func() bool { return !e.flights.InFlight("/p/s0") })
	if !strings.Contains(logs.String(), "regeneration failed") {
		t.Errorf("no log line for the timed-out regeneration:\n%s", logs.String())
	}
	if code, st, body := fetch("/p/s0"); code != 200 || st != "STALE" || body != "/data/s0@0" {
		t.Fatalf("after the regeneration timed out: %d %s %q; want 200 STALE with the last good page", code, st, body)
	}
	if e.flights.InFlight("/p/s0") {
		t.Error("a regeneration started during the back-off")
	}

	// The origin recovers; after the back-off the next request regenerates.
	origin.hung.Store(false)
	clock.Advance(2 * time.Second)
	if code, st, _ := fetch("/p/s0"); code != 200 || st != "STALE" {
		t.Fatalf("after the back-off: %d %s; want 200 STALE", code, st)
	}
	settle(t, "the regeneration did not end", func() bool { return !e.flights.InFlight("/p/s0") })
	if code, st, body := fetch("/p/s0"); code != 200 || st != "HIT" || body != "/data/s0@1" {
		t.Fatalf("after the regeneration: %d %s %q; want 200 HIT /data/s0@1", code, st, body)
	}

	// Close waits for the origin calls the timed-out renders left behind:
	// each ends at FetchTimeout.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	front.Close()
	origin.Close()
	client.CloseIdleConnections()
	settle(t, fmt.Sprintf("goroutines %d, want back to %d", runtime.NumGoroutine(), gBefore), func() bool {
		return runtime.NumGoroutine() <= gBefore
	})
	settle(t, fmt.Sprintf("file descriptors %d, want back to %d", openFDs(t), fdBefore), func() bool {
		return openFDs(t) <= fdBefore
	})
}

// TestRenderIgnoringItsDeadline: a render that never returns (it ignores
// its context) is abandoned at the deadline: the request gets 504 and the
// next request starts a fresh render instead of waiting behind it.
func TestRenderIgnoringItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var renders atomic.Int32
		var site Site
		site.Page("/x", Page{Revalidate: sec(60), Render: stuckFirst(release, &renders, "x", "x")})
		e := newEngine(t, &site, Options{RenderTimeout: time.Second, Logger: discard})
		start := time.Now()
		if r := get(e, "/x"); r.code != http.StatusGatewayTimeout || time.Since(start) != time.Second+renderGrace {
			t.Fatalf("stuck render: %d after %v; want 504 after %v", r.code, time.Since(start), time.Second+renderGrace)
		}
		if r := get(e, "/x"); r.code != 200 || r.status != "MISS" || renders.Load() != 2 {
			t.Fatalf("next request: %d %s after %d renders; want 200 MISS from a second render", r.code, r.status, renders.Load())
		}
		close(release)
	})
}

// TestShutdownCancelsRenders: Shutdown waits for MISS renders, and at its
// deadline cancels them and returns.
func TestShutdownCancelsRenders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		var canceled atomic.Bool
		var site Site
		site.Page("/x", Page{Revalidate: sec(60), Render: render.PageFunc(
			func(ctx context.Context, s *render.Scope, w io.Writer) error {
				close(started)
				<-ctx.Done()
				canceled.Store(true)
				return ctx.Err()
			})})
		e, err := New(&site, Options{RenderTimeout: time.Hour, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		go get(e, "/x")
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		if err := e.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 3*time.Second {
			t.Fatalf("Shutdown = %v after %v; want its deadline after 3s", err, time.Since(start))
		}
		synctest.Wait()
		if !canceled.Load() {
			t.Error("the render in flight was not canceled at Shutdown's deadline")
		}
		if r := get(e, "/y"); r.code != http.StatusNotFound {
			t.Errorf("unmatched path after Shutdown: %d; want 404", r.code)
		}
		if r := get(e, "/x"); r.code != http.StatusServiceUnavailable {
			t.Errorf("MISS after Shutdown: %d; want 503", r.code)
		}
	})
}

// TestRegenerationsBounded: background regenerations run at most
// MaxRegenerations at once, at most RegenerationQueue more wait, the rest
// are skipped; STALE answers never wait for any of it.
func TestRegenerationsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		var running, peak, renders atomic.Int32
		var blocking atomic.Bool
		var site Site
		site.Page("/p/[n]", Page{Revalidate: sec(60), Render: render.PageFunc(
			func(ctx context.Context, s *render.Scope, w io.Writer) error {
				renders.Add(1)
				if blocking.Load() {
					n := running.Add(1)
					peak.Store(max(peak.Load(), n))
					<-block
					running.Add(-1)
				}
				_, err := io.WriteString(w, s.Params()["n"])
				return err
			})})
		e := newEngine(t, &site, Options{MaxRegenerations: 2, RegenerationQueue: 3, Logger: discard})
		for i := range 10 {
			if r := get(e, fmt.Sprintf("/p/%d", i)); r.status != "MISS" {
				t.Fatalf("first request: %s", r.status)
			}
		}
		blocking.Store(true)
		time.Sleep(61 * time.Second)
		renders.Store(0)
		start := time.Now()
		for i := range 10 {
			if r := get(e, fmt.Sprintf("/p/%d", i)); r.status != "STALE" {
				t.Fatalf("due page: %s; want STALE", r.status)
			}
		}
		if time.Since(start) != 0 {
			t.Errorf("STALE answers waited %v", time.Since(start))
		}
		synctest.Wait()
		if running.Load() != 2 || e.pool.Len() != 3 {
			t.Errorf("running %d, queued %d; want 2, 3", running.Load(), e.pool.Len())
		}
		close(block)
		synctest.Wait()
		if renders.Load() != 5 || peak.Load() != 2 {
			t.Errorf("regenerations %d at most %d at once; want 5 at most 2", renders.Load(), peak.Load())
		}
		// The skipped paths are still STALE and regenerate on a later request.
		blocking.Store(false)
		fresh := 0
		for i := range 10 {
			get(e, fmt.Sprintf("/p/%d", i))
		}
		synctest.Wait()
		for i := range 10 {
			if get(e, fmt.Sprintf("/p/%d", i)).status == "HIT" {
				fresh++
			}
		}
		if fresh != 10 {
			t.Errorf("%d of 10 paths fresh after a second round; want 10", fresh)
		}
	})
}

var discard = slog.New(slog.DiscardHandler)

var _ = regen.Seconds

// TestStatsAndEntry: Stats counts renders; Entry shows a path's entry and
// state without rendering or regenerating.
func TestStatsAndEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var site Site
		site.Page("/p", Page{Revalidate: sec(60), Render: fetchPage("p", nil)})
		e := newEngine(t, &site, Options{Logger: discard})
		if ent, st, err := e.Entry(t.Context(), "/p"); ent != nil || st != regen.Miss || err != nil {
			t.Fatalf("Entry before any request = %v, %v, %v; want nil MISS", ent, st, err)
		}
		get(e, "/p")
		if ent, st, _ := e.Entry(t.Context(), "/p"); ent == nil || st != regen.Hit || string(ent.Body) != "p n=0" {
			t.Fatalf("Entry after a MISS = %v, %v; want the page, HIT", ent, st)
		}
		time.Sleep(61 * time.Second)
		if _, st, _ := e.Entry(t.Context(), "/p"); st != regen.Stale {
			t.Fatalf("Entry of a due page = %v; want STALE", st)
		}
		synctest.Wait()
		if got := e.Stats(); got.Renders != 1 || got.Queued != 0 || got.Backoff != 0 {
			t.Errorf("Stats = %+v; want 1 render (Entry renders nothing)", got)
		}
	})
}

// TestCloseWaitsForMiss: Close waits for a MISS render in flight, which
// stores its page, even when the request that started it went away.
func TestCloseWaitsForMiss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var site Site
		site.Page("/x", Page{Revalidate: sec(60), Render: render.PageFunc(
			func(ctx context.Context, s *render.Scope, w io.Writer) error {
				time.Sleep(5 * time.Second)
				_, err := io.WriteString(w, "x")
				return err
			})})
		st := store.NewMemory(store.MemoryOptions{})
		e, err := New(&site, Options{Store: st, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/x", nil)
		go func() { time.Sleep(time.Second); cancel() }()
		e.ServeHTTP(httptest.NewRecorder(), req) // gives up after 1s
		start := time.Now()
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) != 4*time.Second {
			t.Errorf("Close returned after %v; want after the render's remaining 4s", time.Since(start))
		}
		if _, ok, _ := st.Get(context.Background(), "/x"); !ok {
			t.Error("the MISS render Close waited for did not store its page")
		}
	})
}

// stuckFirst is a page whose first render waits for release, ignoring its
// context, and writes first; the renders after it write rest at once.
// renders counts them.
func stuckFirst(release <-chan struct{}, renders *atomic.Int32, first, rest string) render.Page {
	return render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		if renders.Add(1) == 1 {
			<-release // ignores ctx
			_, err := io.WriteString(w, first)
			return err
		}
		_, err := io.WriteString(w, rest)
		return err
	})
}
