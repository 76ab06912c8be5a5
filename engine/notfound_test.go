package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
)

// notFoundSite is a blog with a root layout, a /blog layout and a post page
// that calls notFound() for "gone"; a layout under /shop calls notFound()
// for "closed". nf registers its not-found pages.
func notFoundSite(nf func(*Site)) *Site {
	var site Site
	wrap := func(open, close string) render.Layout {
		return render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			io.WriteString(w, open)
			if err := child.Render(ctx, w); err != nil {
				return err
			}
			io.WriteString(w, close)
			return nil
		})
	}
	site.Layout("/", Layout{Render: wrap("<html>", "</html>")})
	site.Layout("/blog", Layout{Render: wrap("<section>", "</section>")})
	site.Layout("/shop/[item]", Layout{Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		if s.Param("item") == "closed" {
			return ErrNotFound
		}
		io.WriteString(w, "<div>")
		if err := child.Render(ctx, w); err != nil {
			return err
		}
		io.WriteString(w, "</div>")
		return nil
	})})
	post := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		if s.Param("slug") == "gone" {
			return fmt.Errorf("post %q: %w", s.Param("slug"), render.ErrNotFound)
		}
		fmt.Fprintf(w, "<p>%s</p>", s.Param("slug"))
		return nil
	})
	site.Page("/blog/[slug]", Page{Revalidate: sec(60), Render: post})
	site.Page("/shop/[item]", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		io.WriteString(w, "item")
		return nil
	})})
	if nf != nil {
		nf(&site)
	}
	return &site
}

func staticPage(body string) render.Page {
	return render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		_, err := io.WriteString(w, body)
		return err
	})
}

// TestHTTPNotFoundPage: one not-found page, inside the layouts, answers both
// a path no route matches and a page's notFound(); the nearest one above
// the segment is used, as Next.js picks not-found.js.
func TestHTTPNotFoundPage(t *testing.T) {
	const (
		lost   = "<html><h1>Lost</h1></html>"
		noPost = "<html><section><h2>No such post</h2></section></html>"
	)
	rootOnly := func(s *Site) { s.NotFound("/", staticPage("<h1>Lost</h1>")) }
	withBlog := func(s *Site) {
		rootOnly(s)
		s.NotFound("/blog", staticPage("<h2>No such post</h2>"))
	}
	withItem := func(s *Site) {
		rootOnly(s)
		s.NotFound("/shop/[item]", staticPage("<h3>Sold out</h3>"))
	}
	tests := []struct {
		name     string
		nf       func(*Site)
		notFound http.Handler
		path     string
		body     string
	}{
		{"unmatched/root", rootOnly, nil, "/nope", lost},
		{"unmatched/deep", rootOnly, nil, "/a/b/c", lost},
		{"unmatched/dot segment", rootOnly, nil, "/blog/../x", lost},
		{"notFound/root replaces the layouts below it", rootOnly, nil, "/blog/gone", lost},
		{"notFound/nearest above the page", withBlog, nil, "/blog/gone", noPost},
		{"unmatched/root, not the nearest", withBlog, nil, "/blog/a/b", lost},
		// A layout's notFound() is caught above it: not by the not-found
		// page of its own segment.
		{"notFound/layout caught above it", withItem, nil, "/shop/closed", lost},
		{"notFound/no page: NotFoundBody in the layouts", nil, nil, "/blog/gone", "<html><section>" + render.NotFoundBody + "</section></html>"},
		{"unmatched/no page: plain 404", nil, nil, "/nope", "404 page not found\n"},
		{"unmatched/Options.NotFound first", rootOnly, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "handler")
		}), "/nope", "handler"},
		{"notFound/page despite Options.NotFound", rootOnly, http.NotFoundHandler(), "/blog/gone", lost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, notFoundSite(tt.nf), Options{NotFound: tt.notFound, Scheduler: inlineScheduler, Store: store.NewMemory(store.MemoryOptions{})})
			srv := httptest.NewServer(e)
			t.Cleanup(srv.Close)
			hs := &httpSite{srv: srv, e: e}
			r := hs.do(t, http.MethodGet, tt.path)
			if r.code != http.StatusNotFound {
				t.Errorf("GET %s status = %d; want 404", tt.path, r.code)
			}
			if r.body != tt.body {
				t.Errorf("GET %s body = %q; want %q", tt.path, r.body, tt.body)
			}
		})
	}
}

// TestHTTPNotFoundCached: the 404 of a page's notFound() is cached with the
// route's policy (a HIT on the second request, ISR headers); the one of
// unmatched paths is the route /_not-found, cached once for every path.
func TestHTTPNotFoundCached(t *testing.T) {
	clock := &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var renders int
	site := notFoundSite(func(s *Site) {
		s.NotFound("/", render.PageFunc(func(ctx context.Context, sc *render.Scope, w io.Writer) error {
			renders++ // one request at a time
			fmt.Fprintf(w, "<h1>Lost %d</h1>", renders)
			return nil
		}))
	})
	e := newEngine(t, site, Options{Now: clock.Now, Scheduler: inlineScheduler, Store: store.NewMemory(store.MemoryOptions{})})
	hs := &httpSite{srv: httptest.NewServer(e), clock: clock, e: e}
	t.Cleanup(hs.srv.Close)
	steps := []struct {
		advance time.Duration
		path    string
		status  string
		body    string
		cc      string
	}{
		{0, "/blog/gone", "MISS", "<html><h1>Lost 1</h1></html>", "s-maxage=60, stale-while-revalidate=31535940"},
		{0, "/blog/gone", "HIT", "<html><h1>Lost 1</h1></html>", "s-maxage=60, stale-while-revalidate=31535940"},
		{0, "/nope", "MISS", "<html><h1>Lost 2</h1></html>", "s-maxage=31536000"},
		{0, "/other", "HIT", "<html><h1>Lost 2</h1></html>", "s-maxage=31536000"},
		{61 * time.Second, "/blog/gone", "STALE", "<html><h1>Lost 1</h1></html>", "s-maxage=60, stale-while-revalidate=31535940"},
		{0, "/blog/gone", "HIT", "<html><h1>Lost 3</h1></html>", "s-maxage=60, stale-while-revalidate=31535940"},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		r := hs.do(t, http.MethodGet, st.path)
		if r.code != http.StatusNotFound || r.header.Get("X-Cache-Status") != st.status || r.body != st.body {
			t.Errorf("GET %s = %d %s %q; want 404 %s %q", st.path, r.code, r.header.Get("X-Cache-Status"), r.body, st.status, st.body)
		}
		if got := r.header.Get("Cache-Control"); got != st.cc {
			t.Errorf("GET %s Cache-Control = %q; want %q", st.path, got, st.cc)
		}
	}
	if _, ok := e.Policy(notFoundPath); !ok {
		t.Errorf("Policy(%q) not found; want the not-found route listed", notFoundPath)
	}
}

// TestNotFoundConfig: bad not-found registrations are reported by New.
func TestNotFoundConfig(t *testing.T) {
	tests := []struct {
		name  string
		reg   func(*Site)
		rule  error
		route string
	}{
		{"nil page", func(s *Site) { s.NotFound("/", nil) }, ErrRender, "/"},
		{"bad pattern", func(s *Site) { s.NotFound("blog", staticPage("x")) }, ErrPattern, "blog"},
		{"twice", func(s *Site) { s.NotFound("/blog", staticPage("x")); s.NotFound("/blog", staticPage("y")) }, ErrConflict, "/blog"},
		{"reserved route", func(s *Site) {
			s.NotFound("/", staticPage("x"))
			s.Page(notFoundPath, Page{Render: staticPage("y")})
		}, ErrConflict, notFoundPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var site Site
			tt.reg(&site)
			_, err := New(&site, Options{})
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, tt.rule) || ce.Route != tt.route {
				t.Fatalf("New = %v; want a ConfigError for route %q matching %v", err, tt.route, tt.rule)
			}
			if !strings.Contains(err.Error(), "not-found") && tt.rule != ErrConflict {
				t.Errorf("New = %v; want it to name the not-found page", err)
			}
		})
	}
}

// TestNotFoundPrerendered: Prerender builds the route /_not-found, so the
// first unmatched path is a HIT.
func TestNotFoundPrerendered(t *testing.T) {
	site := notFoundSite(func(s *Site) { s.NotFound("/", staticPage("<h1>Lost</h1>")) })
	e := newEngine(t, site, Options{Store: store.NewMemory(store.MemoryOptions{})})
	if _, err := e.Prerender(context.Background(), PrerenderOptions{}); err != nil {
		t.Fatalf("Prerender: %v", err)
	}
	if r := get(e, "/nope"); r.code != http.StatusNotFound || r.status != "HIT" || r.body != "<html><h1>Lost</h1></html>" {
		t.Errorf("GET /nope = %d %s %q; want 404 HIT %q", r.code, r.status, r.body, "<html><h1>Lost</h1></html>")
	}
}
