package engine_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
)

// fakeClock is moved by hand: examples cannot use testing/synctest.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// inline runs background work at once, so the example's output is ordered.
var inline = regen.SchedulerFunc(func(f func()) { f() })

func serve(e http.Handler, path string) {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	fmt.Printf("%s %s %s\n", path, rec.Header().Get("X-Cache-Status"), rec.Body)
}

// A page with revalidate 60 is rendered once, served from the cache, served
// stale once after 60 seconds while it regenerates, then fresh again.
func Example() {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	version := 0
	var site engine.Site
	site.Layout("/", engine.Layout{Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		io.WriteString(w, "<body>")
		if err := child.Render(ctx, w); err != nil {
			return err
		}
		_, err := io.WriteString(w, "</body>")
		return err
	})})
	site.Page("/blog/[slug]", engine.Page{Revalidate: regen.Seconds(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		version++
		_, err := fmt.Fprintf(w, "%s v%d", s.Param("slug"), version)
		return err
	})})
	e, err := engine.New(&site, engine.Options{Now: clock.Now, Scheduler: inline})
	if err != nil {
		panic(err)
	}
	defer e.Close()

	serve(e, "/blog/hello") // rendered while the request waits
	serve(e, "/blog/hello") // fresh
	clock.Advance(60 * time.Second)
	serve(e, "/blog/hello") // the old page, while one regeneration runs
	serve(e, "/blog/hello") // the regenerated page
	// Output:
	// /blog/hello MISS <body>hello v1</body>
	// /blog/hello HIT <body>hello v1</body>
	// /blog/hello STALE <body>hello v1</body>
	// /blog/hello HIT <body>hello v2</body>
}

// RevalidateTag refreshes every page built from tagged data: in stale mode
// the next request gets the old page once while it regenerates.
func ExampleEngine_RevalidateTag() {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	price := 10
	cms := fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
		return &fetchcache.Response{Status: 200, Body: fmt.Appendf(nil, "price %d", price)}, nil
	})
	var site engine.Site
	site.Page("/products/shoe", engine.Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		res, err := s.Fetch(ctx, &fetchcache.Request{URL: "https://cms.example/shoe", Tags: []string{"products"}})
		if err != nil {
			return err
		}
		_, err = w.Write(res.Body)
		return err
	})})
	e, err := engine.New(&site, engine.Options{Now: clock.Now, Scheduler: inline, Fetcher: cms})
	if err != nil {
		panic(err)
	}
	defer e.Close()

	serve(e, "/products/shoe")
	price = 12 // the CMS changes, and its webhook calls:
	clock.Advance(time.Second)
	e.RevalidateTag(context.Background(), "products", regen.RevalidateStale)
	serve(e, "/products/shoe")
	serve(e, "/products/shoe")
	// Output:
	// /products/shoe MISS price 10
	// /products/shoe STALE price 10
	// /products/shoe HIT price 12
}

// Every route explains its policy.
func ExampleEngine_Routes() {
	var site engine.Site
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error { return nil })
	site.Layout("/shop", engine.Layout{Revalidate: regen.Seconds(60)})
	site.Page("/shop/[slug]", engine.Page{Revalidate: regen.Seconds(3600), Render: page})
	site.Layout("/dashboard", engine.Layout{Uses: []regen.API{regen.Cookies}})
	site.Page("/dashboard", engine.Page{Render: page, Fetches: []engine.Fetch{{URL: "/api/stats", Revalidate: regen.Seconds(300)}}})
	site.Page("/(marketing)/about", engine.Page{Render: page})
	e, err := engine.New(&site, engine.Options{})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	for _, p := range e.Routes() {
		fmt.Printf("%s: %s, %s\n", p.Route, p.Kind, p.String())
	}
	// Output:
	// /(marketing)/about: static, static: no revalidate declared (cached until revalidated on demand)
	// /dashboard: dynamic, dynamic because layout /dashboard reads cookies
	// /shop/[slug]: isr, revalidate 60 from layout /shop
}

// A layout's user menu is a hole: the page around it is rendered once and
// cached, the menu is rendered for each request with its own cookie.
func ExampleHole() {
	renders := 0
	var site engine.Site
	site.Layout("/", engine.Layout{
		Holes: []engine.Hole{{Name: "user-menu", Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			user, _ := s.Cookie("session")
			_, err := fmt.Fprintf(w, "[%s]", user)
			return err
		})}},
		Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			io.WriteString(w, "<header>")
			s.Hole(w, "user-menu")
			io.WriteString(w, "</header>")
			return child.Render(ctx, w)
		}),
	})
	site.Page("/shop", engine.Page{Revalidate: regen.Seconds(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		renders++
		_, err := fmt.Fprintf(w, "<main>shop, render %d</main>", renders)
		return err
	})})
	e, err := engine.New(&site, engine.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	p, _ := e.Policy("/shop")
	fmt.Println(p.Kind, p.Holes)
	for _, user := range []string{"ann", "bob"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/shop", nil)
		req.Header.Set("Cookie", "session="+user)
		e.ServeHTTP(rec, req)
		fmt.Println(rec.Header().Get("X-Cache-Status"), rec.Body)
	}
	// Output:
	// isr [user-menu]
	// MISS <header>[ann]</header><main>shop, render 1</main>
	// HIT <header>[bob]</header><main>shop, render 1</main>
}

// revalidateTag(tag, profile): the tagged pages are served stale until the
// profile's expire, then the next request waits for a fresh render.
func ExampleEngine_RevalidateTag_profile() {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	price := 10
	cms := fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
		return &fetchcache.Response{Status: 200, Body: fmt.Appendf(nil, "price %d", price)}, nil
	})
	var site engine.Site
	for _, p := range []string{"/products/shoe", "/products/hat"} {
		site.Page(p, engine.Page{CacheLife: "days", Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			res, err := s.Fetch(ctx, &fetchcache.Request{URL: "https://cms.example" + p, Tags: []string{"products"}})
			if err != nil {
				return err
			}
			_, err = w.Write(res.Body)
			return err
		})})
	}
	e, err := engine.New(&site, engine.Options{Now: clock.Now, Scheduler: inline, Fetcher: cms})
	if err != nil {
		panic(err)
	}
	defer e.Close()

	serve(e, "/products/shoe")
	serve(e, "/products/hat")
	price = 12
	clock.Advance(time.Second)
	e.RevalidateTag(context.Background(), "products", regen.RevalidateProfile("minutes")) // expire: 1h
	clock.Advance(30 * time.Minute)
	serve(e, "/products/shoe") // within the hour: stale, regenerated in the background
	clock.Advance(31 * time.Minute)
	serve(e, "/products/hat") // past it: waits for a fresh render
	// Output:
	// /products/shoe MISS price 10
	// /products/hat MISS price 10
	// /products/shoe STALE price 10
	// /products/hat MISS price 12
}
