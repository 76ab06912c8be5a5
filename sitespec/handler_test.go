package sitespec

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
)

// TestEngineHandler serves the handler spec over real HTTP: the
// synthetic handler writes its fetch bodies with its content type and no
// layout HTML, MISS, HIT, STALE after a tag revalidation, then HIT with the
// new data; a handler declaring a cookie is dynamic and a page and a
// handler at one path are refused.
func TestEngineHandler(t *testing.T) {
	spec, err := Parse("site.yaml", []byte(`
segments:
  /:
    layout: {revalidate: 5}
    page: {}
  /feed.xml:
    handler:
      revalidate: 60
      contentType: application/rss+xml
      fetches:
        - {url: /api/posts, tags: [posts]}
  /me:
    handler: {uses: [cookies]}
`))
	if err != nil {
		t.Fatal(err)
	}
	built := spec.Build(Options{Sleep: noSleep})
	e, err := engine.New(built.Site, engine.Options{
		Fetcher:   built.Fetcher,
		Scheduler: regen.SchedulerFunc(func(f func()) { f() }), // regenerate before the STALE answer returns
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	v1 := `{"url":"/api/posts","version":1}` + "\n"
	v2 := `{"url":"/api/posts","version":2}` + "\n"
	steps := []struct {
		publish      bool
		path         string
		cache, ctype string
		body         string
	}{
		{path: "/feed.xml", cache: "MISS", ctype: "application/rss+xml", body: v1},
		{path: "/feed.xml", cache: "HIT", ctype: "application/rss+xml", body: v1},
		{publish: true, path: "/feed.xml", cache: "STALE", ctype: "application/rss+xml", body: v1},
		{path: "/feed.xml", cache: "HIT", ctype: "application/rss+xml", body: v2},
		{path: "/me", cache: "BYPASS", ctype: engine.DefaultHandlerContentType, body: ""},
	}
	for i, st := range steps {
		if st.publish {
			built.Origin.Publish("posts")
			if err := e.RevalidateTag(context.Background(), "posts", regen.RevalidateStale); err != nil {
				t.Fatal(err)
			}
		}
		res, err := srv.Client().Get(srv.URL + st.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("X-Cache-Status") != st.cache || res.Header.Get("Content-Type") != st.ctype {
			t.Errorf("step %d: GET %s = %d %s %q; want 200 %s %q", i, st.path, res.StatusCode,
				res.Header.Get("X-Cache-Status"), res.Header.Get("Content-Type"), st.cache, st.ctype)
		}
		if diff := cmp.Diff(st.body, string(b)); diff != "" {
			t.Errorf("step %d: GET %s body (-want +got):\n%s", i, st.path, diff)
		}
	}

	bad, err := Parse("site.yaml", []byte(`
segments:
  /(a)/feed.xml: {page: {}}
  /feed.xml: {handler: {}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.New(bad.Build(Options{Sleep: noSleep}).Site, engine.Options{}); err == nil {
		t.Errorf("New of a page and a handler at /feed.xml = nil error; want a conflict")
	}
}
