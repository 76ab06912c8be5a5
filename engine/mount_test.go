package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
)

// mountedSite is a site of three routes, "/", "/static" and the ISR
// "/blog/[slug]", each page writing its route path and a render count; the
// engine runs on a manual clock with background work inline.
type mountedSite struct {
	e     *Engine
	clock *manualClock
}

func newMountedSite(t *testing.T, opts Options) *mountedSite {
	t.Helper()
	var n atomic.Int64
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		fmt.Fprintf(w, "page %s v%d", s.Path(), n.Add(1))
		return nil
	})
	var site Site
	site.Page("/", Page{Render: page})
	site.Page("/static", Page{Render: page})
	site.Page("/blog/[slug]", Page{Revalidate: sec(60), Render: page})
	ms := &mountedSite{clock: &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	opts.Now, opts.Scheduler = ms.clock.Now, inlineScheduler
	opts.Store = store.NewMemory(store.MemoryOptions{})
	opts.Logger = (&logBuffer{}).logger()
	ms.e = newEngine(t, &site, opts)
	return ms
}

// serve starts a server on 127.0.0.1 for h.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// mountCase is one raw request and what it must answer: a redirect to
// location, or a page whose body starts with body.
type mountCase struct {
	target   string
	code     int
	location string // for a redirect
	body     string // prefix of the body of a 200
}

func checkMount(t *testing.T, srv *httptest.Server, tests []mountCase) {
	t.Helper()
	for _, tt := range tests {
		r := rawGet(t, srv, tt.target)
		loc := r.header.Get("Location")
		if r.code != tt.code || loc != tt.location {
			t.Errorf("GET %s = %d Location %q; want %d %q", tt.target, r.code, loc, tt.code, tt.location)
		}
		if loc != "" && offSite(loc) {
			t.Errorf("GET %s: Location %q leads off the site", tt.target, loc)
		}
		if tt.code == http.StatusOK && !strings.HasPrefix(r.body, tt.body) {
			t.Errorf("GET %s body = %q; want %q...", tt.target, r.body, tt.body)
		}
	}
}

// follow gets path from srv, following redirects, and returns where it
// ended and the answer.
func follow(t *testing.T, srv *httptest.Server, path string) (end string, code int, body string) {
	t.Helper()
	res, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.Request.URL.RequestURI(), res.StatusCode, string(b)
}

// TestHTTPStripPrefix: under http.StripPrefix, the trailing-slash redirect
// keeps the prefix the client asked for. Before, "/site/static/" redirected
// to "/static", off the mounted site.
func TestHTTPStripPrefix(t *testing.T) {
	ms := newMountedSite(t, Options{})
	srv := serve(t, http.StripPrefix("/site", ms.e))
	checkMount(t, srv, []mountCase{
		{"/site/static", 200, "", "page /static"},
		{"/site/static/", 308, "/site/static", ""},
		{"/site/static//", 308, "/site/static", ""},
		{"/site/static/?x=1", 308, "/site/static?x=1", ""},
		{"/site/blog/a/", 308, "/site/blog/a", ""},
		{"/site/caf%C3%A9/", 308, "/site/caf%C3%A9", ""},
		{"/site/%62log/a/", 308, "/site/%62log/a", ""}, // as the client escaped it
		{"/site%2Fstatic/", 308, "/site/static", ""},   // StripPrefix cut the raw path at the escaped slash
		{"/site/%5cevil.example/", 308, "/site/%5cevil.example", ""},
		{"/site", 200, "", "page / "},  // StripPrefix passes "": the root
		{"/site/", 200, "", "page / "}, // not redirected to "/site": a ServeMux would redirect it back
		{"/site//", 308, "/site/", ""},
		{"/site//evil.example/", 404, "", ""},
		{"/site/%2f%2fevil/", 404, "", ""},
		{"/site/a/../static", 404, "", ""},
		{"/site/%09/", 400, "", ""},
		{"/other/", 404, "", ""}, // StripPrefix's own 404
	})
	// The cache key is the route path, without the prefix.
	if ent, _, _ := ms.e.Entry(context.Background(), "/static"); ent == nil {
		t.Errorf("Entry(/static) = nil after GET /site/static; want the page cached under its route path")
	}
	if end, code, _ := follow(t, srv, "/site/static/?x=1"); end != "/site/static?x=1" || code != 200 {
		t.Errorf("following /site/static/?x=1 ended at %s with %d; want /site/static?x=1 200", end, code)
	}

	// The idiom of net/http's documentation strips the prefix with its
	// slash: the engine reads "static/" as "/static/".
	srv2 := serve(t, http.StripPrefix("/site/", ms.e))
	checkMount(t, srv2, []mountCase{
		{"/site/static", 200, "", "page /static"},
		{"/site/static/", 308, "/site/static", ""},
		{"/site/blog/a/?q=1", 308, "/site/blog/a?q=1", ""},
		{"/site/", 200, "", "page / "},
	})

	// StripPrefix("/site") passes "/sitemap.xml" on as "map.xml": cut
	// inside a segment, outside the mount.
	checkMount(t, srv, []mountCase{
		{"/sitemap.xml", 404, "", ""},
		{"/site%5Cevil/", 404, "", ""},
		{"/sitex/static", 404, "", ""},
	})
}

// TestHTTPServeMux: the engine mounted on a ServeMux pattern next to other
// handlers, with the prefix stripped, or kept and named in BasePath.
func TestHTTPServeMux(t *testing.T) {
	stripped := newMountedSite(t, Options{})
	based := newMountedSite(t, Options{BasePath: "/docs"})
	mux := http.NewServeMux()
	mux.Handle("/site/", http.StripPrefix("/site", stripped.e))
	// With BasePath, register the base too: the pattern "/docs/" alone
	// would redirect "/docs" to "/docs/", which the engine redirects back.
	mux.Handle("/docs", based.e)
	mux.Handle("/docs/", based.e)
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	srv := serve(t, mux)
	checkMount(t, srv, []mountCase{
		{"/site/static", 200, "", "page /static"},
		{"/site/static/", 308, "/site/static", ""},
		{"/site/", 200, "", "page / "},
		{"/site", http.StatusTemporaryRedirect, "/site/", ""}, // the ServeMux's own redirect
		{"/docs/static", 200, "", "page /static"},
		{"/docs/static/", 308, "/docs/static", ""},
		{"/docs", 200, "", "page / "},
		{"/docs/", 308, "/docs", ""},
		{"/api/health", 200, "", "ok"},
	})
	for _, tt := range []struct{ path, end string }{
		{"/site", "/site/"},
		{"/site/blog/a/", "/site/blog/a"},
		{"/docs/", "/docs"},
		{"/docs/blog/a/?q=1", "/docs/blog/a?q=1"},
	} {
		if end, code, _ := follow(t, srv, tt.path); end != tt.end || code != 200 {
			t.Errorf("following %s ended at %s with %d; want %s 200", tt.path, end, code, tt.end)
		}
	}
}

// TestHTTPChiMount: chi's Mount passes the full path to the handler it
// mounts (its route context holds the rest, which the engine does not
// read). The engine works under Mount with the prefix stripped or named in
// BasePath; alone, every path is outside its routes.
func TestHTTPChiMount(t *testing.T) {
	stripped := newMountedSite(t, Options{})
	based := newMountedSite(t, Options{BasePath: "/docs"})
	bare := newMountedSite(t, Options{})
	r := chi.NewRouter()
	r.Mount("/site", http.StripPrefix("/site", stripped.e))
	r.Mount("/docs", based.e)
	r.Mount("/bare", bare.e)
	r.Get("/api/health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := serve(t, r)
	checkMount(t, srv, []mountCase{
		{"/site/static", 200, "", "page /static"},
		{"/site/static/", 308, "/site/static", ""},
		{"/site/blog/a/?q=1", 308, "/site/blog/a?q=1", ""},
		{"/site", 200, "", "page / "},
		{"/site/", 200, "", "page / "},
		{"/docs/static", 200, "", "page /static"},
		{"/docs/static/", 308, "/docs/static", ""},
		{"/docs", 200, "", "page / "},
		{"/docs/", 308, "/docs", ""},
		{"/bare/static", 404, "", ""}, // the engine sees "/bare/static"
		{"/api/health", 200, "", "ok"},
	})
	if end, code, _ := follow(t, srv, "/docs/"); end != "/docs" || code != 200 {
		t.Errorf("following /docs/ ended at %s with %d; want /docs 200", end, code)
	}
}

// TestHTTPBasePath: with BasePath, paths outside it are 404, the engine
// matches and caches the path without it, and redirects keep it.
func TestHTTPBasePath(t *testing.T) {
	ms := newMountedSite(t, Options{BasePath: "/docs"})
	srv := serve(t, ms.e)
	checkMount(t, srv, []mountCase{
		{"/docs/static", 200, "", "page /static"},
		{"/docs/blog/a", 200, "", "page /blog/a"}, // the render sees the route path
		{"/docs", 200, "", "page / "},
		{"/docs/", 308, "/docs", ""}, // as Next.js with trailingSlash false
		{"/docs/?a=1", 308, "/docs?a=1", ""},
		{"/docs//", 308, "/docs", ""},
		{"/docs/static/", 308, "/docs/static", ""},
		{"/docs/blog/a/?q=1", 308, "/docs/blog/a?q=1", ""},
		{"/d%6fcs/static/", 308, "/d%6fcs/static", ""},
		{"/docs/%5cevil.example/", 308, "/docs/%5cevil.example", ""},
		{"/static", 404, "", ""},
		{"/", 404, "", ""},
		{"/docsx", 404, "", ""},
		{"/docsx/static", 404, "", ""},
		{"/docs%00", 404, "", ""},
		{"/docs/a%00", 400, "", ""},
		{"/docs/a/../static", 404, "", ""},
		{"/docs//evil.example/", 404, "", ""},
	})
	ctx := context.Background()
	if ent, _, _ := ms.e.Entry(ctx, "/static"); ent == nil {
		t.Errorf("Entry(/static) = nil after GET /docs/static; want the page cached under its route path")
	}
	if ent, _, _ := ms.e.Entry(ctx, "/docs/static"); ent != nil {
		t.Errorf("Entry(/docs/static) = %v; want nil: cache keys exclude the base path", ent)
	}

	// A revalidation names the route path; it reaches /docs/blog/a.
	get := func(path string) httpResponse { return rawGet(t, srv, path) }
	if r := get("/docs/blog/a"); r.header.Get("X-Cache-Status") != "HIT" {
		t.Fatalf("GET /docs/blog/a = %s; want HIT", r.header.Get("X-Cache-Status"))
	}
	if err := ms.e.RevalidatePath(ctx, "/blog/a", PagePath, regen.RevalidateStale); err != nil {
		t.Fatal(err)
	}
	if r := get("/docs/blog/a"); r.header.Get("X-Cache-Status") != "STALE" {
		t.Errorf("GET /docs/blog/a after RevalidatePath(/blog/a) = %s; want STALE", r.header.Get("X-Cache-Status"))
	}
	r := get("/docs/blog/a")
	if r.header.Get("X-Cache-Status") != "HIT" || r.body != "page /blog/a v4" {
		t.Errorf("GET /docs/blog/a after the regeneration = %s %q; want HIT %q (the regeneration)", r.header.Get("X-Cache-Status"), r.body, "page /blog/a v4")
	}
	if end, code, _ := follow(t, srv, "/docs/static/?x=1"); end != "/docs/static?x=1" || code != 200 {
		t.Errorf("following /docs/static/?x=1 ended at %s with %d; want /docs/static?x=1 200", end, code)
	}

	// Under http.StripPrefix too, both prefixes stay.
	srv2 := serve(t, http.StripPrefix("/app", ms.e))
	checkMount(t, srv2, []mountCase{
		{"/app/docs/static", 200, "", "page /static"},
		{"/app/docs/static/", 308, "/app/docs/static", ""},
		{"/app/docs/", 308, "/app/docs", ""},
		{"/app/static", 404, "", ""},
	})
}

// TestBasePathConfig: New refuses a base path that is not a clean prefix,
// naming the field and the fix.
func TestBasePathConfig(t *testing.T) {
	tests := []struct {
		base string
		want string // in the message; "" when accepted
	}{
		{"", ""},
		{"/docs", ""},
		{"/a/b", ""},
		{"/café", ""},
		{"/", `is the root (leave it empty`},
		{"docs", `must start with "/" (use "/docs")`},
		{"docs/", `must start with "/" (use "/docs")`},
		{"/docs/", `must not end with "/" (use "/docs")`},
		{"/a//b", `is not a clean path (use "/a/b")`},
		{"/a/../b", `is not a clean path (use "/b")`},
		{"/a/./b", `is not a clean path (use "/a/b")`},
		{"/..", `is the root`},
		{"/a?b", `must be a plain path`},
		{"/a#b", `must be a plain path`},
		{"/a\x00", `must be a plain path`},
		{"/a\xff", `must be a plain path`},
	}
	for _, tt := range tests {
		e, err := New(&Site{}, Options{BasePath: tt.base})
		if tt.want == "" {
			if err != nil {
				t.Errorf("New(BasePath %q) error = %v; want nil", tt.base, err)
			} else {
				e.Close()
			}
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != "BasePath" || !errors.Is(err, ErrBasePath) {
			t.Errorf("New(BasePath %q) error = %v; want a ConfigError on BasePath matching ErrBasePath", tt.base, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Options.BasePath") {
			t.Errorf("New(BasePath %q) error = %q; want it to name Options.BasePath and say %q", tt.base, err, tt.want)
		}
	}
}

// TestMountPrefix: the prefix read from RequestURI, for requests as
// http.StripPrefix passes them on.
func TestMountPrefix(t *testing.T) {
	tests := []struct {
		requestURI string
		strip      string
		want       string
	}{
		{"/site/blog/", "/site", "/site"},
		{"/site/blog/?q=1", "/site", "/site"},
		{"/site/blog/", "/site/", "/site"},
		{"/a/b/blog/", "/a/b", "/a/b"},
		{"/blog/", "", ""},
		{"/s%69te/blog/", "/site", "/s%69te"}, // StripPrefix refuses it; the reading still holds
		{"http://example.com/site/blog/", "/site", "/site"},
		{"", "/site", ""}, // built in Go: no RequestURI
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/site/blog/", nil)
		r.RequestURI = tt.requestURI
		u, _ := url.ParseRequestURI("/blog/")
		if tt.strip == "" {
			u, _ = url.ParseRequestURI(tt.requestURI)
		}
		if got := mountPrefix(r, withSlash(u)); got != tt.want {
			t.Errorf("mountPrefix(RequestURI %q, strip %q) = %q; want %q", tt.requestURI, tt.strip, got, tt.want)
		}
	}
	// A path rewritten rather than stripped keeps no prefix.
	r := httptest.NewRequest(http.MethodGet, "/old/", nil)
	if got := mountPrefix(r, &url.URL{Path: "/new/"}); got != "" {
		t.Errorf("mountPrefix of a rewritten path = %q; want \"\"", got)
	}
	// A prefix that could be read as another host is dropped.
	r = httptest.NewRequest(http.MethodGet, "/x", nil)
	r.RequestURI = "//evil.example/blog/"
	if got := mountPrefix(r, &url.URL{Path: "/blog/"}); got != "" {
		t.Errorf("mountPrefix(RequestURI //evil.example/blog/) = %q; want \"\"", got)
	}
}

// TestMountedRedirectNeverOffSite: under a stripped prefix or a base path,
// no hostile path gets a Location a browser would follow off the site, nor
// a 500.
func TestMountedRedirectNeverOffSite(t *testing.T) {
	stripped := newMountedSite(t, Options{})
	based := newMountedSite(t, Options{BasePath: "/docs"})
	for _, m := range []struct {
		prefix string
		srv    *httptest.Server
	}{
		{"/site", serve(t, http.StripPrefix("/site", stripped.e))},
		{"/site", serve(t, http.StripPrefix("/site/", stripped.e))},
		{"/docs", serve(t, based.e)},
	} {
		for _, raw := range []string{
			"/%5c%5cevil/", "/%5c/evil/", "/\\/evil/", "/%5C%2Fevil/", "/%2F%5Cevil/", "/%20/evil/", "/%7f/",
			"/%09%09evil/", "/%0a/evil/", "/%0d%0aSet-Cookie:x/", "/%E2%80%AE/", "/%ff/", "//evil.example/",
			"/%2f%2fevil.example/", "/%2F/evil/", "%2F%2Fevil/", "%5Cevil/", "/%2e%2e/%2e%2e/evil/", "//", "///",
		} {
			r := rawGet(t, m.srv, m.prefix+raw)
			if loc := r.header.Get("Location"); loc != "" && (offSite(loc) || strings.ContainsAny(loc, "\r\n\t\\ ")) {
				t.Errorf("GET %s%s: Location %q leads off the site", m.prefix, raw, loc)
			}
			if r.code >= 500 {
				t.Errorf("GET %s%s = %d; want no 5xx", m.prefix, raw, r.code)
			}
		}
	}
}
