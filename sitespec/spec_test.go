package sitespec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
)

// shop is the example spec of docs/site-spec.md, as testdata/shop.yaml and
// testdata/shop.json hold it.
func shop() *Spec {
	yes := true
	return &Spec{
		Name:   "shop",
		Origin: OriginConfig{Latency: 30 * time.Millisecond},
		Segments: []Segment{
			{Pattern: "/", Layout: &Layout{
				Revalidate: regen.Seconds(3600),
				Dynamic:    regen.Auto,
				Uses:       []regen.API{regen.Cookies},
				Cost:       2 * time.Millisecond,
				Fetches: []Fetch{
					{URL: "/api/nav", Revalidate: regen.Seconds(300), Tags: []string{"nav"}, Cache: regen.CacheDefault},
				},
			}},
			{Pattern: "/products/[slug]", Page: &Page{
				Revalidate:    regen.Seconds(60),
				DynamicParams: &yes,
				StaticParams:  []render.Params{{"slug": "shoe"}, {"slug": "hat"}},
				Fetches: []Fetch{
					{URL: "/api/products/{slug}", Tags: []string{"products", "product-{slug}"}},
				},
			}},
			{Pattern: "/(marketing)/about", Page: &Page{}},
		},
	}
}

func TestLoadExample(t *testing.T) {
	for _, file := range []string{"shop.yaml", "shop.json"} {
		t.Run(file, func(t *testing.T) {
			got, err := Load(filepath.Join("testdata", file))
			if err != nil {
				t.Fatalf("Load(%q) error: %v", file, err)
			}
			if diff := cmp.Diff(shop(), got); diff != "" {
				t.Errorf("Load(%q) mismatch (-want +got):\n%s", file, diff)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error = %v; want one matching os.ErrNotExist", err)
	}
}

func ptr[T any](v T) *T { return &v }

// valueTests are valid specs, each with the segments Parse gives for it.
var valueTests = []struct {
	name string
	spec string
	want []Segment
}{
	{"revalidate values", `
segments:
  /a: {page: {revalidate: false}}
  /b: {page: {revalidate: 0}}
  /c: {page: {revalidate: 60}}
  /d: {page: {revalidate: 60.0}}
  /e: {page: {}}
  /f: {page: {revalidate: 0x10}}
  /g: {page: {revalidate: 9223372036}}
`, []Segment{
		{Pattern: "/a", Page: &Page{Revalidate: regen.Forever}},
		{Pattern: "/b", Page: &Page{Revalidate: regen.Never}},
		{Pattern: "/c", Page: &Page{Revalidate: regen.Seconds(60)}},
		{Pattern: "/d", Page: &Page{Revalidate: regen.Seconds(60)}},
		{Pattern: "/e", Page: &Page{}},
		{Pattern: "/f", Page: &Page{Revalidate: regen.Seconds(16)}},
		{Pattern: "/g", Page: &Page{Revalidate: regen.Seconds(9223372036)}},
	}},
	{"responses", `
segments:
  /old/[slug]:
    page:
      redirect: /blog/{slug}
      permanent: true
  /away: {page: {redirect: "https://example.com/?a=1&b=2", permanent: false}}
  /blog/[slug]:
    page:
      revalidate: 60
      notFound: [{slug: gone}]
      headers: {X-Robots-Tag: noindex, content-type: application/rss+xml}
  /c: {page: {headers: {}}}
`, []Segment{
		{Pattern: "/old/[slug]", Page: &Page{Redirect: "/blog/{slug}", Permanent: true}},
		{Pattern: "/away", Page: &Page{Redirect: "https://example.com/?a=1&b=2"}},
		{Pattern: "/blog/[slug]", Page: &Page{Revalidate: regen.Seconds(60), NotFound: []render.Params{{"slug": "gone"}},
			Headers: map[string]string{"X-Robots-Tag": "noindex", "content-type": "application/rss+xml"}}},
		{Pattern: "/c", Page: &Page{}},
	}},
	{"handlers", `
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
  /api/[id]:
    handler: {contentType: "application/json; charset=utf-8", staticParams: [{id: "1"}], dynamicParams: false, uses: [cookies], dynamic: auto, cost: 2ms}
  /robots.txt: {handler: {}}
  /shop:
    layout: {}
    handler: {}
`, []Segment{
		{Pattern: "/", Layout: &Layout{Revalidate: regen.Seconds(5)}, Page: &Page{}},
		{Pattern: "/feed.xml", Handler: &Handler{Revalidate: regen.Seconds(60), ContentType: "application/rss+xml",
			Fetches: []Fetch{{URL: "/api/posts", Tags: []string{"posts"}}}}},
		{Pattern: "/api/[id]", Handler: &Handler{ContentType: "application/json; charset=utf-8", StaticParams: []render.Params{{"id": "1"}},
			DynamicParams: ptr(false), Uses: []regen.API{regen.Cookies}, Dynamic: regen.Auto, Cost: 2 * time.Millisecond}},
		{Pattern: "/robots.txt", Handler: &Handler{}},
		{Pattern: "/shop", Layout: &Layout{}, Handler: &Handler{}},
	}},
	{"modes and APIs", `
segments:
  /:
    layout: {dynamic: force-dynamic, uses: [cookies, headers, searchParams]}
    page: {dynamic: error}
  /s: {page: {dynamic: force-static}}
  /t: {page: {dynamic: auto, uses: []}}
`, []Segment{
		{Pattern: "/", Layout: &Layout{Dynamic: regen.ForceDynamic, Uses: []regen.API{regen.Cookies, regen.Headers, regen.SearchParams}}, Page: &Page{Dynamic: regen.DynamicError}},
		{Pattern: "/s", Page: &Page{Dynamic: regen.ForceStatic}},
		{Pattern: "/t", Page: &Page{Dynamic: regen.Auto}},
	}},
	{"fetches", `
segments:
  /[lang]/docs/[...path]:
    page:
      fetches:
        - url: https://example.com/docs/{lang}/{path}
          cache: force-cache
        - url: /api/search?lang={lang}
          cache: no-store
          revalidate: 0
        - url: /api/feed
          revalidate: false
          tags: [feed, 2024, "{lang}-{path}"]
`, []Segment{
		{Pattern: "/[lang]/docs/[...path]", Page: &Page{Fetches: []Fetch{
			{URL: "https://example.com/docs/{lang}/{path}", Cache: regen.ForceCache},
			{URL: "/api/search?lang={lang}", Cache: regen.NoStore, Revalidate: regen.Never},
			{URL: "/api/feed", Revalidate: regen.Forever, Tags: []string{"feed", "2024", "{lang}-{path}"}},
		}}},
	}},
	{"durations", `
origin: {latency: 1.5s}
segments:
  /: {layout: {cost: 250us}, page: {cost: 0}}
`, []Segment{
		{Pattern: "/", Layout: &Layout{Cost: 250 * time.Microsecond}, Page: &Page{}},
	}},
	{"catch-all static params", `
segments:
  /docs/[...path]:
    page:
      dynamicParams: false
      staticParams:
        - {path: a}
        - {path: a/b}
        - {path: [a, b]}
  /shop/[[...path]]:
    page:
      staticParams: [{}, {path: ""}, {path: []}, {path: [x]}]
`, []Segment{
		{Pattern: "/docs/[...path]", Page: &Page{
			DynamicParams: ptr(false),
			StaticParams:  []render.Params{{"path": "a"}, {"path": "a/b"}, {"path": "a/b"}},
		}},
		{Pattern: "/shop/[[...path]]", Page: &Page{
			StaticParams: []render.Params{{}, {}, {}, {"path": "x"}},
		}},
	}},
	{"layout dynamicParams", `
segments:
  /shop:
    layout:
      dynamicParams: false   # applies to every dynamic route below it
  /shop/[slug]:
    layout: {dynamicParams: true}
    page: {dynamicParams: true, staticParams: [{slug: hat}]}
  /blog: {layout: {revalidate: 60, dynamicParams: true}}
`, []Segment{
		{Pattern: "/shop", Layout: &Layout{DynamicParams: ptr(false)}},
		{Pattern: "/shop/[slug]", Layout: &Layout{DynamicParams: ptr(true)}, Page: &Page{
			DynamicParams: ptr(true),
			StaticParams:  []render.Params{{"slug": "hat"}},
		}},
		{Pattern: "/blog", Layout: &Layout{Revalidate: regen.Seconds(60), DynamicParams: ptr(true)}},
	}},
	{"empty layout and page", `
segments:
  /:
    layout:
    page:
`, []Segment{
		{Pattern: "/", Layout: &Layout{}, Page: &Page{}},
	}},
	{"anchors, aliases and merge keys", `
segments:
  /a:
    page: &base
      revalidate: 60
      fetches: &nav [{url: /api/nav, tags: [nav]}]
  /b:
    page: *base
  /c:
    layout: {fetches: *nav}
    page:
      <<: *base
      revalidate: 30
`, []Segment{
		{Pattern: "/a", Page: &Page{Revalidate: regen.Seconds(60), Fetches: []Fetch{{URL: "/api/nav", Tags: []string{"nav"}}}}},
		{Pattern: "/b", Page: &Page{Revalidate: regen.Seconds(60), Fetches: []Fetch{{URL: "/api/nav", Tags: []string{"nav"}}}}},
		{Pattern: "/c",
			Layout: &Layout{Fetches: []Fetch{{URL: "/api/nav", Tags: []string{"nav"}}}},
			Page:   &Page{Revalidate: regen.Seconds(30), Fetches: []Fetch{{URL: "/api/nav", Tags: []string{"nav"}}}},
		},
	}},
	{"json", `{"segments": {"/": {"page": {"revalidate": false, "uses": ["headers"]}}}}`, []Segment{
		{Pattern: "/", Page: &Page{Revalidate: regen.Forever, Uses: []regen.API{regen.Headers}}},
	}},
}

func TestParseValues(t *testing.T) {
	for _, tt := range valueTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("site.yaml", []byte(tt.spec))
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Segments); diff != "" {
				t.Errorf("Parse segments mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Parse("site.yaml", []byte(tt.spec))
			if err == nil {
				t.Fatalf("Parse = %+v, nil; want errors", spec)
			}
			if spec != nil {
				t.Errorf("Parse = %+v with an error; want nil", spec)
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("Parse error mismatch (-want +got):\n%s", diff)
			}
			for _, e := range unjoin(err) {
				var se *Error
				if !errors.As(e, &se) {
					t.Errorf("Parse error %q is a %T; want an *Error", e, e)
				}
			}
		})
	}
}

// unjoin returns the errors joined in err.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestParseErrorFields(t *testing.T) {
	spec := `
segments:
  /:
    page:
      revalidate: -1
      fetches:
        - url: /api/a
          tags: [""]
`
	_, err := Parse("site.yaml", []byte(spec))
	errs := unjoin(err)
	if len(errs) != 2 {
		t.Fatalf("Parse gave %d errors; want 2: %v", len(errs), err)
	}
	var first *Error
	if !errors.As(errs[0], &first) {
		t.Fatalf("errors.As(%v, *Error) = false", errs[0])
	}
	want := &Error{File: "site.yaml", Line: 5, Segment: "/", Field: "page.revalidate"}
	if diff := cmp.Diff(want, first, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Err" }, cmp.Ignore())); diff != "" {
		t.Errorf("first error mismatch (-want +got):\n%s", diff)
	}
	if errors.Is(errs[0], regen.ErrTag) {
		t.Errorf("errors.Is(%v, regen.ErrTag) = true; want false", errs[0])
	}
	if !errors.Is(errs[1], regen.ErrTag) {
		t.Errorf("errors.Is(%v, regen.ErrTag) = false; want true", errs[1])
	}
	if !errors.Is(err, regen.ErrTag) {
		t.Errorf("errors.Is(joined, regen.ErrTag) = false; want true")
	}
}

func TestErrorWithoutFile(t *testing.T) {
	_, err := Parse("", []byte("segments:\n  /: {page: {revalidate: -1}}\n"))
	want := `line 2: segment "/": page.revalidate: -1 is negative (must be false, 0 or a positive number of seconds)`
	if err == nil || err.Error() != want {
		t.Errorf("Parse(\"\", ...) error = %v; want %s", err, want)
	}
}

const shopFormatted = `name: shop
origin:
  latency: 30ms
segments:
  /:
    layout:
      revalidate: 3600
      dynamic: auto
      uses: [cookies]
      cost: 2ms
      fetches:
        - url: /api/nav
          revalidate: 300
          tags: [nav]
  /products/[slug]:
    page:
      revalidate: 60
      dynamicParams: true
      staticParams: [{slug: shoe}, {slug: hat}]
      fetches:
        - url: /api/products/{slug}
          tags: [products, 'product-{slug}']
  /(marketing)/about:
    page: {}
`

func TestFormat(t *testing.T) {
	got, err := shop().Format()
	if err != nil {
		t.Fatalf("Format error: %v", err)
	}
	if diff := cmp.Diff(shopFormatted, string(got)); diff != "" {
		t.Errorf("Format mismatch (-want +got):\n%s", diff)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	specs := map[string]string{}
	for _, tt := range valueTests {
		specs[tt.name] = tt.spec
	}
	data, err := os.ReadFile(filepath.Join("testdata", "shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	specs["shop"] = string(data)
	specs["quoting"] = `
name: "yes"
segments:
  "<<": {page: {}}
  "/~": {page: {fetches: [{url: "/a?b=#c", tags: ["true", "1.5", "null", "- x", "a: b", "line\nbreak"]}]}}
  /[p]: {page: {staticParams: [{p: "0"}, {p: "null"}, {p: "~"}]}}
`
	for name, src := range specs {
		t.Run(name, func(t *testing.T) {
			spec, err := Parse("in.yaml", []byte(src))
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			out, err := spec.Format()
			if err != nil {
				t.Fatalf("Format error: %v", err)
			}
			again, err := Parse("out.yaml", out)
			if err != nil {
				t.Fatalf("Parse(Format()) error: %v\n%s", err, out)
			}
			if diff := cmp.Diff(spec, again); diff != "" {
				t.Errorf("Parse(Format()) mismatch (-want +got):\n%s\n%s", diff, out)
			}
		})
	}
}

func TestFormatErrors(t *testing.T) {
	spec := &Spec{
		Origin: OriginConfig{Latency: -time.Second},
		Segments: []Segment{
			{Pattern: "/", Page: &Page{
				Revalidate: regen.Seconds(-5),
				Dynamic:    9,
				Uses:       []regen.API{0},
				Fetches:    []Fetch{{URL: "/a", Cache: 7, Revalidate: regen.Seconds(1 << 40)}},
			}},
		},
	}
	_, err := spec.Format()
	want := []string{
		`origin.latency: -1s is negative (must be 0 or more)`,
		`segment "/": page.revalidate: revalidate -5 (must be false, 0 or a positive number of seconds)`,
		`segment "/": page.dynamic: unknown dynamic mode 9 (must be auto, force-dynamic, force-static or error)`,
		`segment "/": page.uses[0]: unknown dynamic API 0 (must be regen.Cookies, Headers or SearchParams)`,
		`segment "/": page.fetches[0].revalidate: revalidate 1099511627776 is too large (at most 9223372036 seconds; use regen.Forever)`,
		`segment "/": page.fetches[0].cache: unknown cache mode 7 (must be regen.CacheDefault, ForceCache or NoStore)`,
	}
	if err == nil {
		t.Fatal("Format error = nil; want errors")
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("Format error mismatch (-want +got):\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	for _, tt := range valueTests {
		f.Add([]byte(tt.spec))
	}
	for _, tt := range errorTests {
		f.Add([]byte(tt.spec))
	}
	for _, file := range []string{"shop.yaml", "shop.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(lifeSpec)) // cache profiles: cachelife_test.go
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := Parse("fuzz.yaml", data)
		if err != nil {
			if spec != nil {
				t.Errorf("Parse returned a spec and an error: %v", err)
			}
			for _, e := range unjoin(err) {
				var se *Error
				if !errors.As(e, &se) || se.File != "fuzz.yaml" {
					t.Errorf("Parse error %q (%T) is not an *Error naming the file", e, e)
				}
			}
			return
		}
		out, err := spec.Format()
		if err != nil {
			t.Fatalf("Format of a parsed spec: %v", err)
		}
		again, err := Parse("formatted.yaml", out)
		if err != nil {
			t.Fatalf("Parse(Format()) error: %v\n%s", err, out)
		}
		if diff := cmp.Diff(spec, again); diff != "" {
			t.Errorf("Parse(Format()) mismatch (-want +got):\n%s\n%s", diff, out)
		}
	})
}
