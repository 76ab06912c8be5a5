package engine

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
)

var nopPage = render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
	_, err := io.WriteString(w, "page")
	return err
})

// policyOf compiles a site and returns the policy of route.
func policyOf(t *testing.T, site *Site, route string) Policy {
	t.Helper()
	e, err := New(site, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	p, ok := e.Policy(route)
	if !ok {
		t.Fatalf("Policy(%q) not found", route)
	}
	return p
}

// TestPolicy checks rules 1-4, 6 and 8 on declared configurations.
func TestPolicy(t *testing.T) {
	tests := []struct {
		name  string
		build func(s *Site)
		route string
		want  Policy
	}{
		{
			name: "nothing declared is static",
			build: func(s *Site) {
				s.Page("/about", Page{Render: nopPage})
			},
			route: "/about",
			want: Policy{Kind: Static, Revalidate: regen.Forever, Mode: regen.Auto, DynamicParams: true, Prerender: []string{"/about"},
				Reasons: []string{"static: no revalidate declared (cached until revalidated on demand)"}},
		},
		{
			name: "a layout's 60 beats its page's 3600",
			build: func(s *Site) {
				s.Layout("/shop", Layout{Revalidate: sec(60)})
				s.Page("/shop/[slug]", Page{Revalidate: sec(3600), Render: nopPage, StaticParams: []render.Params{{"slug": "shoe"}, {"slug": "hat"}}})
			},
			route: "/shop/[slug]",
			want: Policy{Kind: ISR, Revalidate: sec(60), Mode: regen.Auto, DynamicParams: true, Prerender: []string{"/shop/hat", "/shop/shoe"},
				Reasons: []string{"revalidate 60 from layout /shop"}},
		},
		{
			name: "a page's revalidate",
			build: func(s *Site) {
				s.Page("/products/[slug]", Page{Revalidate: sec(60), Render: nopPage, StaticParams: []render.Params{{"slug": "shoe"}, {"slug": "hat"}}})
			},
			route: "/products/[slug]",
			want: Policy{Kind: ISR, Revalidate: sec(60), Mode: regen.Auto, DynamicParams: true, Prerender: []string{"/products/hat", "/products/shoe"},
				Reasons: []string{"revalidate 60 from page /products/[slug]"}},
		},
		{
			name: "false counts as infinity",
			build: func(s *Site) {
				s.Layout("/", Layout{Revalidate: regen.Forever})
				s.Page("/news", Page{Revalidate: sec(300), Render: nopPage})
			},
			route: "/news",
			want: Policy{Kind: ISR, Revalidate: sec(300), Mode: regen.Auto, DynamicParams: true, Prerender: []string{"/news"},
				Reasons: []string{"revalidate 300 from page /news"}},
		},
		{
			name: "revalidate false everywhere is static",
			build: func(s *Site) {
				s.Layout("/", Layout{Revalidate: regen.Forever})
				s.Page("/", Page{Render: nopPage})
			},
			route: "/",
			want: Policy{Kind: Static, Revalidate: regen.Forever, Mode: regen.Auto, DynamicParams: true, Prerender: []string{"/"},
				Reasons: []string{"revalidate false from layout /"}},
		},
		{
			name: "a fetch with revalidate 30 lowers a page's 3600",
			build: func(s *Site) {
				s.Page("/p", Page{Revalidate: sec(3600), Render: nopPage, Fetches: []Fetch{{URL: "/api/x", Revalidate: sec(30)}}})
			},
			route: "/p",
			want: Policy{Kind: ISR, Revalidate: sec(30), Mode: regen.Auto, DynamicParams: true, Prerender: []string{"/p"},
				Reasons: []string{"revalidate 30 from fetch /api/x in page /p"}},
		},
		{
			name: "a layout reading cookies makes every page under it dynamic",
			build: func(s *Site) {
				s.Layout("/", Layout{Uses: []regen.API{regen.Cookies}})
				s.Page("/p", Page{Revalidate: sec(3600), Render: nopPage})
			},
			route: "/p",
			want: Policy{Kind: Dynamic, Revalidate: regen.Never, Mode: regen.Auto, DynamicParams: true,
				Reasons: []string{"dynamic because layout / reads cookies"}},
		},
		{
			name: "a no-store fetch makes an auto route dynamic",
			build: func(s *Site) {
				s.Page("/p", Page{Render: nopPage, Fetches: []Fetch{{URL: "/api/cart", Cache: regen.NoStore}}})
			},
			route: "/p",
			want: Policy{Kind: Dynamic, Revalidate: regen.Never, Mode: regen.Auto, DynamicParams: true,
				Reasons: []string{"dynamic because page /p fetches /api/cart with no-store"}},
		},
		{
			name: "a fetch with revalidate 0 makes an auto route dynamic",
			build: func(s *Site) {
				s.Page("/p", Page{Render: nopPage, Fetches: []Fetch{{URL: "/api/cart", Revalidate: regen.Never}}})
			},
			route: "/p",
			want: Policy{Kind: Dynamic, Revalidate: regen.Never, Mode: regen.Auto, DynamicParams: true,
				Reasons: []string{"dynamic because page /p fetches /api/cart with revalidate 0"}},
		},
		{
			name: "revalidate 0 on a page is dynamic",
			build: func(s *Site) {
				s.Page("/p", Page{Revalidate: regen.Never, Render: nopPage})
			},
			route: "/p",
			want: Policy{Kind: Dynamic, Revalidate: regen.Never, Mode: regen.Auto, DynamicParams: true,
				Reasons: []string{"dynamic because page /p declares revalidate 0"}},
		},
		{
			name: "force-dynamic on a layout cannot be undone by its page",
			build: func(s *Site) {
				s.Layout("/app", Layout{Dynamic: regen.ForceDynamic})
				s.Page("/app/p", Page{Dynamic: regen.ForceStatic, Revalidate: sec(60), Render: nopPage})
			},
			route: "/app/p",
			want: Policy{Kind: Dynamic, Revalidate: regen.Never, Mode: regen.ForceDynamic, DynamicParams: true,
				Reasons: []string{"dynamic because layout /app declares dynamic force-dynamic"}},
		},
		{
			name: "force-static ignores dynamic API reads and no-store fetches",
			build: func(s *Site) {
				s.Page("/p", Page{Dynamic: regen.ForceStatic, Render: nopPage, Uses: []regen.API{regen.Cookies},
					Fetches: []Fetch{{URL: "/api/x", Cache: regen.NoStore}}})
			},
			route: "/p",
			want: Policy{Kind: Static, Revalidate: regen.Forever, Mode: regen.ForceStatic, DynamicParams: true, Prerender: []string{"/p"},
				Reasons: []string{"static: no revalidate declared (cached until revalidated on demand)", "force-static from page /p (dynamic APIs return empty values)"}},
		},
		{
			name: "the deepest declared mode wins",
			build: func(s *Site) {
				s.Layout("/", Layout{Dynamic: regen.ForceStatic})
				s.Page("/p", Page{Dynamic: regen.Auto, Render: nopPage, Uses: []regen.API{regen.Headers}})
			},
			route: "/p",
			want: Policy{Kind: Dynamic, Revalidate: regen.Never, Mode: regen.Auto, DynamicParams: true,
				Reasons: []string{"dynamic because page /p reads headers"}},
		},
		{
			name: "dynamicParams false",
			build: func(s *Site) {
				s.Page("/docs/[...path]", Page{Render: nopPage, StaticParamsOnly: true, StaticParams: []render.Params{{"path": "a/b"}, {"path": "a"}}})
			},
			route: "/docs/[...path]",
			want: Policy{Kind: Static, Revalidate: regen.Forever, Mode: regen.Auto, DynamicParams: false, Prerender: []string{"/docs/a", "/docs/a/b"},
				Reasons: []string{"static: no revalidate declared (cached until revalidated on demand)"}},
		},
		{
			name: "a layout's dynamicParams false applies to the dynamic routes below it",
			build: func(s *Site) {
				s.Layout("/shop", Layout{StaticParamsOnly: true})
				s.Page("/shop/[slug]", Page{Render: nopPage, Revalidate: sec(60), StaticParams: []render.Params{{"slug": "hat"}}})
			},
			route: "/shop/[slug]",
			want: Policy{Kind: ISR, Revalidate: sec(60), Mode: regen.Auto, DynamicParams: false, Prerender: []string{"/shop/hat"},
				Reasons: []string{"revalidate 60 from page /shop/[slug]"}},
		},
		{
			name: "a layout's dynamicParams false reaches past layouts that do not declare it",
			build: func(s *Site) {
				s.Layout("/", Layout{StaticParamsOnly: true})
				s.Layout("/shop", Layout{Revalidate: sec(30)})
				s.Page("/shop/[slug]/reviews/[id]", Page{Render: nopPage})
			},
			route: "/shop/[slug]/reviews/[id]",
			want: Policy{Kind: ISR, Revalidate: sec(30), Mode: regen.Auto, DynamicParams: false,
				Reasons: []string{"revalidate 30 from layout /shop"}},
		},
		{
			name: "a layout's dynamicParams false stays in its route group",
			build: func(s *Site) {
				s.Layout("/(closed)", Layout{StaticParamsOnly: true})
				s.Page("/(closed)/a/[id]", Page{Render: nopPage})
				s.Page("/(open)/b/[id]", Page{Render: nopPage})
			},
			route: "/(open)/b/[id]",
			want: Policy{Kind: Static, Revalidate: regen.Forever, Mode: regen.Auto, DynamicParams: true,
				Reasons: []string{"static: no revalidate declared (cached until revalidated on demand)"}},
		},
		{
			name:  "a route group scopes its layout's config to its own pages: inside",
			build: groupSite,
			route: "/(shop)/cart",
			want: Policy{Kind: ISR, Revalidate: sec(60), Mode: regen.Auto, DynamicParams: true, Prerender: []string{"/cart"},
				Reasons: []string{"revalidate 60 from layout /(shop)"}},
		},
		{
			name:  "a route group scopes its layout's config to its own pages: outside",
			build: groupSite,
			route: "/(marketing)/about",
			want: Policy{Kind: Static, Revalidate: regen.Forever, Mode: regen.Auto, DynamicParams: true, Prerender: []string{"/about"},
				Reasons: []string{"static: no revalidate declared (cached until revalidated on demand)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var site Site
			tt.build(&site)
			got := policyOf(t, &site, tt.route)
			tt.want.Route = tt.route
			tt.want.Expire = DefaultExpire
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Policy(%q) mismatch (-want +got):\n%s", tt.route, diff)
			}
		})
	}
}

func groupSite(s *Site) {
	s.Layout("/", Layout{Render: wrap("html")})
	s.Layout("/(shop)", Layout{Revalidate: sec(60)})
	s.Page("/(shop)/cart", Page{Render: nopPage})
	s.Page("/(marketing)/about", Page{Render: nopPage})
}

// TestConfigErrors checks that bad configurations are reported at New, all
// of them, each naming the route, the segment, the field and the fix.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(s *Site)
		rule  error
		want  []string // every message, in order
	}{
		{
			name: "negative revalidate",
			build: func(s *Site) {
				s.Layout("/blog", Layout{Revalidate: regen.Seconds(-5)})
				s.Page("/blog/[slug]", Page{Render: nopPage})
			},
			rule: ErrRevalidate,
			want: []string{`engine: route "/blog/[slug]": layout /blog: revalidate -5 (must be false, 0 or a positive number of seconds)`},
		},
		{
			name: "unknown dynamic mode",
			build: func(s *Site) {
				s.Page("/p", Page{Render: nopPage, Dynamic: 9})
			},
			rule: ErrDynamic,
			want: []string{`engine: route "/p": page /p: unknown dynamic mode 9 (must be auto, force-dynamic, force-static or error)`},
		},
		{
			name: "fetch without a URL",
			build: func(s *Site) {
				s.Page("/p", Page{Render: nopPage, Fetches: []Fetch{{}}})
			},
			rule: ErrFetch,
			want: []string{`engine: route "/p": page /p: fetch has no URL (set Fetch.URL)`},
		},
		{
			name: "unknown cache mode",
			build: func(s *Site) {
				s.Page("/p", Page{Render: nopPage, Fetches: []Fetch{{URL: "/x", Cache: 9}}})
			},
			rule: ErrFetch,
			want: []string{`engine: route "/p": page /p: unknown cache mode 9 (use default, force-cache or no-store)`},
		},
		{
			name: "duplicate layout",
			build: func(s *Site) {
				s.Layout("/", Layout{})
				s.Layout("/", Layout{})
				s.Page("/p", Page{Render: nopPage})
			},
			rule: ErrConflict,
			want: []string{`engine: route "/": layout /: layout registered twice (register one layout per segment)`},
		},
		{
			name: "duplicate page",
			build: func(s *Site) {
				s.Page("/p", Page{Render: nopPage})
				s.Page("/p", Page{Render: nopPage})
			},
			rule: ErrConflict,
			want: []string{`engine: route "/p": page /p: page registered twice (register one page per segment)`},
		},
		{
			name: "two groups resolving to one path",
			build: func(s *Site) {
				s.Page("/(a)/about", Page{Render: nopPage})
				s.Page("/(b)/about", Page{Render: nopPage})
			},
			rule: ErrConflict,
			want: []string{`engine: route "/(b)/about": conflicts with route "/(a)/about": both match "/about" (two routes cannot resolve to the same path)`},
		},
		{
			name: "different param names at one position",
			build: func(s *Site) {
				s.Page("/blog/[slug]", Page{Render: nopPage})
				s.Page("/blog/[id]/comments", Page{Render: nopPage})
			},
			rule: ErrConflict,
			want: []string{`engine: route "/blog/[id]/comments": conflicts with route "/blog/[slug]": param "id" and "slug" at the same position (use one name for the same dynamic path)`},
		},
		{
			name: "optional catch-all beside its parent page",
			build: func(s *Site) {
				s.Page("/docs", Page{Render: nopPage})
				s.Page("/docs/[[...path]]", Page{Render: nopPage})
			},
			rule: ErrConflict,
			want: []string{`engine: route "/docs/[[...path]]": conflicts with route "/docs": both match "/docs" (an optional catch-all also matches its parent path)`},
		},
		{
			name: "catch-all not last",
			build: func(s *Site) {
				s.Page("/docs/[...path]/edit", Page{Render: nopPage})
			},
			rule: ErrPattern,
			want: []string{`engine: route "/docs/[...path]/edit": page /docs/[...path]/edit: catch-all "[...path]" must be the last segment`},
		},
		{
			name: "two params with one name",
			build: func(s *Site) {
				s.Page("/[id]/x/[id]", Page{Render: nopPage})
			},
			rule: ErrPattern,
			want: []string{`engine: route "/[id]/x/[id]": page /[id]/x/[id]: param "id" appears twice (give each param its own name)`},
		},
		{
			name: "static params missing a param",
			build: func(s *Site) {
				s.Page("/[lang]/[slug]", Page{Render: nopPage, StaticParams: []render.Params{{"lang": "en", "slug": "a"}, {"lang": "fr"}}})
			},
			rule: ErrStaticParams,
			want: []string{`engine: route "/[lang]/[slug]": page /[lang]/[slug]: missing param "slug" (every entry needs a value for each of "lang", "slug")`},
		},
		{
			name: "tags over the limit",
			build: func(s *Site) {
				s.Page("/p", Page{Render: nopPage, Fetches: []Fetch{{URL: "/x", Tags: []string{strings.Repeat("t", 300)}}}})
			},
			rule: regen.ErrTag,
			want: []string{`engine: route "/p": page /p: regen: tag limit exceeded: tag "tttttttttttttttttttttttttttttttt"... is 300 bytes (at most 256) (use fewer or shorter tags)`},
		},
		{
			name: "dynamic error with a declared cookie read",
			build: func(s *Site) {
				s.Layout("/", Layout{Uses: []regen.API{regen.Cookies}})
				s.Page("/p", Page{Dynamic: regen.DynamicError, Render: nopPage})
			},
			rule: ErrDynamicError,
			want: []string{`engine: route "/p": layout /: dynamic = "error" but the render reads cookies (remove the read, or declare force-static or force-dynamic)`},
		},
		{
			name: "missing renderer and a bad pattern, reported together",
			build: func(s *Site) {
				s.Page("/a", Page{})
				s.Page("blog", Page{Render: nopPage})
				s.Page("/b/[1x]", Page{Render: nopPage})
			},
			rule: ErrRender,
			want: []string{
				`engine: route "blog": page blog: pattern must start with "/"`,
				`engine: route "/b/[1x]": page /b/[1x]: bad param name in "[1x]" (use letters, digits, _ and -, not starting with a digit)`,
				`engine: route "/a": page /a: page has no Render (set Page.Render)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var site Site
			tt.build(&site)
			e, err := New(&site, Options{})
			if err == nil {
				e.Close()
				t.Fatalf("New() error = nil; want %v", tt.rule)
			}
			if !errors.Is(err, tt.rule) {
				t.Errorf("New() error = %v; want errors.Is %v", err, tt.rule)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("New() error = %T; want a *ConfigError", err)
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("New() error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
