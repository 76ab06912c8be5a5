package bench

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/sitespec"
)

const handlerSite = `
segments:
  /:
    page: {}
  /about:
    page: {}
  /account:
    layout: {uses: [cookies]}
    page: {}
  /sitemap.xml:
    handler:
      revalidate: 3600
      fetches: [{url: /api/products, tags: [products]}]
  /me.json:
    handler: {uses: [cookies]}
`

// TestStrategyHandlers: a strategy rewrites a route handler as it does a
// page, but one that reads a request API keeps its declarations under SSG
// and ISR, and the rewrite leaves the spec alone.
func TestStrategyHandlers(t *testing.T) {
	spec, err := sitespec.Parse("site.yaml", []byte(handlerSite))
	if err != nil {
		t.Fatal(err)
	}
	type decl struct {
		Revalidate regen.Revalidate
		Dynamic    regen.Dynamic
		Uses       []regen.API
		Fetch      regen.CacheMode
	}
	tests := []struct {
		strategy      Strategy
		sitemap, user decl
	}{
		{Strategy{Kind: SSG}, decl{regen.Forever, regen.ForceStatic, nil, regen.CacheDefault}, decl{Uses: []regen.API{regen.Cookies}}},
		{Strategy{Kind: ISR, Interval: 60e9}, decl{regen.Seconds(60), regen.ForceStatic, nil, regen.CacheDefault}, decl{Uses: []regen.API{regen.Cookies}}},
		{Strategy{Kind: SSR}, decl{regen.NotDeclared, regen.ForceDynamic, nil, regen.NoStore}, decl{regen.NotDeclared, regen.ForceDynamic, []regen.API{regen.Cookies}, 0}},
		{Strategy{Kind: SSRData}, decl{regen.Seconds(3600), regen.DynamicNotDeclared, []regen.API{regen.Headers}, regen.CacheDefault}, decl{Uses: []regen.API{regen.Cookies, regen.Headers}}},
		{Strategy{Kind: Declared}, decl{Revalidate: regen.Seconds(3600), Fetch: regen.CacheDefault}, decl{Uses: []regen.API{regen.Cookies}}},
	}
	for _, tt := range tests {
		t.Run(tt.strategy.Name(), func(t *testing.T) {
			out := tt.strategy.apply(spec)
			get := func(s *sitespec.Spec, pattern string) decl {
				h := handler(s, pattern)
				d := decl{Revalidate: h.Revalidate, Dynamic: h.Dynamic, Uses: h.Uses}
				if len(h.Fetches) > 0 {
					d.Fetch = h.Fetches[0].Cache
				}
				return d
			}
			if diff := cmp.Diff(tt.sitemap, get(out, "/sitemap.xml")); diff != "" {
				t.Errorf("/sitemap.xml (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.user, get(out, "/me.json")); diff != "" {
				t.Errorf("/me.json (-want +got):\n%s", diff)
			}
			if h := handler(spec, "/sitemap.xml"); h.Revalidate != regen.Seconds(3600) || len(h.Uses) != 0 || h.Fetches[0].Cache != regen.CacheDefault {
				t.Errorf("the spec's handler after apply = %+v; want it unchanged", h)
			}
		})
	}
}

func handler(s *sitespec.Spec, pattern string) *sitespec.Handler {
	for _, seg := range s.Segments {
		if seg.Pattern == pattern {
			return seg.Handler
		}
	}
	return nil
}

// TestSitePathsLeaveOutHandlers: the default traffic requests pages, not
// route handlers (crawlers fetch a sitemap rarely), nor per-user pages.
func TestSitePathsLeaveOutHandlers(t *testing.T) {
	spec, err := sitespec.Parse("site.yaml", []byte(handlerSite))
	if err != nil {
		t.Fatal(err)
	}
	w := &Workload{Site: spec, Seed: 1}
	paths, err := sitePaths(w)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/", "/about"}, paths); diff != "" {
		t.Errorf("sitePaths (-want +got):\n%s", diff)
	}
}
