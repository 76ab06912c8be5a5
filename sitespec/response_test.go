package sitespec

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
)

// TestEngineResponses serves the spec over real HTTP: a redirect
// (307, 308 when permanent) MISS then HIT with its Location, notFound params
// cached as 404 under the route's revalidate, and headers stored with the
// entry and replayed on HIT and STALE.
func TestEngineResponses(t *testing.T) {
	spec, err := Parse("site.yaml", []byte(`
segments:
  /old/[slug]:
    page:
      redirect: /blog/{slug}
  /moved/[slug]:
    page:
      redirect: /blog/{slug}
      permanent: true
  /blog/[slug]:
    page:
      revalidate: 60
      notFound: [{slug: gone}]
      headers: {X-Robots-Tag: noindex, Content-Type: application/xhtml+xml}
`))
	if err != nil {
		t.Fatal(err)
	}
	built := spec.Build(Options{Sleep: noSleep})
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e, err := engine.New(built.Site, engine.Options{
		Fetcher:   built.Fetcher,
		Scheduler: regen.SchedulerFunc(func(f func()) { f() }), // regenerate before the STALE answer returns
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	client := *srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	const isrCC = "s-maxage=60, stale-while-revalidate=31535940"
	blog := map[string]string{"X-Robots-Tag": "noindex", "Content-Type": "application/xhtml+xml", "Cache-Control": isrCC}
	steps := []struct {
		advance time.Duration
		path    string
		code    int
		cache   string
		header  map[string]string
		body    string
	}{
		{path: "/old/a%20b", code: 307, cache: "MISS", header: map[string]string{"Location": "/blog/a%20b", "Content-Type": "text/html; charset=utf-8"}, body: `content="1;url=/blog/a%20b"`},
		{path: "/old/a%20b", code: 307, cache: "HIT", header: map[string]string{"Location": "/blog/a%20b"}},
		{path: "/moved/a", code: 308, cache: "MISS", header: map[string]string{"Location": "/blog/a"}, body: `content="0;url=/blog/a"`},
		{path: "/moved/a", code: 308, cache: "HIT", header: map[string]string{"Location": "/blog/a", "Cache-Control": "s-maxage=31536000"}},
		{path: "/blog/gone", code: 404, cache: "MISS", header: blog},
		{path: "/blog/gone", code: 404, cache: "HIT", header: blog},
		{path: "/blog/here", code: 200, cache: "MISS", header: blog, body: `<p data-param="slug">here</p>`},
		{path: "/blog/here", code: 200, cache: "HIT", header: blog, body: `<p data-param="slug">here</p>`},
		{advance: 61 * time.Second, path: "/blog/here", code: 200, cache: "STALE", header: blog},
		{path: "/blog/gone", code: 404, cache: "STALE", header: blog},
		{path: "/blog/gone", code: 404, cache: "HIT", header: blog},
	}
	for i, st := range steps {
		mu.Lock()
		now = now.Add(st.advance)
		mu.Unlock()
		res, err := client.Get(srv.URL + st.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != st.code || res.Header.Get("X-Cache-Status") != st.cache {
			t.Errorf("step %d: GET %s = %d %s; want %d %s", i, st.path, res.StatusCode, res.Header.Get("X-Cache-Status"), st.code, st.cache)
		}
		for k, want := range st.header {
			if got := res.Header.Get(k); got != want {
				t.Errorf("step %d: GET %s: %s = %q; want %q", i, st.path, k, got, want)
			}
		}
		if !strings.Contains(string(b), st.body) {
			t.Errorf("step %d: GET %s: body %q; want it to hold %q", i, st.path, b, st.body)
		}
	}
}
