// Command shop-go is regen's demo shop registered in Go: the routes of
// examples/shop/site.yaml with hand-written renderers over a small catalog
// API, served on 127.0.0.1:3000.
//
//	go run ./examples/shop-go
//	curl -si http://127.0.0.1:3000/products/sneakers | grep -i cache
//	curl -s http://127.0.0.1:3000/sitemap.xml
//	curl -sI http://127.0.0.1:3000/old-products/sneakers    # 308 to /products/sneakers
//
// With -bench it compares rendering strategies on it instead, as
// `regen bench` does on the spec, on a simulated day of traffic:
//
//	go run ./examples/shop-go -bench
//
// The site declares what its renders read and fetch (Uses, Fetches), as the
// spec does, so `regen routes examples/shop/site.yaml` prints the route table
// this program prints at start; routes_test.go checks that they are equal.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/routetable"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen `address`")
	benchmark := flag.Bool("bench", false, "compare rendering strategies on a simulated day of traffic, as regen bench does, and exit")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *benchmark {
		if err := runBench(ctx, os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	}

	e, err := engine.New(newSite(), engine.Options{Fetcher: newCatalog(20 * time.Millisecond)})
	if err != nil {
		log.Fatal(err) // every configuration problem, one per line
	}
	if err := routetable.Write(os.Stderr, "shop-go", e.Routes()); err != nil {
		log.Fatal(err)
	}
	pages, err := e.Prerender(ctx, engine.PrerenderOptions{})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("prerendered %d pages", len(pages))

	srv := &http.Server{Addr: *addr, Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("listening on http://%s", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	e.Close() // waits for the regenerations in flight
}

// The fetches the segments make, declared once and used both to register the
// segment (so its policy is known before any render) and to make the fetch.
// {param} placeholders are filled in from the path's params.
var (
	navFetch      = engine.Fetch{URL: "/api/nav", Tags: []string{"nav"}}
	featuredFetch = engine.Fetch{URL: "/api/products?featured=1", Tags: []string{"products", "featured"}}
	menuFetch     = engine.Fetch{URL: "/api/categories", Tags: []string{"categories"}}
	listFetch     = engine.Fetch{URL: "/api/products", Tags: []string{"products"}}
	productFetch  = engine.Fetch{URL: "/api/products/{slug}", Tags: []string{"products", "product-{slug}"}}
	stockFetch    = engine.Fetch{URL: "/api/products/{slug}/stock", Revalidate: regen.Seconds(30), Tags: []string{"stock-{slug}"}}
	categoryFetch = engine.Fetch{URL: "/api/categories/{category}", Tags: []string{"products", "category-{category}"}}
	plansFetch    = engine.Fetch{URL: "/api/plans", Revalidate: regen.Seconds(3600), Tags: []string{"plans"}}
	ordersFetch   = engine.Fetch{URL: "/api/orders", Revalidate: regen.Seconds(60), Tags: []string{"orders"}}
	aboutFetch    = engine.Fetch{URL: "/api/pages/about", Tags: []string{"cms"}}
)

// cartHole is the shop header's cart: the number of items in the visitor's
// "cart" cookie (a count, as the cookie keeps it), rendered per request.
var cartHole = engine.Hole{
	Name:     "cart",
	Uses:     []regen.API{regen.Cookies},
	Fallback: `<p class="cart">Cart</p>`,
	Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		n := 0
		if v, ok := s.Cookie("cart"); ok {
			n, _ = strconv.Atoi(v)
		}
		_, err := fmt.Fprintf(w, `<p class="cart">Cart (%d)</p>`+"\n", max(n, 0))
		return err
	}),
}

// registrar takes the shop's layouts, pages and route handlers with the
// cost of their renders, and returns each declaration as registered:
// *bench.Registrar, whose strategies rewrite declarations, and
// siteRegistrar.
type registrar interface {
	Layout(pattern string, l engine.Layout, cost time.Duration) engine.Layout
	Page(pattern string, p engine.Page, cost time.Duration) engine.Page
	Handler(pattern string, h engine.Handler, cost time.Duration) engine.Handler
	// Hole gives the cost of a hole the next layout or page declares.
	Hole(h engine.Hole, cost time.Duration) engine.Hole
}

// siteRegistrar registers with an engine.Site as declared; costs are what
// the renders really spend.
type siteRegistrar struct{ site *engine.Site }

func (r siteRegistrar) Layout(pattern string, l engine.Layout, _ time.Duration) engine.Layout {
	r.site.Layout(pattern, l)
	return l
}

func (r siteRegistrar) Page(pattern string, p engine.Page, _ time.Duration) engine.Page {
	r.site.Page(pattern, p)
	return p
}

func (r siteRegistrar) Handler(pattern string, h engine.Handler, _ time.Duration) engine.Handler {
	r.site.Handler(pattern, h)
	return h
}

func (r siteRegistrar) Hole(h engine.Hole, _ time.Duration) engine.Hole { return h }

// newSite registers the shop with a new engine.Site.
func newSite() *engine.Site {
	var site engine.Site
	register(siteRegistrar{&site})
	return &site
}

// register registers the shop: the same segments, configs, declarations and
// costs as examples/shop/site.yaml. Each render makes the fetches of its
// declaration as registered (root.Fetches[0], not navFetch), so that a
// benchmark's strategy, which rewrites declarations (SSR makes every fetch
// no-store), applies to them too.
func register(r registrar) {
	// The root layout: the navigation, cached until "nav" is revalidated.
	var root engine.Layout
	root = r.Layout("/", engine.Layout{
		Fetches: []engine.Fetch{navFetch},
		Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			var nav []link
			if err := fetchJSON(ctx, s, root.Fetches[0], &nav); err != nil {
				return err
			}
			fmt.Fprint(w, "<!doctype html>\n<html><head><title>Shop</title></head><body>\n<nav>")
			for _, l := range nav {
				fmt.Fprintf(w, `<a href="%s">%s</a> `, html.EscapeString(l.Href), html.EscapeString(l.Title))
			}
			fmt.Fprint(w, "</nav>\n")
			if err := child.Render(ctx, w); err != nil {
				return err
			}
			_, err := fmt.Fprint(w, "</body></html>\n")
			return err
		}),
	}, time.Millisecond)
	// The home page: featured products, at most 10 minutes old.
	var home engine.Page
	home = r.Page("/", engine.Page{
		Revalidate: regen.Seconds(600),
		Fetches:    []engine.Fetch{featuredFetch},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			var featured []product
			if err := fetchJSON(ctx, s, home.Fetches[0], &featured); err != nil {
				return err
			}
			fmt.Fprint(w, "<h1>Featured</h1>\n")
			return productList(w, featured)
		}),
	}, 2*time.Millisecond)

	// The shop section (a route group): the category menu, every hour, and
	// the visitor's cart in a hole, rendered per request from the "cart"
	// cookie while the rest of the page stays cached (partial prerendering).
	var section engine.Layout
	section = r.Layout("/(shop)", engine.Layout{
		Revalidate: regen.Seconds(3600),
		Fetches:    []engine.Fetch{menuFetch},
		Holes:      []engine.Hole{r.Hole(cartHole, time.Millisecond)},
		Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			var cats []category
			if err := fetchJSON(ctx, s, section.Fetches[0], &cats); err != nil {
				return err
			}
			fmt.Fprint(w, "<aside>")
			for _, c := range cats {
				fmt.Fprintf(w, `<a href="/categories/%s">%s</a> `, html.EscapeString(c.Slug), html.EscapeString(c.Title))
			}
			fmt.Fprint(w, "</aside>\n")
			if err := s.Hole(w, "cart"); err != nil {
				return err
			}
			return child.Render(ctx, w)
		}),
	}, time.Millisecond)
	var list engine.Page
	list = r.Page("/(shop)/products", engine.Page{
		Revalidate: regen.Seconds(300),
		Fetches:    []engine.Fetch{listFetch},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			var all []product
			if err := fetchJSON(ctx, s, list.Fetches[0], &all); err != nil {
				return err
			}
			fmt.Fprint(w, "<h1>All products</h1>\n")
			return productList(w, all)
		}),
	}, 3*time.Millisecond)
	// Product pages: the best sellers are prerendered; others render on
	// their first request. The 30-second stock fetch makes the route's
	// revalidate 30.
	var item engine.Page
	item = r.Page("/(shop)/products/[slug]", engine.Page{
		Revalidate: regen.Seconds(60),
		StaticParams: []render.Params{
			{"slug": "sneakers"}, {"slug": "sun-hat"}, {"slug": "rain-jacket"}, {"slug": "wool-socks"},
		},
		Fetches: []engine.Fetch{productFetch, stockFetch},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			var p product
			if err := fetchJSON(ctx, s, item.Fetches[0], &p); err != nil {
				return err
			}
			var st stock
			if err := fetchJSON(ctx, s, item.Fetches[1], &st); err != nil {
				return err
			}
			_, err := fmt.Fprintf(w, "<h1>%s</h1>\n<p>%s</p>\n<p>$%d.%02d, %d in stock</p>\n",
				html.EscapeString(p.Title), html.EscapeString(p.Description), p.Cents/100, p.Cents%100, st.InStock)
			return err
		}),
	}, 2*time.Millisecond)
	// Category pages: only the known categories; others are 404 without a
	// render (dynamicParams: false).
	var cat engine.Page
	cat = r.Page("/(shop)/categories/[category]", engine.Page{
		StaticParams:     []render.Params{{"category": "shoes"}, {"category": "hats"}, {"category": "outerwear"}},
		StaticParamsOnly: true,
		Fetches:          []engine.Fetch{categoryFetch},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			var c category
			if err := fetchJSON(ctx, s, cat.Fetches[0], &c); err != nil {
				return err
			}
			fmt.Fprintf(w, "<h1>%s</h1>\n", html.EscapeString(c.Title))
			return productList(w, c.Products)
		}),
	}, 2*time.Millisecond)

	// The dashboard reads the session cookie: rendered per request, while
	// its fetches are still served by the Data Cache.
	var dash engine.Layout
	dash = r.Layout("/dashboard", engine.Layout{
		Uses:    []regen.API{regen.Cookies},
		Fetches: []engine.Fetch{plansFetch},
		Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			user, ok := s.Cookie("session")
			if !ok {
				user = "guest"
			}
			var plans []string
			if err := fetchJSON(ctx, s, dash.Fetches[0], &plans); err != nil {
				return err
			}
			fmt.Fprintf(w, "<header>Signed in as %s (plans: %s)</header>\n",
				html.EscapeString(user), html.EscapeString(strings.Join(plans, ", ")))
			return child.Render(ctx, w)
		}),
	}, time.Millisecond)
	var dashPage engine.Page
	dashPage = r.Page("/dashboard", engine.Page{
		Fetches: []engine.Fetch{ordersFetch},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			var orders []string
			if err := fetchJSON(ctx, s, dashPage.Fetches[0], &orders); err != nil {
				return err
			}
			_, err := fmt.Fprintf(w, "<h1>Orders</h1>\n<p>%s</p>\n", html.EscapeString(strings.Join(orders, ", ")))
			return err
		}),
	}, 2*time.Millisecond)
	r.Page("/dashboard/settings", engine.Page{
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			_, err := fmt.Fprint(w, "<h1>Settings</h1>\n")
			return err
		}),
	}, time.Millisecond)

	// Marketing pages (another route group): static until "cms" is revalidated.
	var about engine.Page
	about = r.Page("/(marketing)/about", engine.Page{
		Fetches: []engine.Fetch{aboutFetch},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			var pg struct{ Title, Body string }
			if err := fetchJSON(ctx, s, about.Fetches[0], &pg); err != nil {
				return err
			}
			_, err := fmt.Fprintf(w, "<h1>%s</h1>\n<p>%s</p>\n", html.EscapeString(pg.Title), html.EscapeString(pg.Body))
			return err
		}),
	}, time.Millisecond)

	// Product URLs of the previous site: a permanent redirect (308), cached
	// like any page. No layout renders around a redirect.
	r.Page("/old-products/[slug]", engine.Page{
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			return render.Redirect("/products/"+url.PathEscape(s.Param("slug")), true)
		}),
	}, 0)

	// The sitemap crawlers read, a route handler (Next.js's app/sitemap.ts):
	// no layout wraps it. At most an hour old, or until "products" is
	// revalidated.
	var sitemap engine.Handler
	sitemap = r.Handler("/sitemap.xml", engine.Handler{
		Revalidate:  regen.Seconds(3600),
		ContentType: "application/xml",
		Fetches:     []engine.Fetch{listFetch},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			var all []product
			if err := fetchJSON(ctx, s, sitemap.Fetches[0], &all); err != nil {
				return err
			}
			paths := []string{"/", "/products", "/about"}
			for _, c := range categories {
				paths = append(paths, "/categories/"+url.PathEscape(c.Slug))
			}
			for _, p := range all {
				paths = append(paths, "/products/"+url.PathEscape(p.Slug))
			}
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`+"\n")
			for _, p := range paths {
				fmt.Fprintf(w, "<url><loc>%s</loc></url>\n", html.EscapeString(siteURL+p))
			}
			_, err := fmt.Fprint(w, "</urlset>\n")
			return err
		}),
	}, time.Millisecond)
}

// siteURL is the shop's public URL: a sitemap lists absolute URLs.
const siteURL = "https://shop.example"

// fetchJSON makes the declared fetch f through the Data Cache, with its
// {param} placeholders filled in, and decodes the JSON answer into v. An
// answer of 404 makes the page a 404 (Next.js's notFound()).
func fetchJSON(ctx context.Context, s *render.Scope, f engine.Fetch, v any) error {
	req := &fetchcache.Request{URL: fill(f.URL, s.Params()), Revalidate: f.Revalidate, Cache: f.Cache}
	for _, t := range f.Tags {
		req.Tags = append(req.Tags, fill(t, s.Params()))
	}
	resp, err := s.Fetch(ctx, req)
	var se *fetchcache.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return render.ErrNotFound
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(resp.Body, v)
}

// fill replaces each {name} in s with the param's value.
func fill(s string, params render.Params) string {
	for name, v := range params {
		s = strings.ReplaceAll(s, "{"+name+"}", v)
	}
	return s
}

func productList(w io.Writer, ps []product) error {
	fmt.Fprint(w, "<ul>\n")
	for _, p := range ps {
		fmt.Fprintf(w, "<li><a href=\"/products/%s\">%s</a></li>\n", html.EscapeString(p.Slug), html.EscapeString(p.Title))
	}
	_, err := fmt.Fprint(w, "</ul>\n")
	return err
}
