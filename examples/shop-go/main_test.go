package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/examples/shop"
	"github.com/regen-dev/regen/sitespec"
)

func noSleep(context.Context, time.Duration) error { return nil }

// specEngine is the engine of examples/shop/site.yaml.
func specEngine(t *testing.T) *engine.Engine {
	t.Helper()
	spec, err := shop.Parse()
	if err != nil {
		t.Fatal(err)
	}
	built := spec.Build(sitespec.Options{Sleep: noSleep})
	e, err := engine.New(built.Site, engine.Options{Fetcher: built.Fetcher})
	if err != nil {
		t.Fatalf("engine.New(spec) error: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// goEngine is the engine of the site registered in Go.
func goEngine(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := engine.New(newSite(), engine.Options{Fetcher: newCatalog(0)})
	if err != nil {
		t.Fatalf("engine.New(newSite()) error: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// policies is what `regen routes --json` prints for e: one JSON object per route.
func policies(t *testing.T, e *engine.Engine) []string {
	t.Helper()
	var out []string
	for _, p := range e.Routes() {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestPoliciesMatchSpec checks that `regen routes --json` on the spec
// (examples/shop/site.yaml) prints the policies the Go API computes for the
// same routes registered in code, before any render and after every
// prerendered path was rendered (which refines policies by what the renders
// reveal).
func TestPoliciesMatchSpec(t *testing.T) {
	fromSpec, fromGo := specEngine(t), goEngine(t)
	if diff := cmp.Diff(policies(t, fromSpec), policies(t, fromGo)); diff != "" {
		t.Fatalf("policies of the spec and of the Go site differ (-spec +go):\n%s", diff)
	}
	if len(fromSpec.Routes()) != 9 {
		t.Errorf("routes = %d; want 9", len(fromSpec.Routes()))
	}

	ctx := context.Background()
	for _, e := range []*engine.Engine{fromSpec, fromGo} {
		if _, err := e.Prerender(ctx, engine.PrerenderOptions{}); err != nil {
			t.Fatalf("Prerender error: %v", err)
		}
	}
	if diff := cmp.Diff(policies(t, fromSpec), policies(t, fromGo)); diff != "" {
		t.Errorf("policies after prerendering differ (-spec +go):\n%s", diff)
	}
	if diff := cmp.Diff(fromSpec.Paths(), fromGo.Paths()); diff != "" {
		t.Errorf("Paths differ (-spec +go):\n%s", diff)
	}
}

func TestServe(t *testing.T) {
	e := goEngine(t)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	get := func(path string, cookie *http.Cookie) (code int, status, header, body string) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("X-Cache-Status"), resp.Header.Get("Content-Type") + " " + resp.Header.Get("Location"), string(b)
	}

	tests := []struct {
		name       string
		path       string
		cookie     *http.Cookie
		wantCode   int
		wantStatus string
		wantBody   string
		wantHeader string // Content-Type and Location, if given
	}{
		{"first product view renders", "/products/sneakers", nil, 200, "MISS", "<h1>Sneakers</h1>", ""},
		{"second product view is cached", "/products/sneakers", nil, 200, "HIT", "in stock", ""},
		{"the cart is read per request", "/products/sneakers", &http.Cookie{Name: "cart", Value: "3"}, 200, "HIT", `<p class="cart">Cart (3)</p>`, ""},
		{"another visitor's cart, the same shell", "/products/sneakers", &http.Cookie{Name: "cart", Value: "5"}, 200, "HIT", `<p class="cart">Cart (5)</p>` + "\n<h1>Sneakers</h1>", ""},
		{"no cart cookie", "/products", nil, 200, "MISS", `<p class="cart">Cart (0)</p>`, ""},
		{"product not in static params", "/products/boots", nil, 200, "MISS", "<h1>Boots</h1>", ""},
		{"unknown product", "/products/teapot", nil, 404, "", "could not be found", ""},
		{"known category", "/categories/hats", nil, 200, "MISS", "Sun hat", ""},
		{"unknown category is 404 without rendering", "/categories/socks", nil, 404, "BYPASS", "", ""},
		{"dashboard reads the cookie", "/dashboard", &http.Cookie{Name: "session", Value: "ada"}, 200, "BYPASS", "Signed in as ada", ""},
		{"about page in a route group", "/about", nil, 200, "MISS", "About us", ""},
		{"sitemap, a route handler", "/sitemap.xml", nil, 200, "MISS", "<loc>https://shop.example/products/boots</loc>", "application/xml "},
		{"sitemap again", "/sitemap.xml", nil, 200, "HIT", "</urlset>", "application/xml "},
		{"old product URL redirects", "/old-products/sun-hat", nil, 308, "MISS", "", "text/html; charset=utf-8 /products/sun-hat"},
		{"the redirect is cached", "/old-products/sun-hat", nil, 308, "HIT", "", "text/html; charset=utf-8 /products/sun-hat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, status, header, body := get(tt.path, tt.cookie)
			if code != tt.wantCode || (tt.wantStatus != "" && status != tt.wantStatus) {
				t.Errorf("GET %s = %d %s; want %d %s", tt.path, code, status, tt.wantCode, tt.wantStatus)
			}
			if tt.wantHeader != "" && header != tt.wantHeader {
				t.Errorf("GET %s Content-Type and Location = %q; want %q", tt.path, header, tt.wantHeader)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("GET %s body = %q; want it to contain %q", tt.path, body, tt.wantBody)
			}
		})
	}
}
