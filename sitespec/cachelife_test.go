package sitespec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
)

const lifeSpec = `
cacheLife:
  editorial: {stale: 300, revalidate: 600, expire: 86400}
segments:
  /news:
    page:
      cacheLife: hours               # instead of revalidate
      fetches:
        - {url: /api/news, cacheLife: minutes}
  /blog:
    layout:
      cacheLife: editorial
  /blog/[slug]:
    page: {}
  /feed.xml:
    handler:
      cacheLife: days
`

// TestCacheLifeSpec: the spec's cacheLife map and fields decode, format
// back, and give the engine's routes the profiles' revalidate and expire.
func TestCacheLifeSpec(t *testing.T) {
	spec, err := Parse("site.yaml", []byte(lifeSpec))
	if err != nil {
		t.Fatal(err)
	}
	wantLives := map[string]regen.CacheLife{"editorial": {Stale: 300 * time.Second, Revalidate: regen.Seconds(600), Expire: 86400 * time.Second}}
	if diff := cmp.Diff(wantLives, spec.CacheLife); diff != "" {
		t.Errorf("CacheLife mismatch (-want +got):\n%s", diff)
	}
	wantSegs := []Segment{
		{Pattern: "/news", Page: &Page{CacheLife: "hours", Fetches: []Fetch{{URL: "/api/news", CacheLife: "minutes"}}}},
		{Pattern: "/blog", Layout: &Layout{CacheLife: "editorial"}},
		{Pattern: "/blog/[slug]", Page: &Page{}},
		{Pattern: "/feed.xml", Handler: &Handler{CacheLife: "days"}},
	}
	if diff := cmp.Diff(wantSegs, spec.Segments); diff != "" {
		t.Errorf("Segments mismatch (-want +got):\n%s", diff)
	}
	out, err := spec.Format()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("out.yaml", out)
	if err != nil {
		t.Fatalf("Parse(Format()) error: %v\n%s", err, out)
	}
	if diff := cmp.Diff(spec, again); diff != "" {
		t.Errorf("Parse(Format()) mismatch (-want +got):\n%s\n%s", diff, out)
	}

	built := spec.Build(Options{})
	e, err := engine.New(built.Site, engine.Options{Fetcher: built.Fetcher})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	var got []string
	for _, p := range e.Routes() {
		got = append(got, p.Route+" "+p.Kind.String()+" "+p.Revalidate.String()+" "+p.Expire.String())
	}
	want := []string{
		"/blog/[slug] isr 600 24h0m0s",
		"/feed.xml isr 86400 168h0m0s",
		"/news isr 60 1h0m0s",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routes mismatch (-want +got):\n%s", diff)
	}
}

// TestCacheLifeSpecErrors: each mistake is reported at its line, naming
// the field and the fix.
func TestCacheLifeSpecErrors(t *testing.T) {
	tests := []struct {
		name, spec string
		want       []string
	}{
		{"both on a page", `
segments:
  /news:
    page:
      revalidate: 60
      cacheLife: hours
`, []string{`site.yaml:6: segment "/news": page.cacheLife: revalidate 60 and cacheLife hours both declared (give one: the profile sets the revalidate)`}},
		{"both on a fetch", `
segments:
  /news:
    page:
      fetches:
        - {url: /api/news, revalidate: 5, cacheLife: minutes}
`, []string{`site.yaml:6: segment "/news": page.fetches[0].cacheLife: revalidate 5 and cacheLife minutes both declared (give one: the profile sets the revalidate)`}},
		{"unknown, did you mean", `
segments:
  /news:
    layout: {cacheLife: hour}
`, []string{`site.yaml:4: segment "/news": layout.cacheLife: unknown cache profile "hour" (did you mean hours? known: days, default, hours, max, minutes, seconds, weeks)`}},
		{"unknown, with the spec's own", `
cacheLife:
  editorial: {revalidate: 600}
segments:
  /feed.xml:
    handler: {cacheLife: newsroom}
`, []string{`site.yaml:6: segment "/feed.xml": handler.cacheLife: unknown cache profile "newsroom" (known: days, default, editorial, hours, max, minutes, seconds, weeks; or define it under cacheLife)`}},
		{"bad profiles", `
cacheLife:
  slow: {revalidate: 600, expire: 60}
  none: {stale: 30}
  zero: {revalidate: 0}
  odd: {revalidate: 60, expire: 1.5, ttl: 3}
  "a b": {revalidate: 60}
segments:
  /: {page: {}}
`, []string{
			`site.yaml:3: cacheLife.slow: revalidate 600 is not below expire 60 (lower revalidate or raise expire)`,
			`site.yaml:4: cacheLife.none: no revalidate (a profile needs one, like revalidate: 600)`,
			`site.yaml:5: cacheLife.zero.revalidate: 0 is not a profile's revalidate (a profile caches: give a positive number of seconds or false; for no caching declare revalidate: 0 on the segment)`,
			`site.yaml:6: cacheLife.odd.expire: 1.5 is not a number of seconds (give a whole number more than 0, like 3600)`,
			`site.yaml:6: cacheLife.odd.ttl: unknown field (a cache profile has stale, revalidate and expire)`,
			`site.yaml:7: cacheLife.a b: cache profile name "a b" (must be letters, digits, - and _, starting with a letter, at most 64 bytes)`,
		}},
		{"no-store", `
segments:
  /:
    page:
      fetches:
        - {url: /a, cacheLife: hours, cache: no-store}
`, []string{`site.yaml:6: segment "/": page.fetches[0].cache: no-store conflicts with cacheLife hours (give one of them)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("site.yaml", []byte(tt.spec))
			if err == nil {
				t.Fatal("Parse = nil error")
			}
			var se *Error
			if !errors.As(err, &se) || se.Line == 0 {
				t.Errorf("Parse error %v has no line", err)
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("Parse error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
