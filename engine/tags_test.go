package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
)

// TestHTTPLongSlugTag: a tag built from a long slug (the demo's
// "product-{slug}") is over regen.MaxTagLen. It used to fail every request
// with 500, never cached, with an ERROR line each time. Now the path renders
// and is cached without the tag, as Next.js drops an invalid tag; the drop is
// logged once per route and reason, however many paths repeat it; the other
// tags, and the path's own implicit tag, still revalidate the page.
func TestHTTPLongSlugTag(t *testing.T) {
	o := newOrigin()
	var site Site
	site.Page("/products/[slug]", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		slug := s.Param("slug")
		res, err := s.Fetch(ctx, &fetchcache.Request{URL: "/api/products/" + slug, Tags: []string{"products", "product-" + slug}})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%.20s", res.Body)
		return nil
	})})
	var logs logBuffer
	e := newEngine(t, &site, Options{Fetcher: o, Logger: logs.logger()})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	hs := &httpSite{srv: srv, e: e}

	slugs := []string{strings.Repeat("a", 300), strings.Repeat("b", 1000), strings.Repeat("é", (MaxPathLen-len("/products/"))/2)}
	for _, slug := range slugs {
		path := "/products/" + url.PathEscape(slug)
		for _, want := range []string{"MISS", "HIT"} {
			if r := hs.do(t, http.MethodGet, path); r.code != 200 || r.header.Get("X-Cache-Status") != want {
				t.Errorf("GET /products/%.10s... (%d bytes) = %d %s; want 200 %s", slug, len(slug), r.code, r.header.Get("X-Cache-Status"), want)
			}
		}
	}
	if got := e.Stats().Renders; got != int64(len(slugs)) {
		t.Errorf("renders = %d; want %d (one per path)", got, len(slugs))
	}
	if n := strings.Count(logs.String(), "tag dropped"); n != 1 {
		t.Errorf("log has %d tag-dropped lines; want 1 (once per route and reason):\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("log has errors:\n%s", logs.String())
	}

	// The kept tag revalidates the long paths' pages.
	long := "/products/" + slugs[0]
	if err := e.RevalidateTag(t.Context(), "products", regen.RevalidateExpire); err != nil {
		t.Fatal(err)
	}
	if r := hs.do(t, http.MethodGet, long); r.code != 200 || r.header.Get("X-Cache-Status") != "MISS" {
		t.Errorf("GET long path after RevalidateTag(products) = %d %s; want 200 MISS", r.code, r.header.Get("X-Cache-Status"))
	}
	// So does the path's own implicit tag, hashed to fit the limit.
	longest := "/products/" + slugs[2]
	hs.do(t, http.MethodGet, longest)
	if r := hs.do(t, http.MethodGet, longest); r.header.Get("X-Cache-Status") != "HIT" {
		t.Fatalf("GET longest path = %s; want HIT", r.header.Get("X-Cache-Status"))
	}
	if err := e.RevalidatePath(t.Context(), longest, PagePath, regen.RevalidateExpire); err != nil {
		t.Fatal(err)
	}
	if r := hs.do(t, http.MethodGet, longest); r.code != 200 || r.header.Get("X-Cache-Status") != "MISS" {
		t.Errorf("GET longest path after RevalidatePath = %d %s; want 200 MISS", r.code, r.header.Get("X-Cache-Status"))
	}
	if r := hs.do(t, http.MethodGet, long); r.header.Get("X-Cache-Status") != "HIT" {
		t.Errorf("GET another long path after RevalidatePath(longest) = %s; want HIT", r.header.Get("X-Cache-Status"))
	}
}
