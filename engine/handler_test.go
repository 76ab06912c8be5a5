package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store"
)

// handlerSite is a site with a root layout that marks what it wraps, a
// page, and the route handlers of a feed (ISR, tagged fetch), a cookie
// reader and a JSON handler at a static param.
func handlerSite(t *testing.T) (*httpSite, *origin, *atomic.Int64) {
	t.Helper()
	var site Site
	var renders atomic.Int64
	site.Layout("/", Layout{Revalidate: sec(5), Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		s.SetHeader("Content-Language", "en")
		io.WriteString(w, "<html>")
		if err := child.Render(ctx, w); err != nil {
			return err
		}
		io.WriteString(w, "</html>")
		return nil
	})})
	site.Page("/", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		_, err := io.WriteString(w, "home")
		return err
	})})
	site.Handler("/feed.xml", Handler{Revalidate: sec(60), ContentType: "application/rss+xml",
		Fetches: []Fetch{{URL: "/api/posts", Tags: []string{"posts"}}},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			renders.Add(1)
			res, err := s.Fetch(ctx, &fetchcache.Request{URL: "/api/posts", Tags: []string{"posts"}})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "<rss>%s</rss>", res.Body)
			return nil
		})})
	site.Handler("/whoami", Handler{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		for _, c := range s.Cookies() {
			if c.Name == "user" {
				fmt.Fprintf(w, "user=%s", c.Value)
			}
		}
		return nil
	})})
	site.Handler("/api/[id]", Handler{StaticParams: []render.Params{{"id": "1"}},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			s.SetHeader("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":%q}`, s.Params()["id"])
			return nil
		})})
	o := newOrigin()
	hs := &httpSite{clock: &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		store: &countingStore{Store: store.NewMemory(store.MemoryOptions{})}}
	hs.e = newEngine(t, &site, Options{Now: hs.clock.Now, Scheduler: inlineScheduler, Store: hs.store,
		Fetcher: o, Logger: (&logBuffer{}).logger()})
	hs.srv = httptest.NewServer(hs.e)
	t.Cleanup(hs.srv.Close)
	return hs, o, &renders
}

// TestHandlerISR: a route handler is cached like a page: MISS, HIT, STALE
// after a tag revalidation (the stale body, regenerated in the background),
// then a HIT with the new data, and again after a path revalidation; its Content-Type is stored with the entry
// and replayed, and the root layout neither wraps it nor lends it its
// revalidate or headers.
func TestHandlerISR(t *testing.T) {
	hs, o, renders := handlerSite(t)
	const isrCC = "s-maxage=60, stale-while-revalidate=31535940"
	h := map[string]string{"Content-Type": "application/rss+xml", "Cache-Control": isrCC, "Content-Language": ""}
	v1, v2 := "<rss>/api/posts@1</rss>", "<rss>/api/posts@2</rss>"
	steps := []struct {
		publish bool // the origin publishes new posts and the tag is revalidated first
		path    bool // the path is revalidated first
		cache   string
		body    string
		renders int64
	}{
		{cache: "MISS", body: v1, renders: 1},
		{cache: "HIT", body: v1, renders: 1},
		{publish: true, cache: "STALE", body: v1, renders: 2},
		{cache: "HIT", body: v2, renders: 2},
		{path: true, cache: "STALE", body: v2, renders: 3},
		{cache: "HIT", body: v2, renders: 3},
	}
	for i, st := range steps {
		if st.publish {
			o.publish("/api/posts")
			if err := hs.e.RevalidateTag(context.Background(), "posts", regen.RevalidateStale); err != nil {
				t.Fatal(err)
			}
		}
		if st.path {
			if err := hs.e.RevalidatePath(context.Background(), "/feed.xml", routecache.Page, regen.RevalidateStale); err != nil {
				t.Fatal(err)
			}
		}
		res := hs.do(t, "GET", "/feed.xml")
		if res.code != 200 || res.header.Get("X-Cache-Status") != st.cache {
			t.Errorf("step %d: GET /feed.xml = %d %s; want 200 %s", i, res.code, res.header.Get("X-Cache-Status"), st.cache)
		}
		if diff := cmp.Diff(st.body, res.body); diff != "" {
			t.Errorf("step %d: GET /feed.xml body (-want +got):\n%s", i, diff)
		}
		for k, want := range h {
			if got := res.header.Get(k); got != want {
				t.Errorf("step %d: GET /feed.xml: %s = %q; want %q", i, k, got, want)
			}
		}
		if got := renders.Load(); got != st.renders {
			t.Errorf("step %d: GET /feed.xml: %d renders; want %d", i, got, st.renders)
		}
	}
	if got := hs.do(t, "GET", "/"); got.body != "<html>home</html>" {
		t.Errorf("GET / body = %q; want the page inside the layout", got.body)
	}
}

// TestHandlerResponses: the Content-Type of a handler: the render's own
// wins over the declared one, the default is text/plain, on MISS and HIT;
// a handler reading a cookie is dynamic.
func TestHandlerResponses(t *testing.T) {
	hs, _, _ := handlerSite(t)
	tests := []struct {
		path, cookie string
		cache, ctype string
		body         string
	}{
		{path: "/api/1", cache: "MISS", ctype: "application/json", body: `{"id":"1"}`},
		{path: "/api/1", cache: "HIT", ctype: "application/json", body: `{"id":"1"}`},
		{path: "/api/2", cache: "MISS", ctype: "application/json", body: `{"id":"2"}`},
		{path: "/api/2", cache: "HIT", ctype: "application/json", body: `{"id":"2"}`},
		{path: "/whoami", cookie: "ann", cache: "BYPASS", ctype: DefaultHandlerContentType, body: "user=ann"},
		{path: "/whoami", cookie: "bob", cache: "BYPASS", ctype: DefaultHandlerContentType, body: "user=bob"},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.cookie != "" {
			hdr = []string{"Cookie", "user=" + tt.cookie}
		}
		res := hs.do(t, "GET", tt.path, hdr...)
		if res.header.Get("X-Cache-Status") != tt.cache || res.header.Get("Content-Type") != tt.ctype || res.body != tt.body {
			t.Errorf("GET %s = %s %q %q; want %s %q %q", tt.path, res.header.Get("X-Cache-Status"),
				res.header.Get("Content-Type"), res.body, tt.cache, tt.ctype, tt.body)
		}
	}
	pol, _ := hs.e.Policy("/whoami")
	if pol.Kind != Dynamic {
		t.Errorf("Policy(/whoami).Kind = %v; want dynamic (%s)", pol.Kind, pol.String())
	}
	pol, _ = hs.e.Policy("/feed.xml")
	if pol.Kind != ISR || pol.Revalidate != sec(60) || !strings.Contains(pol.String(), "handler /feed.xml") {
		t.Errorf("Policy(/feed.xml) = %v %v %q; want isr 60 from handler /feed.xml", pol.Kind, pol.Revalidate, pol.String())
	}
	if pol, _ := hs.e.Policy("/api/[id]"); !cmp.Equal(pol.Prerender, []string{"/api/1"}) {
		t.Errorf("Policy(/api/[id]).Prerender = %v; want [/api/1]", pol.Prerender)
	}
}

// TestHandlerConfigErrors: a page and a handler at one path conflict, and a
// handler needs a Render.
func TestHandlerConfigErrors(t *testing.T) {
	page := Page{Render: render.PageFunc(func(context.Context, *render.Scope, io.Writer) error { return nil })}
	handler := Handler{Render: page.Render}
	tests := []struct {
		name  string
		build func(*Site)
		rule  error
		want  string
	}{
		{"page and handler", func(s *Site) { s.Page("/feed", page); s.Handler("/feed", handler) }, ErrConflict,
			`engine: route "/feed": handler /feed: conflicts with page "/feed" (a segment has a page or a route handler, not both: remove one, or move the handler to its own path)`},
		{"page in a group", func(s *Site) { s.Page("/(a)/feed", page); s.Handler("/feed", handler) }, ErrConflict,
			`engine: route "/feed": conflicts with route "/(a)/feed": both match "/feed" (two routes cannot resolve to the same path)`},
		{"handler twice", func(s *Site) { s.Handler("/feed", handler); s.Handler("/feed", handler) }, ErrConflict,
			`engine: route "/feed": handler /feed: handler registered twice (register one handler per segment)`},
		{"no render", func(s *Site) { s.Handler("/feed", Handler{}) }, ErrRender,
			`engine: route "/feed": handler /feed: handler has no Render (set Handler.Render)`},
		{"bad content type", func(s *Site) { s.Handler("/feed", Handler{Render: page.Render, ContentType: "text/plain\n"}) }, ErrRender,
			`engine: route "/feed": handler /feed: content type "text/plain\n" has a control character (remove it)`},
		{"bad revalidate", func(s *Site) { s.Handler("/feed", Handler{Render: page.Render, Revalidate: regen.Seconds(-5)}) }, ErrRevalidate,
			`engine: route "/feed": handler /feed: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var site Site
			tt.build(&site)
			_, err := New(&site, Options{})
			if !errors.Is(err, tt.rule) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v; want %v holding %q", err, tt.rule, tt.want)
			}
		})
	}
}

// TestHandlerNext15Default: with Next.js 15's defaults
// (UncachedFetchDefault), a handler that declares neither revalidate nor
// dynamic is dynamic, as Next.js 15 GET route handlers are; one that
// declares a revalidate is cached, and with Next.js 14's defaults an
// undeclared handler is static.
func TestHandlerNext15Default(t *testing.T) {
	var site Site
	body := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		_, err := io.WriteString(w, "ok")
		return err
	})
	site.Handler("/plain", Handler{Render: body})
	site.Handler("/isr", Handler{Revalidate: sec(60), Render: body})
	for _, tt := range []struct {
		next15     bool
		plain, isr Kind
	}{{true, Dynamic, ISR}, {false, Static, ISR}} {
		e := newEngine(t, &site, Options{UncachedFetchDefault: tt.next15, Logger: discard})
		if p, _ := e.Policy("/plain"); p.Kind != tt.plain {
			t.Errorf("next15 %v: /plain is %v (%s); want %v", tt.next15, p.Kind, p.String(), tt.plain)
		}
		if p, _ := e.Policy("/isr"); p.Kind != tt.isr {
			t.Errorf("next15 %v: /isr is %v; want %v", tt.next15, p.Kind, tt.isr)
		}
	}
}
