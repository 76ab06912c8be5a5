package engine

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
)

// responseSite serves site over real HTTP on a manual clock, running
// regenerations inline.
func responseSite(t *testing.T, site *Site) *httpSite {
	t.Helper()
	hs := &httpSite{clock: &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		store: &countingStore{Store: store.NewMemory(store.MemoryOptions{})}}
	hs.e = newEngine(t, site, Options{Now: hs.clock.Now, Scheduler: inlineScheduler, Store: hs.store,
		Logger: (&logBuffer{}).logger()})
	hs.srv = httptest.NewServer(hs.e)
	t.Cleanup(hs.srv.Close)
	return hs
}

// responseStep is one request of a response test and what it must answer.
type responseStep struct {
	advance time.Duration
	path    string
	code    int
	cache   string            // X-Cache-Status
	header  map[string]string // headers that must have these values ("" for absent)
	body    string            // a substring of the body
	renders int64             // renders of the path's page so far
}

func runResponseSteps(t *testing.T, hs *httpSite, renders *atomic.Int64, steps []responseStep) {
	t.Helper()
	for i, st := range steps {
		hs.clock.Advance(st.advance)
		res := hs.do(t, "GET", st.path)
		if res.code != st.code || res.header.Get("X-Cache-Status") != st.cache {
			t.Errorf("step %d: GET %s = %d %s; want %d %s", i, st.path, res.code, res.header.Get("X-Cache-Status"), st.code, st.cache)
		}
		for k, want := range st.header {
			if st.cache == "MISS" && res.code/100 != 3 && (k == "Etag" || k == "Content-Length") {
				want = "" // a MISS streams its render
			}
			if got := strings.Join(res.header.Values(k), ", "); got != want {
				t.Errorf("step %d: GET %s: %s = %q; want %q", i, st.path, k, got, want)
			}
		}
		if !strings.Contains(res.body, st.body) {
			t.Errorf("step %d: GET %s: body %q; want it to hold %q", i, st.path, res.body, st.body)
		}
		if got := renders.Load(); got != st.renders {
			t.Errorf("step %d: GET %s: %d renders; want %d", i, st.path, got, st.renders)
		}
	}
}

// TestResponseHeadersReplayed: the status and headers a render sets are
// stored with its entry and replayed on HIT and STALE; the engine's own
// headers win over the render's.
func TestResponseHeadersReplayed(t *testing.T) {
	var site Site
	var n atomic.Int64
	site.Layout("/", Layout{Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		s.SetHeader("Content-Language", "en")
		return child.Render(ctx, w)
	})})
	site.Page("/feed.xml", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		v := n.Add(1)
		s.SetHeader("Content-Type", "application/rss+xml")
		s.AddHeader("Link", "</a.css>; rel=preload")
		s.AddHeader("Link", "</b.css>; rel=preload")
		s.SetHeader("X-Robots-Tag", "noindex")
		s.SetHeader("Cache-Control", "no-cache") // the engine's wins
		s.SetHeader("Etag", `"mine"`)
		s.SetStatus(203)
		fmt.Fprintf(w, "<rss>v%d</rss>", v)
		return nil
	})})
	hs := responseSite(t, &site)
	const isrCC = "s-maxage=60, stale-while-revalidate=31535940"
	h := func(body string) map[string]string {
		return map[string]string{
			"Content-Type":     "application/rss+xml",
			"Link":             "</a.css>; rel=preload, </b.css>; rel=preload",
			"X-Robots-Tag":     "noindex",
			"Content-Language": "en",
			"Cache-Control":    isrCC,
			"Etag":             etag([]byte(body)),
			"Content-Length":   fmt.Sprint(len(body)),
		}
	}
	runResponseSteps(t, hs, &n, []responseStep{
		{path: "/feed.xml", code: 203, cache: "MISS", header: h("<rss>v1</rss>"), body: "<rss>v1</rss>", renders: 1},
		{path: "/feed.xml", code: 203, cache: "HIT", header: h("<rss>v1</rss>"), body: "<rss>v1</rss>", renders: 1},
		{advance: 61 * time.Second, path: "/feed.xml", code: 203, cache: "STALE", header: h("<rss>v1</rss>"), body: "<rss>v1</rss>", renders: 2},
		{path: "/feed.xml", code: 203, cache: "HIT", header: h("<rss>v2</rss>"), body: "<rss>v2</rss>", renders: 2},
	})
}

// TestResponseRedirect: a render that redirects is a MISS, then a HIT with
// its status (307, or 308 when permanent) and Location, cached under the
// route's revalidate as Next.js caches a redirect in an ISR page; it is
// regenerated like any page.
func TestResponseRedirect(t *testing.T) {
	var site Site
	var n atomic.Int64
	redirect := func(permanent bool) render.Page {
		return render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			n.Add(1)
			s.SetHeader("X-Robots-Tag", "noindex")
			return render.Redirect("/blog/"+s.Param("slug"), permanent)
		})
	}
	site.Layout("/", Layout{Render: wrap("root")}) // its output is dropped
	site.Page("/old/[slug]", Page{Revalidate: sec(60), Render: redirect(false)})
	site.Page("/moved/[slug]", Page{Render: redirect(true)})
	hs := responseSite(t, &site)
	temp := map[string]string{"Location": "/blog/a", "X-Robots-Tag": "noindex", "Content-Type": "text/html; charset=utf-8",
		"Cache-Control": "s-maxage=60, stale-while-revalidate=31535940"}
	perm := map[string]string{"Location": "/blog/b", "Cache-Control": "s-maxage=31536000"}
	runResponseSteps(t, hs, &n, []responseStep{
		{path: "/old/a", code: 307, cache: "MISS", header: temp, body: `content="1;url=/blog/a"`, renders: 1},
		{path: "/old/a", code: 307, cache: "HIT", header: temp, body: `content="1;url=/blog/a"`, renders: 1},
		{path: "/moved/b", code: 308, cache: "MISS", header: perm, body: `content="0;url=/blog/b"`, renders: 2},
		{path: "/moved/b", code: 308, cache: "HIT", header: perm, body: `content="0;url=/blog/b"`, renders: 2},
		{advance: 61 * time.Second, path: "/old/a", code: 307, cache: "STALE", header: temp, renders: 3},
		{path: "/old/a", code: 307, cache: "HIT", header: temp, renders: 3},
	})
	if res := hs.do(t, "GET", "/old/a"); strings.Contains(res.body, "root") || strings.Contains(res.body, "dropped") {
		t.Errorf("GET /old/a: body %q; want the redirect document alone", res.body)
	}
}

// TestResponseNotFoundCached: params whose render returns ErrNotFound are a
// cached 404 under the route's revalidate, with the headers the render set.
func TestResponseNotFoundCached(t *testing.T) {
	var site Site
	var n atomic.Int64
	site.Page("/blog/[slug]", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		n.Add(1)
		s.SetHeader("X-Robots-Tag", "noindex")
		if s.Param("slug") == "gone" {
			return render.ErrNotFound
		}
		fmt.Fprintf(w, "post %s", s.Param("slug"))
		return nil
	})})
	hs := responseSite(t, &site)
	h := map[string]string{"X-Robots-Tag": "noindex", "Content-Type": "text/html; charset=utf-8",
		"Cache-Control": "s-maxage=60, stale-while-revalidate=31535940"}
	runResponseSteps(t, hs, &n, []responseStep{
		{path: "/blog/gone", code: 404, cache: "MISS", header: h, body: render.NotFoundBody, renders: 1},
		{path: "/blog/gone", code: 404, cache: "HIT", header: h, body: render.NotFoundBody, renders: 1},
		{path: "/blog/here", code: 200, cache: "MISS", header: h, body: "post here", renders: 2},
		{advance: 61 * time.Second, path: "/blog/gone", code: 404, cache: "STALE", header: h, renders: 3},
		{path: "/blog/gone", code: 404, cache: "HIT", header: h, renders: 3},
	})
}

// TestResponseDynamic: a dynamic render's status and headers are written
// as set, with the engine's Cache-Control.
func TestResponseDynamic(t *testing.T) {
	var site Site
	var n atomic.Int64
	site.Page("/api", Page{Dynamic: regen.ForceDynamic, Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		n.Add(1)
		s.SetHeader("Content-Type", "application/json")
		s.SetHeader("Cache-Control", "public, max-age=600")
		s.SetStatus(201)
		io.WriteString(w, `{"ok":true}`)
		return nil
	})})
	site.Page("/go", Page{Dynamic: regen.ForceDynamic, Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		n.Add(1)
		return render.Redirect("https://example.com/x?a=1&b=2", false)
	})})
	hs := responseSite(t, &site)
	dynCC := ccDynamic[0]
	runResponseSteps(t, hs, &n, []responseStep{
		{path: "/api", code: 201, cache: "BYPASS", header: map[string]string{"Content-Type": "application/json", "Cache-Control": dynCC}, body: `{"ok":true}`, renders: 1},
		{path: "/api", code: 201, cache: "BYPASS", header: map[string]string{"Content-Type": "application/json"}, body: `{"ok":true}`, renders: 2},
		{path: "/go", code: 307, cache: "BYPASS", header: map[string]string{"Location": "https://example.com/x?a=1&b=2", "Cache-Control": dynCC}, body: `url=https://example.com/x?a=1&amp;b=2`, renders: 3},
	})
}

// TestResponseRefused: a render that sets a header it may not, or a status
// out of range, fails (500) and nothing is cached.
func TestResponseRefused(t *testing.T) {
	tests := []struct {
		name string
		set  func(s *render.Scope) error
	}{
		{"Set-Cookie", func(s *render.Scope) error { s.SetHeader("Set-Cookie", "id=1"); return nil }},
		{"Location", func(s *render.Scope) error { s.SetHeader("Location", "/x"); return nil }},
		{"bad name", func(s *render.Scope) error { s.SetHeader("X Bad", "1"); return nil }},
		{"newline in value", func(s *render.Scope) error { s.AddHeader("X-A", "1\r\nX-B: 2"); return nil }},
		{"status 99", func(s *render.Scope) error { s.SetStatus(99); return nil }},
		{"status 600", func(s *render.Scope) error { s.SetStatus(600); return nil }},
		{"empty redirect", func(s *render.Scope) error { return render.Redirect("", false) }},
		{"redirect with a newline", func(s *render.Scope) error { return render.Redirect("/a\nb", true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var site Site
			var n atomic.Int64
			site.Page("/p", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
				n.Add(1)
				return tt.set(s)
			})})
			hs := responseSite(t, &site)
			for i := range 2 {
				if res := hs.do(t, "GET", "/p"); res.code != 500 {
					t.Errorf("GET /p #%d = %d %v; want 500", i, res.code, res.header)
				}
			}
			if got := n.Load(); got != 2 {
				t.Errorf("%d renders; want 2 (nothing cached)", got)
			}
		})
	}
}
