package sitespec

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
)

// recorder is a Registrar that keeps what it is given.
type recorder struct {
	regs []registration
}

type registration struct {
	Pattern string
	Layout  *engine.Layout
	Page    *engine.Page
	Handler *engine.Handler
}

func (r *recorder) Layout(pattern string, l engine.Layout) {
	r.regs = append(r.regs, registration{Pattern: pattern, Layout: &l})
}

func (r *recorder) Page(pattern string, p engine.Page) {
	r.regs = append(r.regs, registration{Pattern: pattern, Page: &p})
}

func (r *recorder) Handler(pattern string, h engine.Handler) {
	r.regs = append(r.regs, registration{Pattern: pattern, Handler: &h})
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestRegister(t *testing.T) {
	spec := shop()
	spec.Segments = append(spec.Segments, Segment{
		Pattern: "/docs/[...path]",
		Layout:  &Layout{Dynamic: regen.ForceStatic, Uses: []regen.API{regen.Headers}, DynamicParams: ptr(false)},
		Page: &Page{
			Revalidate:    regen.Forever,
			Dynamic:       regen.DynamicError,
			DynamicParams: ptr(false),
			StaticParams:  []render.Params{{"path": "a/b"}},
			Fetches:       []Fetch{{URL: "/api/docs/{path}", Cache: regen.NoStore, Revalidate: regen.Never, Tags: []string{"docs"}}},
		},
	})
	var r recorder
	spec.Register(&r, Options{Sleep: noSleep})

	want := []registration{
		{Pattern: "/", Layout: &engine.Layout{
			Revalidate: regen.Seconds(3600),
			Dynamic:    regen.Auto,
			Uses:       []regen.API{regen.Cookies},
			Fetches:    []engine.Fetch{{URL: "/api/nav", Revalidate: regen.Seconds(300), Tags: []string{"nav"}}},
		}},
		{Pattern: "/products/[slug]", Page: &engine.Page{
			Revalidate:   regen.Seconds(60),
			StaticParams: []render.Params{{"slug": "shoe"}, {"slug": "hat"}},
			Fetches:      []engine.Fetch{{URL: "/api/products/{slug}", Tags: []string{"products", "product-{slug}"}}},
		}},
		{Pattern: "/(marketing)/about", Page: &engine.Page{}},
		{Pattern: "/docs/[...path]", Layout: &engine.Layout{
			Dynamic:          regen.ForceStatic,
			Uses:             []regen.API{regen.Headers},
			StaticParamsOnly: true,
		}},
		{Pattern: "/docs/[...path]", Page: &engine.Page{
			Revalidate:       regen.Forever,
			Dynamic:          regen.DynamicError,
			StaticParams:     []render.Params{{"path": "a/b"}},
			StaticParamsOnly: true,
			Fetches:          []engine.Fetch{{URL: "/api/docs/{path}", Cache: regen.NoStore, Revalidate: regen.Never, Tags: []string{"docs"}}},
		}},
	}
	ignoreRender := cmp.Options{
		cmpopts.IgnoreFields(engine.Layout{}, "Render"),
		cmpopts.IgnoreFields(engine.Page{}, "Render"),
	}
	if diff := cmp.Diff(want, r.regs, ignoreRender); diff != "" {
		t.Errorf("Register mismatch (-want +got):\n%s", diff)
	}
	for _, reg := range r.regs {
		if (reg.Layout != nil && reg.Layout.Render == nil) || (reg.Page != nil && reg.Page.Render == nil) {
			t.Errorf("registration at %q has no Render", reg.Pattern)
		}
	}

	// Registrations are copies: changing the spec afterwards changes nothing.
	spec.Segments[0].Layout.Fetches[0].Tags[0] = "changed"
	spec.Segments[1].Page.StaticParams[0]["slug"] = "changed"
	if diff := cmp.Diff(want, r.regs, ignoreRender); diff != "" {
		t.Errorf("registrations changed with the spec (-want +got):\n%s", diff)
	}
}

func TestFillURL(t *testing.T) {
	params := render.Params{"slug": "red shoe", "path": "a b/c", "q": "x&y=z"}
	tests := []struct {
		url, want string
	}{
		{"/api/products/{slug}", "/api/products/red%20shoe"},
		{"/api/docs/{path}", "/api/docs/a%20b/c"},
		{"/api/search?q={q}&s={slug}", "/api/search?q=x%26y%3Dz&s=red+shoe"},
		{"https://example.com/{slug}", "https://example.com/red%20shoe"},
		{"/api/{missing}/x", "/api//x"},
		{"/api/nav", "/api/nav"},
	}
	for _, tt := range tests {
		if got := FillURL(tt.url, params); got != tt.want {
			t.Errorf("FillURL(%q) = %q; want %q", tt.url, got, tt.want)
		}
	}
}

// job returns the render job of path for the route pattern of spec, as the
// engine would make it, with a Data Cache over built's fetcher.
func job(t *testing.T, spec *Spec, built *Built, route, path string, params render.Params, req *http.Request) *render.Job {
	t.Helper()
	var r recorder
	spec.Register(&r, Options{Sleep: built.Origin.Sleep})
	j := &render.Job{Route: route, Path: path, Params: params, Request: req, Mode: regen.Auto}
	for _, reg := range r.regs {
		if reg.Layout != nil && (reg.Pattern == route || strings.HasPrefix(route, strings.TrimSuffix(reg.Pattern, "/")+"/")) {
			j.Segments = append(j.Segments, render.Segment{Kind: render.LayoutSegment, Path: reg.Pattern, Layout: reg.Layout.Render})
		}
		if reg.Page != nil && reg.Pattern == route {
			j.Segments = append(j.Segments, render.Segment{Kind: render.PageSegment, Path: reg.Pattern, Page: reg.Page.Render})
		}
	}
	data := fetchcache.New(fetchcache.Options{Fetcher: built.Fetcher})
	t.Cleanup(func() { data.Close() })
	j.Data = data
	return j
}

func TestRender(t *testing.T) {
	spec := shop()
	built := spec.Build(Options{Sleep: noSleep})
	res, err := render.Render(context.Background(), job(t, spec, built, "/products/[slug]", "/products/shoe", render.Params{"slug": "shoe"}, nil))
	if err != nil {
		t.Fatalf("Render error: %v", err)
	}
	want := `<div data-layout="/">
<pre data-fetch="/api/nav">{"url":"/api/nav","version":1}</pre>
<main data-page="/products/[slug]">
<p data-param="slug">shoe</p>
<pre data-fetch="/api/products/shoe">{"url":"/api/products/shoe","version":1}</pre>
</main>
</div>
`
	if diff := cmp.Diff(want, string(res.Body)); diff != "" {
		t.Errorf("Render body mismatch (-want +got):\n%s", diff)
	}
	wantFetches := []render.Fetch{
		// The root layout renders first, then its child.
		{Segment: `layout "/"`, URL: "/api/nav", Tags: []string{"nav"}},
		{Segment: `page "/products/[slug]"`, URL: "/api/products/shoe", Tags: []string{"products", "product-shoe"}},
	}
	if diff := cmp.Diff(wantFetches, res.Record.Fetches, cmpopts.IgnoreFields(render.Fetch{}, "Key", "Status", "Revalidate", "Declared", "Cache", "Uncached")); diff != "" {
		t.Errorf("Record.Fetches mismatch (-want +got):\n%s", diff)
	}
	wantReads := []render.Read{{Segment: `layout "/"`, API: regen.Cookies}}
	if diff := cmp.Diff(wantReads, res.Record.Reads); diff != "" {
		t.Errorf("Record.Reads mismatch (-want +got):\n%s", diff)
	}
	if got := built.Origin.Calls(); got != 2 {
		t.Errorf("origin calls = %d; want 2", got)
	}
}

func TestRenderReadsDeclaredAPIs(t *testing.T) {
	spec, err := Parse("site.yaml", []byte(`
segments:
  /:
    layout: {uses: [headers]}
  /search:
    page: {uses: [cookies, searchParams]}
`))
	if err != nil {
		t.Fatal(err)
	}
	built := spec.Build(Options{Sleep: noSleep})
	req := httptest.NewRequest("GET", "/search?q=hat", nil)
	res, err := render.Render(context.Background(), job(t, spec, built, "/search", "/search", render.Params{}, req))
	if err != nil {
		t.Fatalf("Render error: %v", err)
	}
	want := []render.Read{
		{Segment: `layout "/"`, API: regen.Headers},
		{Segment: `page "/search"`, API: regen.Cookies},
		{Segment: `page "/search"`, API: regen.SearchParams},
	}
	if diff := cmp.Diff(want, res.Record.Reads); diff != "" {
		t.Errorf("Record.Reads mismatch (-want +got):\n%s", diff)
	}
}

func TestRenderFetchFails(t *testing.T) {
	spec := shop()
	built := spec.Build(Options{Sleep: noSleep})
	built.Origin.SetStatus("/api/products/shoe", http.StatusInternalServerError)
	res, err := render.Render(context.Background(), job(t, spec, built, "/products/[slug]", "/products/shoe", render.Params{"slug": "shoe"}, nil))
	if err == nil {
		t.Fatalf("Render = %q, nil; want the fetch's error", res.Body)
	}
	var se *fetchcache.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusInternalServerError {
		t.Errorf("Render error = %v; want a *fetchcache.StatusError with status 500", err)
	}
}

func TestRenderCostAndLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec := shop() // layout: fetch /api/nav (30ms) and cost 2ms; page: fetch (30ms)
		built := spec.Build(Options{})
		j := job(t, spec, built, "/products/[slug]", "/products/shoe", render.Params{"slug": "shoe"}, nil)
		start := time.Now()
		if _, err := render.Render(context.Background(), j); err != nil {
			t.Fatalf("Render error: %v", err)
		}
		if got, want := time.Since(start), 62*time.Millisecond; got != want {
			t.Errorf("first render took %v; want %v", got, want)
		}
		start = time.Now()
		if _, err := render.Render(context.Background(), j); err != nil {
			t.Fatalf("Render error: %v", err)
		}
		if got, want := time.Since(start), 2*time.Millisecond; got != want {
			t.Errorf("second render took %v; want %v (fetches cached, cost spent)", got, want)
		}
	})
}

// TestEngine serves the example spec: the root layout reads cookies, so every
// route is dynamic, and the Data Cache still spares the origin until a
// publish and its tag's revalidation.
func TestEngine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spec, err := Load(filepath.Join("testdata", "shop.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		built := spec.Build(Options{})
		e, err := engine.New(built.Site, engine.Options{Fetcher: built.Fetcher})
		if err != nil {
			t.Fatalf("engine.New error: %v", err)
		}
		t.Cleanup(func() { e.Close() })

		var kinds []string
		for _, p := range e.Routes() {
			kinds = append(kinds, p.Route+" "+p.Kind.String())
		}
		wantKinds := []string{"/(marketing)/about dynamic", "/products/[slug] dynamic"}
		if diff := cmp.Diff(wantKinds, kinds); diff != "" {
			t.Errorf("route kinds mismatch (-want +got):\n%s", diff)
		}

		get := func(path string) (status, body string) {
			t.Helper()
			w := httptest.NewRecorder()
			e.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s = %d %s", path, w.Code, w.Body)
			}
			return w.Header().Get("X-Cache-Status"), w.Body.String()
		}
		version := func(body string) string {
			i := strings.Index(body, `"url":"/api/products/shoe","version":`)
			if i < 0 {
				t.Fatalf("body has no product fetch:\n%s", body)
			}
			return body[i+len(`"url":"/api/products/shoe","version":`) : i+len(`"url":"/api/products/shoe","version":`)+1]
		}

		status, body := get("/products/shoe")
		if status != "BYPASS" || version(body) != "1" {
			t.Errorf("first GET = %s, version %s; want BYPASS, version 1", status, version(body))
		}
		if !strings.HasPrefix(body, `<div data-layout="/">`) || !strings.Contains(body, `<main data-page="/products/[slug]">`) {
			t.Errorf("body = %q; want the page inside the root layout", body)
		}
		calls := built.Origin.Calls()
		get("/products/shoe")
		if got := built.Origin.Calls(); got != calls {
			t.Errorf("origin calls after a second GET = %d; want %d (the Data Cache answers)", got, calls)
		}

		built.Origin.Publish("products")
		if err := e.RevalidateTag(context.Background(), "products", regen.RevalidateExpire); err != nil {
			t.Fatal(err)
		}
		if _, body := get("/products/shoe"); version(body) != "2" {
			t.Errorf("GET after publishing = version %s; want 2", version(body))
		}
		if got := built.Origin.Calls(); got != calls+1 {
			t.Errorf("origin calls after publishing = %d; want %d (only the product refetched)", got, calls+1)
		}
	})
}

// TestSamePoliciesAsGo checks that a spec and the same site registered in
// Go code get the same policies from the engine.
func TestSamePoliciesAsGo(t *testing.T) {
	spec, err := Parse("site.yaml", []byte(`
segments:
  /shop:
    layout: {revalidate: 60, fetches: [{url: /api/nav, revalidate: 30, tags: [nav]}]}
  /shop/[slug]:
    page:
      revalidate: 3600
      dynamicParams: false
      staticParams: [{slug: shoe}, {slug: hat}]
      fetches: [{url: "/api/products/{slug}", tags: ["product-{slug}"]}]
  /account:
    page: {uses: [cookies]}
  /feed:
    page: {fetches: [{url: /api/feed, cache: no-store}]}
  /about:
    page: {revalidate: false}
  /catalog:
    layout: {dynamicParams: false}
  /catalog/[id]:
    page: {dynamicParams: true, staticParams: [{id: "1"}]}
  /catalog/[id]/reviews/[n]:
    page: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	nop := render.PageFunc(func(context.Context, *render.Scope, io.Writer) error { return nil })
	var site engine.Site
	site.Layout("/shop", engine.Layout{Revalidate: regen.Seconds(60), Fetches: []engine.Fetch{{URL: "/api/nav", Revalidate: regen.Seconds(30), Tags: []string{"nav"}}}})
	site.Page("/shop/[slug]", engine.Page{
		Revalidate: regen.Seconds(3600), Render: nop, StaticParamsOnly: true,
		StaticParams: []render.Params{{"slug": "shoe"}, {"slug": "hat"}},
		Fetches:      []engine.Fetch{{URL: "/api/products/{slug}", Tags: []string{"product-{slug}"}}},
	})
	site.Page("/account", engine.Page{Render: nop, Uses: []regen.API{regen.Cookies}})
	site.Page("/feed", engine.Page{Render: nop, Fetches: []engine.Fetch{{URL: "/api/feed", Cache: regen.NoStore}}})
	site.Page("/about", engine.Page{Revalidate: regen.Forever, Render: nop})
	site.Layout("/catalog", engine.Layout{StaticParamsOnly: true})
	site.Page("/catalog/[id]", engine.Page{Render: nop, StaticParams: []render.Params{{"id": "1"}}})
	site.Page("/catalog/[id]/reviews/[n]", engine.Page{Render: nop})

	routes := func(site *engine.Site) []engine.Policy {
		t.Helper()
		e, err := engine.New(site, engine.Options{})
		if err != nil {
			t.Fatalf("engine.New error: %v", err)
		}
		defer e.Close()
		return e.Routes()
	}
	fromSpec := routes(spec.Build(Options{Sleep: noSleep}).Site)
	if diff := cmp.Diff(routes(&site), fromSpec); diff != "" {
		t.Errorf("policies of the spec differ from Go's (-go +spec):\n%s", diff)
	}
	if len(fromSpec) != 6 {
		t.Errorf("engine has %d routes; want 6", len(fromSpec))
	}
	for _, p := range fromSpec {
		if want := p.Route != "/catalog/[id]" && p.Route != "/catalog/[id]/reviews/[n]" && p.Route != "/shop/[slug]"; p.DynamicParams != want {
			t.Errorf("Policy(%q).DynamicParams = %t; want %t", p.Route, p.DynamicParams, want)
		}
	}
}
