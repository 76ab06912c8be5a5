package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
)

// manualClock is Options.Now for tests over real HTTP, where synctest
// cannot reach the server's goroutines.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingStore counts reads, to prove a request never touched the cache.
type countingStore struct {
	store.Store
	gets atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, key string) (*store.Item, bool, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key)
}

// inlineScheduler runs background work before the request that started it
// returns, so tests over HTTP see its result on the next request.
var inlineScheduler = regen.SchedulerFunc(func(f func()) { f() })

type httpSite struct {
	srv   *httptest.Server
	clock *manualClock
	store *countingStore
	e     *Engine
}

func newHTTPSite(t *testing.T, opts Options) *httpSite {
	t.Helper()
	var site Site
	var n atomic.Int64
	counted := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		fmt.Fprintf(w, "page %s v%d", s.Path(), n.Add(1))
		return nil
	})
	site.Page("/static", Page{Render: counted})
	site.Page("/isr", Page{Revalidate: sec(60), Render: counted})
	site.Page("/dyn", Page{Dynamic: regen.ForceDynamic, Render: counted})
	site.Page("/search", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		fmt.Fprintf(w, "q=%s", s.SearchParams().Get("q"))
		return nil
	})})
	site.Page("/broken", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		return fmt.Errorf("template error")
	})})
	hs := &httpSite{clock: &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		store: &countingStore{Store: store.NewMemory(store.MemoryOptions{})}}
	opts.Now, opts.Scheduler, opts.Store = hs.clock.Now, inlineScheduler, hs.store
	if opts.Logger == nil {
		opts.Logger = (&logBuffer{}).logger()
	}
	hs.e = newEngine(t, &site, opts)
	hs.srv = httptest.NewServer(hs.e)
	t.Cleanup(hs.srv.Close)
	return hs
}

type httpResponse struct {
	code   int
	header http.Header
	body   string
}

func (hs *httpSite) do(t *testing.T, method, path string, hdr ...string) httpResponse {
	t.Helper()
	req, err := http.NewRequest(method, hs.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := *hs.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return httpResponse{res.StatusCode, res.Header, string(b)}
}

// TestHTTPSequence: HIT / STALE / MISS / BYPASS over real HTTP, with the
// header values of each kind.
func TestHTTPSequence(t *testing.T) {
	hs := newHTTPSite(t, Options{})
	const isrCC = "s-maxage=60, stale-while-revalidate=31535940"
	const dynCC = "private, no-cache, no-store, max-age=0, must-revalidate"
	steps := []struct {
		advance     time.Duration
		path        string
		status      string
		cacheStatus string
		cc          string
		body        string
	}{
		{0, "/isr", "MISS", "regen; fwd=miss; stored", isrCC, "page /isr v1"},
		{59 * time.Second, "/isr", "HIT", "regen; hit", isrCC, "page /isr v1"},
		{time.Second, "/isr", "STALE", "regen; hit; detail=stale-while-revalidate", isrCC, "page /isr v1"},
		{0, "/isr", "HIT", "regen; hit", isrCC, "page /isr v2"},
		{0, "/isr?utm=x", "HIT", "regen; hit", isrCC, "page /isr v2"},
		{0, "/static", "MISS", "regen; fwd=miss; stored", "s-maxage=31536000", "page /static v3"},
		{365 * 24 * time.Hour, "/static", "HIT", "regen; hit", "s-maxage=31536000", "page /static v3"},
		{0, "/dyn", "BYPASS", "regen; fwd=bypass", dynCC, "page /dyn v4"},
		{0, "/dyn", "BYPASS", "regen; fwd=bypass", dynCC, "page /dyn v5"},
		{0, "/search?q=shoes", "BYPASS", "regen; fwd=bypass", dynCC, "q=shoes"},
		{0, "/search?q=hats", "BYPASS", "regen; fwd=bypass", dynCC, "q=hats"},
	}
	for i, s := range steps {
		hs.clock.Advance(s.advance)
		r := hs.do(t, http.MethodGet, s.path)
		got := []string{r.header.Get("X-Cache-Status"), r.header.Get("Cache-Status"), r.header.Get("Cache-Control"), r.body}
		want := []string{s.status, s.cacheStatus, s.cc, s.body}
		if r.code != 200 || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("step %d: GET %s = %d %q; want 200 %q", i, s.path, r.code, got, want)
		}
	}
}

// TestHTTPConditionalAndHead: ETag and 304, and HEAD.
func TestHTTPConditionalAndHead(t *testing.T) {
	hs := newHTTPSite(t, Options{})
	// The MISS streams its render: no ETag, no Content-Length.
	if miss := hs.do(t, http.MethodGet, "/static"); miss.header.Get("ETag") != "" || miss.header.Get("Content-Length") != "" || miss.header.Get("X-Cache-Status") != "MISS" {
		t.Errorf("first GET /static: %s ETag %q Content-Length %q; want a streamed MISS without either", miss.header.Get("X-Cache-Status"), miss.header.Get("ETag"), miss.header.Get("Content-Length"))
	}
	first := hs.do(t, http.MethodGet, "/static")
	tag := first.header.Get("ETag")
	if !strings.HasPrefix(tag, `"`) || first.header.Get("Content-Length") != fmt.Sprint(len(first.body)) {
		t.Fatalf("GET /static ETag %q, Content-Length %q; want a strong ETag and the length", tag, first.header.Get("Content-Length"))
	}
	if r := hs.do(t, http.MethodGet, "/static", "If-None-Match", tag); r.code != http.StatusNotModified || r.body != "" || r.header.Get("X-Cache-Status") != "HIT" {
		t.Errorf("If-None-Match %s = %d %q %s; want 304, no body, HIT", tag, r.code, r.body, r.header.Get("X-Cache-Status"))
	}
	if r := hs.do(t, http.MethodGet, "/static", "If-None-Match", `"stale-etag"`); r.code != 200 || r.body != first.body {
		t.Errorf("other If-None-Match = %d; want 200 with the body", r.code)
	}
	head := hs.do(t, http.MethodHead, "/static")
	if head.code != 200 || head.body != "" || head.header.Get("ETag") != tag || head.header.Get("Content-Length") != first.header.Get("Content-Length") {
		t.Errorf("HEAD = %d %q ETag %q Content-Length %q; want GET's headers without a body", head.code, head.body, head.header.Get("ETag"), head.header.Get("Content-Length"))
	}
	if r := hs.do(t, http.MethodPost, "/static"); r.code != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST = %d Allow %q; want 405 with Allow: GET, HEAD", r.code, r.header.Get("Allow"))
	}
}

// TestHTTPBadPaths: traversal and malformed paths are answered before any
// cache lookup.
func TestHTTPBadPaths(t *testing.T) {
	hs := newHTTPSite(t, Options{})
	tests := []struct {
		path string
		code int
	}{
		{"/../etc/passwd", http.StatusNotFound},
		{"/static/../isr", http.StatusNotFound},
		{"/a/%2e%2e/b", http.StatusNotFound},
		{"/static/.", http.StatusNotFound},
		{"//static", http.StatusNotFound},
		{"/a%00b", http.StatusBadRequest},
		{"/a%0Ab", http.StatusBadRequest},
		{"/a%7F", http.StatusBadRequest},
		{"/" + strings.Repeat("a", MaxPathLen), http.StatusRequestURITooLong},
		{"/static/", http.StatusPermanentRedirect},
	}
	for _, tt := range tests {
		before := hs.store.gets.Load()
		r := hs.do(t, http.MethodGet, tt.path)
		if r.code != tt.code {
			t.Errorf("GET %.40s = %d; want %d", tt.path, r.code, tt.code)
		}
		if got := r.header.Get("X-Cache-Status"); got != "BYPASS" {
			t.Errorf("GET %.40s X-Cache-Status = %q; want BYPASS (on every response)", tt.path, got)
		}
		if got := hs.store.gets.Load() - before; got != 0 {
			t.Errorf("GET %.40s read the cache %d times; want 0", tt.path, got)
		}
	}
	if r := hs.do(t, http.MethodGet, "/static/?x=1"); r.header.Get("Location") != "/static?x=1" {
		t.Errorf("trailing slash Location = %q; want /static?x=1", r.header.Get("Location"))
	}
	if hs.e.Stats().Renders != 0 {
		t.Errorf("renders = %d; want 0", hs.e.Stats().Renders)
	}
}

// TestHTTPErrorPages: users can replace the 404 and error pages; the error
// page gets the render's error on a 500 and nil for the request's own
// errors.
func TestHTTPErrorPages(t *testing.T) {
	var mu sync.Mutex
	var gotErr error
	hs := newHTTPSite(t, Options{
		NotFound: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "<h1>Nothing here</h1>")
		}),
		ErrorPage: func(w http.ResponseWriter, r *http.Request, code int, err error) {
			mu.Lock()
			gotErr = err
			mu.Unlock()
			w.WriteHeader(code)
			fmt.Fprintf(w, "<h1>Sorry (%d)</h1>", code)
		},
	})
	for _, tt := range []struct {
		method  string
		path    string
		code    int
		body    string
		wantErr string // "" for a nil error
	}{
		{"GET", "/nope", 404, "<h1>Nothing here</h1>", ""},
		{"GET", "/broken", 500, "<h1>Sorry (500)</h1>", "template error"},
		{"GET", "/a%00", 400, "<h1>Sorry (400)</h1>", ""},
		{"POST", "/static", 405, "<h1>Sorry (405)</h1>", ""},
	} {
		mu.Lock()
		gotErr = nil
		mu.Unlock()
		r := hs.do(t, tt.method, tt.path)
		if r.code != tt.code || r.body != tt.body || r.header.Get("X-Cache-Status") != "BYPASS" {
			t.Errorf("%s %s = %d %q %s; want %d %q BYPASS", tt.method, tt.path, r.code, r.body, r.header.Get("X-Cache-Status"), tt.code, tt.body)
		}
		mu.Lock()
		err := gotErr
		mu.Unlock()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s %s: ErrorPage err = %v; want nil", tt.method, tt.path, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s %s: ErrorPage err = %v; want the render's error (%q)", tt.method, tt.path, err, tt.wantErr)
		}
	}
}

// TestHTTPDefaultErrorPages: without Options.NotFound, Options.ErrorPage or a
// not-found page, the answers are plain text, and a failed render's error
// is logged, never shown.
func TestHTTPDefaultErrorPages(t *testing.T) {
	logs := &logBuffer{}
	hs := newHTTPSite(t, Options{Logger: logs.logger()})
	for _, tt := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/nope", 404, "404 page not found\n"},
		{"GET", "/broken", 500, "500 Internal Server Error\n"},
		{"POST", "/static", 405, "405 Method Not Allowed\n"},
	} {
		r := hs.do(t, tt.method, tt.path)
		if r.code != tt.code || r.body != tt.body || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("%s %s = %d %q (%s); want %d %q (text/plain)", tt.method, tt.path, r.code, r.body, r.header.Get("Content-Type"), tt.code, tt.body)
		}
	}
	if !strings.Contains(logs.String(), "template error") {
		t.Errorf("log = %q; want the render's error", logs.String())
	}
}
