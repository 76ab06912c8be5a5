package engine

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen/render"
)

// TestLayoutStaticParamsOnly: a layout's StaticParamsOnly (Next.js's
// `dynamicParams = false` in a layout) applies to every dynamic route below
// it: params not in the route's static params answer 404 without
// rendering, and a route below with no static params answers 404 for every
// path. Routes without params below it, and routes outside it, are served
// as before.
func TestLayoutStaticParamsOnly(t *testing.T) {
	var product, review, cart, post, beta counter
	var site Site
	site.Layout("/", Layout{Render: wrap("html")})
	site.Layout("/shop", Layout{StaticParamsOnly: true, Render: wrap("shop")})
	site.Page("/shop/cart", Page{Render: fetchPage("cart", &cart)})
	site.Page("/shop/[slug]", Page{StaticParams: []render.Params{{"slug": "hat"}}, Render: fetchPage("product", &product)})
	site.Page("/shop/[slug]/reviews/[id]", Page{Render: fetchPage("review", &review)})
	site.Page("/blog/[slug]", Page{Render: fetchPage("post", &post)})
	site.Layout("/(beta)", Layout{StaticParamsOnly: true})
	site.Page("/(beta)/beta/[id]", Page{StaticParams: []render.Params{{"id": "1"}}, Render: fetchPage("beta", &beta)})
	e := newEngine(t, &site, Options{})

	tests := []struct {
		path   string
		code   int
		status string
		body   string // checked when code is 200
	}{
		{"/shop/hat", http.StatusOK, "MISS", "<html><shop>product n=1</shop></html>"},
		{"/shop/hat", http.StatusOK, "HIT", "<html><shop>product n=1</shop></html>"},
		{"/shop/shoe", http.StatusNotFound, "BYPASS", ""},
		{"/shop/hat/reviews/1", http.StatusNotFound, "BYPASS", ""},
		{"/shop/shoe/reviews/1", http.StatusNotFound, "BYPASS", ""},
		{"/shop/cart", http.StatusOK, "MISS", "<html><shop>cart n=1</shop></html>"},
		{"/beta/1", http.StatusOK, "MISS", "<html>beta n=1</html>"},
		{"/beta/2", http.StatusNotFound, "BYPASS", ""},
		{"/blog/hello", http.StatusOK, "MISS", "<html>post n=1</html>"},
		{"/blog/hello", http.StatusOK, "HIT", "<html>post n=1</html>"},
	}
	for _, tt := range tests {
		r := get(e, tt.path)
		if r.code != tt.code || r.status != tt.status {
			t.Errorf("GET %s = %d %s; want %d %s", tt.path, r.code, r.status, tt.code, tt.status)
		}
		if tt.code == http.StatusOK {
			if diff := cmp.Diff(tt.body, r.body); diff != "" {
				t.Errorf("GET %s body mismatch (-want +got):\n%s", tt.path, diff)
			}
		}
	}
	renders := map[string]int{"product": product.get(), "review": review.get(), "cart": cart.get(), "post": post.get(), "beta": beta.get()}
	want := map[string]int{"product": 1, "review": 0, "cart": 1, "post": 1, "beta": 1}
	if diff := cmp.Diff(want, renders); diff != "" {
		t.Errorf("renders mismatch (-want +got):\n%s", diff)
	}
}

// TestLayoutStaticParamsOnlyPrerender: Prerender builds the static params
// of a route below a dynamicParams-false layout and nothing else; the route
// with none has nothing to build and renders nothing.
func TestLayoutStaticParamsOnlyPrerender(t *testing.T) {
	var product, review counter
	var site Site
	site.Layout("/shop", Layout{StaticParamsOnly: true})
	site.Page("/shop/[slug]", Page{StaticParams: []render.Params{{"slug": "hat"}, {"slug": "shoe"}}, Render: fetchPage("product", &product)})
	site.Page("/shop/[slug]/reviews/[id]", Page{Render: fetchPage("review", &review)})
	e := newEngine(t, &site, Options{})

	pre, err := e.Prerender(context.Background(), PrerenderOptions{})
	if err != nil {
		t.Fatalf("Prerender error: %v", err)
	}
	var paths []string
	for _, p := range pre {
		paths = append(paths, p.Path)
	}
	if diff := cmp.Diff([]string{"/shop/hat", "/shop/shoe"}, paths); diff != "" {
		t.Errorf("Prerender paths mismatch (-want +got):\n%s", diff)
	}
	for _, path := range []string{"/shop/hat", "/shop/shoe"} {
		if r := get(e, path); r.code != http.StatusOK || r.status != "HIT" {
			t.Errorf("GET %s = %d %s; want 200 HIT", path, r.code, r.status)
		}
	}
	for _, path := range []string{"/shop/sock", "/shop/hat/reviews/1"} {
		if r := get(e, path); r.code != http.StatusNotFound {
			t.Errorf("GET %s = %d; want 404", path, r.code)
		}
	}
	if product.get() != 2 || review.get() != 0 {
		t.Errorf("renders: product %d, review %d; want 2 and 0", product.get(), review.get())
	}
}

// TestLayoutStaticParamsOnlyRoutes: the route table (Engine.Routes) reports
// dynamicParams false for every route below the layout, and only for them.
func TestLayoutStaticParamsOnlyRoutes(t *testing.T) {
	var site Site
	site.Layout("/", Layout{Render: wrap("html")})
	site.Layout("/shop", Layout{StaticParamsOnly: true})
	site.Page("/shop/[slug]", Page{Render: nopPage, StaticParams: []render.Params{{"slug": "hat"}}})
	site.Page("/shop/[slug]/reviews/[id]", Page{Render: nopPage})
	site.Page("/blog/[slug]", Page{Render: nopPage})
	site.Page("/docs/[id]", Page{Render: nopPage, StaticParamsOnly: true})
	e := newEngine(t, &site, Options{})

	got := map[string]bool{}
	for _, p := range e.Routes() {
		got[p.Route] = p.DynamicParams
	}
	want := map[string]bool{
		"/blog/[slug]":              true,
		"/docs/[id]":                false,
		"/shop/[slug]":              false,
		"/shop/[slug]/reviews/[id]": false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Routes DynamicParams mismatch (-want +got):\n%s", diff)
	}
}
