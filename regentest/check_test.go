package regentest_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/regentest"
	"github.com/regen-dev/regen/render"
)

// fetching renders the bodies of its fetches.
func fetching(reqs ...fetchcache.Request) render.Page {
	return render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		for _, r := range reqs {
			r.URL = strings.ReplaceAll(r.URL, "{slug}", s.Param("slug"))
			res, err := s.Fetch(ctx, &r)
			if err != nil {
				return err
			}
			w.Write(res.Body)
		}
		return nil
	})
}

func TestCheckDeclarations(t *testing.T) {
	var site engine.Site
	site.Layout("/shop", engine.Layout{Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		theme, _ := s.Cookie("theme") // not declared in Uses
		fmt.Fprintf(w, "%s ", theme)
		return child.Render(ctx, w)
	})})
	// Declared: the product fetch. Not declared: the stock fetch's revalidate 30.
	site.Page("/shop/[slug]", engine.Page{Revalidate: regen.Seconds(300),
		Fetches: []engine.Fetch{{URL: "/api/products/{slug}"}},
		Render: fetching(fetchcache.Request{URL: "/api/products/{slug}"},
			fetchcache.Request{URL: "/api/stock/{slug}", Revalidate: regen.Seconds(30)})})
	// Everything declared.
	site.Page("/about", engine.Page{Revalidate: regen.Seconds(60),
		Fetches: []engine.Fetch{{URL: "/api/about", Tags: []string{"about"}}},
		Render:  fetching(fetchcache.Request{URL: "/api/about", Tags: []string{"about"}})})
	// Params and no static params: needs a path.
	site.Page("/blog/[slug]", engine.Page{Render: fetching()})

	got := regentest.CheckDeclarations(t, &site, regentest.CheckOptions{
		Options: regentest.Options{Engine: engine.Options{Logger: quiet}},
		Paths:   map[string]string{"/shop/[slug]": "/shop/shoe"},
	})
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	want := []string{
		"route /blog/[slug]: not rendered: the route has params and no static params (give a path for it in CheckOptions.Paths)",
		"route /shop/[slug] (GET /shop/shoe): layout /shop reads cookies (add regen.Cookies to the Uses of layout /shop)",
		"route /shop/[slug] (GET /shop/shoe): the render fetched /api/stock/shoe, which no declaration lists (add it to the Fetches of the layout or page that makes it, {param} for its params)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestCheckRevalidate: a fetch whose revalidate lowers an ISR route's is
// named with the Revalidate to declare.
func TestCheckRevalidate(t *testing.T) {
	var site engine.Site
	site.Page("/p", engine.Page{Revalidate: regen.Seconds(300),
		Render: fetching(fetchcache.Request{URL: "/api/p", Revalidate: regen.Seconds(30)})})
	rt := &recordT{TB: t}
	regentest.ExpectDeclared(rt, &site, regentest.CheckOptions{})
	want := []string{
		"route /p (GET /p): the render fetched /api/p with revalidate 30, lowering the route's (list the fetch in the Fetches of page /p with Revalidate: regen.Seconds(30))",
		"route /p (GET /p): the render fetched /api/p, which no declaration lists (add it to the Fetches of the layout or page that makes it, {param} for its params)",
	}
	if strings.Join(rt.errs, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(rt.errs, "\n"), strings.Join(want, "\n"))
	}
}
