package engine

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
)

// TestDynamicAfterClose: a dynamic route needs a render for every request,
// and a request that needs a render after Close is answered 503, as a MISS
// is: not rendered, nor answered 500 by a render whose origin calls the
// closed Data Cache cancels.
func TestDynamicAfterClose(t *testing.T) {
	o := newOrigin()
	var site Site
	site.Page("/me", Page{Dynamic: regen.ForceDynamic, Render: fetchPage("me", nil, fetchcache.Request{URL: "/api/me", Revalidate: sec(60)})})
	e := newEngine(t, &site, Options{Fetcher: o, Logger: discard})
	if r := get(e, "/me"); r.code != 200 || r.status != "BYPASS" {
		t.Fatalf("before Close: %d %s", r.code, r.status)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if r := get(e, "/me"); r.code != http.StatusServiceUnavailable {
		t.Errorf("dynamic route after Close: %d %s %q; want 503", r.code, r.status, r.body)
	}
}

// TestCloseSkipsQueuedRegenerations: Close stops background work from
// starting and waits for the work in flight; regenerations still queued
// behind a full pool are not started after Close (each would be a whole
// render, up to RenderTimeout, that Close waits for).
func TestCloseSkipsQueuedRegenerations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var renders atomic.Int32
		var blocked atomic.Bool
		var site Site
		site.Page("/[p]", Page{Revalidate: sec(1), Render: render.PageFunc(
			func(ctx context.Context, s *render.Scope, w io.Writer) error {
				renders.Add(1)
				if blocked.Load() && s.Param("p") == "a" {
					<-release
				}
				_, err := io.WriteString(w, s.Param("p"))
				return err
			})})
		e, err := New(&site, Options{MaxRegenerations: 1, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/a", "/b", "/c"} {
			if r := get(e, p); r.code != 200 {
				t.Fatalf("GET %s: %d", p, r.code)
			}
		}
		time.Sleep(2 * time.Second)
		blocked.Store(true)
		for _, p := range []string{"/a", "/b", "/c"} {
			if r := get(e, p); r.status != "STALE" {
				t.Fatalf("GET %s: %s; want STALE", p, r.status)
			}
		}
		synctest.Wait() // /a's regeneration runs, /b's and /c's are queued
		closed := make(chan struct{})
		go func() { e.Close(); close(closed) }()
		synctest.Wait()
		close(release)
		<-closed
		if n := renders.Load(); n != 4 {
			t.Errorf("%d renders; want 4 (3 first renders, 1 regeneration in flight at Close)", n)
		}
	})
}
