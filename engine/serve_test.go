package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
)

// TestTimeBasedISR follows one ISR path through HIT, STALE, a background
// regeneration, a failed one with its back-off, and expire.
func TestTimeBasedISR(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c counter
		var failing, panicking sync.Map
		page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			time.Sleep(2 * time.Second) // the render takes virtual time
			if _, ok := failing.Load("on"); ok {
				return errors.New("database down")
			}
			if _, ok := panicking.Load("on"); ok {
				panic("boom")
			}
			fmt.Fprintf(w, "v%d", c.inc())
			return nil
		})
		var site Site
		site.Page("/p", Page{Revalidate: sec(60), Render: page})
		var logs logBuffer
		e := newEngine(t, &site, Options{Logger: logs.logger(), Expire: 10 * time.Minute})

		check := func(step string, want response) {
			t.Helper()
			got := get(e, "/p")
			if got.code != want.code || got.status != want.status || got.body != want.body {
				t.Errorf("%s: GET /p = %d %s %q; want %d %s %q", step, got.code, got.status, got.body, want.code, want.status, want.body)
			}
		}
		check("first request", response{code: 200, status: "MISS", body: "v1"})
		time.Sleep(57 * time.Second) // age 59s: the render started 2s before it was stored
		check("before the interval", response{code: 200, status: "HIT", body: "v1"})
		time.Sleep(time.Second) // age 60s
		check("after the interval", response{code: 200, status: "STALE", body: "v1"})
		for range 100 {
			check("during the regeneration", response{code: 200, status: "STALE", body: "v1"})
		}
		synctest.Wait()
		if got := c.get(); got != 1 {
			t.Fatalf("renders finished during the regeneration = %d; want 1", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		check("after the regeneration", response{code: 200, status: "HIT", body: "v2"})
		if got := e.Stats().Renders; got != 2 {
			t.Errorf("renders = %d; want 2 (one MISS, one regeneration for 101 STALE requests)", got)
		}

		// A regeneration that fails keeps the old body, logs, and waits its back-off.
		failing.Store("on", true)
		time.Sleep(60 * time.Second)
		check("stale before a failing regeneration", response{code: 200, status: "STALE", body: "v2"})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if !strings.Contains(logs.String(), "regeneration failed") || !strings.Contains(logs.String(), "database down") {
			t.Errorf("log = %q; want the failed regeneration and its error", logs.String())
		}
		check("after the failure", response{code: 200, status: "STALE", body: "v2"})
		time.Sleep(time.Second) // 1s into the 2s back-off
		check("within the back-off", response{code: 200, status: "STALE", body: "v2"})
		synctest.Wait()
		if got := e.Stats().Renders; got != 3 {
			t.Errorf("renders within the back-off = %d; want 3 (no retry before the back-off)", got)
		}
		time.Sleep(time.Second) // the back-off has passed
		check("after the back-off", response{code: 200, status: "STALE", body: "v2"})
		synctest.Wait()
		if got := e.Stats().Renders; got != 4 {
			t.Errorf("renders after the back-off = %d; want 4 (one retry)", got)
		}

		// A regeneration that panics keeps the old body too.
		failing.Delete("on")
		panicking.Store("on", true)
		time.Sleep(10 * time.Second) // past the second back-off (4s)
		check("before a panicking regeneration", response{code: 200, status: "STALE", body: "v2"})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		check("after a panicking regeneration", response{code: 200, status: "STALE", body: "v2"})
		if !strings.Contains(logs.String(), "boom") {
			t.Errorf("log = %q; want the panic", logs.String())
		}
		panicking.Delete("on")

		// Expire: a stale entry not regenerated within expire is dropped.
		time.Sleep(10 * time.Minute)
		check("after expire", response{code: 200, status: "MISS", body: "v3"})
	})
}

// TestOneRenderForManyRequests sends 1,000 concurrent requests to a missing
// path, then to a stale one: each time exactly one render and one origin
// call per fetch key.
func TestOneRenderForManyRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOrigin()
		o.latency = 500 * time.Millisecond
		var c counter
		var site Site
		site.Page("/p", Page{Revalidate: sec(60), Render: fetchPage("p", &c,
			fetchcache.Request{URL: "/api/a", Revalidate: sec(60)},
			fetchcache.Request{URL: "/api/b", Tags: []string{"b"}})})
		e := newEngine(t, &site, Options{Fetcher: o})

		run := func(want string) map[string]int {
			var mu sync.Mutex
			counts := map[string]int{}
			var wg sync.WaitGroup
			for range 1000 {
				wg.Go(func() {
					r := get(e, "/p")
					mu.Lock()
					counts[r.status+" "+r.body]++
					mu.Unlock()
				})
			}
			wg.Wait()
			return counts
		}
		got := run("MISS")
		if got["MISS p n=1 [/api/a@1] [/api/b@1]"] != 1000 || len(got) != 1 {
			t.Errorf("1,000 concurrent misses answered %v; want 1000 MISS of render 1", got)
		}
		if c.get() != 1 || o.callsTo("/api/a") != 1 || o.callsTo("/api/b") != 1 {
			t.Errorf("renders, origin calls = %d, %d, %d; want 1, 1, 1", c.get(), o.callsTo("/api/a"), o.callsTo("/api/b"))
		}
		o.publish("/api/a")
		time.Sleep(60 * time.Second)
		got = run("STALE")
		if got["STALE p n=1 [/api/a@1] [/api/b@1]"] != 1000 {
			t.Errorf("1,000 concurrent stale requests answered %v; want 1000 STALE", got)
		}
		synctest.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		// /api/b declares no revalidate: it is cached with its route's 60s,
		// so the regeneration refreshes both keys, once each.
		if c.get() != 2 || o.callsTo("/api/a") != 2 || o.callsTo("/api/b") != 2 {
			t.Errorf("renders, origin calls = %d, %d, %d; want 2, 2, 2", c.get(), o.callsTo("/api/a"), o.callsTo("/api/b"))
		}
		if r := get(e, "/p"); r.status != "HIT" || r.body != "p n=2 [/api/a@2] [/api/b@1]" {
			t.Errorf("after the regeneration GET /p = %s %q; want HIT with the new data", r.status, r.body)
		}
	})
}

// TestRevalidateTag: one tag used by two pages' fetches refreshes both pages
// and the data, in stale and expire modes.
func TestRevalidateTag(t *testing.T) {
	for _, mode := range []regen.RevalidateMode{regen.RevalidateStale, regen.RevalidateExpire} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := newOrigin()
				var site Site
				posts := fetchcache.Request{URL: "/api/posts", Revalidate: sec(3600), Tags: []string{"posts"}}
				site.Page("/a", Page{Render: fetchPage("a", nil, posts)})
				site.Page("/b", Page{Render: fetchPage("b", nil, posts)})
				site.Page("/c", Page{Render: fetchPage("c", nil, fetchcache.Request{URL: "/api/other", Tags: []string{"other"}})})
				e := newEngine(t, &site, Options{Fetcher: o})
				for _, p := range []string{"/a", "/b", "/c"} {
					get(e, p)
				}
				o.publish("/api/posts")
				time.Sleep(time.Second)
				if err := e.RevalidateTag(context.Background(), "posts", mode); err != nil {
					t.Fatal(err)
				}
				for _, p := range []string{"/a", "/b"} {
					name := p[1:]
					r := get(e, p)
					if mode == regen.RevalidateStale {
						if r.status != "STALE" || r.body != name+" n=0 [/api/posts@1]" {
							t.Errorf("GET %s after RevalidateTag = %s %q; want STALE with the old data once", p, r.status, r.body)
						}
						synctest.Wait()
						r = get(e, p)
						if r.status != "HIT" {
							t.Errorf("GET %s after the regeneration = %s; want HIT", p, r.status)
						}
					} else if r.status != "MISS" {
						t.Errorf("GET %s after RevalidateTag expire = %s; want MISS (waits for fresh content)", p, r.status)
					}
					if want := name + " n=0 [/api/posts@2]"; r.body != want {
						t.Errorf("GET %s body = %q; want %q", p, r.body, want)
					}
				}
				if got := o.callsTo("/api/posts"); got != 2 {
					t.Errorf("origin calls for /api/posts = %d; want 2 (the data refreshed once for both pages)", got)
				}
				if r := get(e, "/c"); r.status != "HIT" {
					t.Errorf("GET /c (other tag) = %s; want HIT", r.status)
				}
			})
		})
	}
}

// TestExpireDuringRender: a request after a revalidation in expire mode
// waits for content rendered after it, not for a render already in flight
// when it came.
func TestExpireDuringRender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c counter
		var site Site
		site.Page("/p", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			n := c.inc()
			time.Sleep(2 * time.Second)
			fmt.Fprintf(w, "v%d", n)
			return nil
		})})
		e := newEngine(t, &site, Options{})
		first := make(chan response)
		go func() { first <- get(e, "/p") }() // renders v1 from 0s to 2s
		time.Sleep(time.Second)
		if err := e.RevalidatePath(context.Background(), "/p", PagePath, regen.RevalidateExpire); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		start := time.Now()
		if r := get(e, "/p"); r.status != "MISS" || r.body != "v2" {
			t.Errorf("GET /p after the revalidation = %s %q; want MISS v2 (rendered after it)", r.status, r.body)
		}
		if waited := time.Since(start); waited != 3*time.Second-time.Millisecond {
			t.Errorf("GET /p waited %v; want the render in flight, then its own", waited)
		}
		if r := <-first; r.body != "v1" {
			t.Errorf("first GET /p = %q; want v1", r.body)
		}
		if r := get(e, "/p"); r.status != "HIT" || r.body != "v2" {
			t.Errorf("GET /p at last = %s %q; want HIT v2", r.status, r.body)
		}
	})
}

// TestRevalidatePath refreshes one path, a page route, and every path under a layout.
func TestRevalidatePath(t *testing.T) {
	tests := []struct {
		path  string
		kind  PathKind
		stale []string
	}{
		{"/blog/a", PagePath, []string{"/blog/a"}},
		{"/blog/[slug]", PagePath, []string{"/blog/a", "/blog/b"}},
		{"/blog", LayoutPath, []string{"/blog", "/blog/a", "/blog/b"}},
		{"/", LayoutPath, []string{"/about", "/blog", "/blog/a", "/blog/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var site Site
				site.Layout("/", Layout{Render: wrap("html")})
				site.Layout("/blog", Layout{Render: wrap("blog")})
				site.Page("/blog", Page{Render: nopPage})
				site.Page("/blog/[slug]", Page{Render: nopPage})
				site.Page("/about", Page{Render: nopPage})
				e := newEngine(t, &site, Options{})
				all := []string{"/about", "/blog", "/blog/a", "/blog/b"}
				for _, p := range all {
					get(e, p)
				}
				time.Sleep(time.Second)
				if err := e.RevalidatePath(context.Background(), tt.path, tt.kind, regen.RevalidateStale); err != nil {
					t.Fatal(err)
				}
				for _, p := range all {
					want := "HIT"
					for _, s := range tt.stale {
						if s == p {
							want = "STALE"
						}
					}
					if r := get(e, p); r.status != want {
						t.Errorf("GET %s = %s; want %s", p, r.status, want)
					}
				}
			})
		})
	}
}

// TestLayoutCookiesKeepDataCache: a layout reading cookies makes its pages
// dynamic, and their fetches are still served from the Data Cache.
func TestLayoutCookiesKeepDataCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOrigin()
		var site Site
		site.Layout("/dashboard", Layout{Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			user, _ := s.Cookie("user")
			fmt.Fprintf(w, "<user %s>", user)
			if err := child.Render(ctx, w); err != nil {
				return err
			}
			return nil
		})})
		var c counter
		site.Page("/dashboard/stats", Page{Revalidate: sec(3600), Render: fetchPage("stats", &c, fetchcache.Request{URL: "/api/stats", Revalidate: sec(300)})})
		e := newEngine(t, &site, Options{Fetcher: o})

		for i := range 50 {
			r := get(e, "/dashboard/stats", "Cookie", fmt.Sprintf("user=u%d", i))
			want := fmt.Sprintf("<user u%d>stats n=%d [/api/stats@1]", i, i+1)
			if r.status != "BYPASS" || r.body != want {
				t.Fatalf("request %d: GET = %s %q; want BYPASS %q", i, r.status, r.body, want)
			}
			if cc := r.header.Get("Cache-Control"); cc != "private, no-cache, no-store, max-age=0, must-revalidate" {
				t.Errorf("Cache-Control = %q; want the dynamic one", cc)
			}
			time.Sleep(4 * time.Second) // 200s in all: within the fetch's 300
		}
		if got := o.callsTo("/api/stats"); got != 1 {
			t.Errorf("origin calls = %d; want 1 (the Data Cache keeps working in a dynamic route)", got)
		}
		p, _ := e.Policy("/dashboard/stats")
		if p.Kind != Dynamic || p.String() != "dynamic because layout /dashboard reads cookies" {
			t.Errorf("policy = %v %q; want dynamic because of the layout's cookies", p.Kind, p.String())
		}
	})
}

// TestRefinedPolicy: what a render reveals refines the policy (rule 7).
func TestRefinedPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOrigin()
		var site Site
		var c counter
		site.Page("/p", Page{Revalidate: sec(3600), Render: fetchPage("p", &c, fetchcache.Request{URL: "/api/x", Revalidate: sec(30)})})
		e := newEngine(t, &site, Options{Fetcher: o})
		if p, _ := e.Policy("/p"); p.Revalidate != sec(3600) {
			t.Fatalf("declared revalidate = %v; want 3600", p.Revalidate)
		}
		get(e, "/p")
		p, _ := e.Policy("/p")
		if p.Kind != ISR || p.Revalidate != sec(30) || p.String() != "revalidate 30 from fetch /api/x in page /p" {
			t.Errorf("refined policy = %v %v %q; want isr 30 from the fetch", p.Kind, p.Revalidate, p.String())
		}
		time.Sleep(30 * time.Second)
		if r := get(e, "/p"); r.status != "STALE" {
			t.Errorf("GET /p at 30s = %s; want STALE (the fetch's 30 lowered the page's 3600)", r.status)
		}
	})
}

// TestRevealedDynamic: a route that reads cookies at render becomes dynamic.
func TestRevealedDynamic(t *testing.T) {
	var site Site
	site.Page("/me", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		u, _ := s.Cookie("user")
		fmt.Fprintf(w, "hello %s", u)
		return nil
	})})
	e := newEngine(t, &site, Options{})
	for _, u := range []string{"ann", "bob", "cy"} {
		r := get(e, "/me", "Cookie", "user="+u)
		if r.status != "BYPASS" || r.body != "hello "+u {
			t.Errorf("GET /me as %s = %s %q; want BYPASS with their name", u, r.status, r.body)
		}
	}
	if p, _ := e.Policy("/me"); p.Kind != Dynamic || p.String() != "dynamic because page /me reads cookies" {
		t.Errorf("policy = %v %q; want dynamic", p.Kind, p.String())
	}
}

// TestRevealedDynamicDropsCachedPath: when a regeneration reveals a route
// to be dynamic, its cached path is expired at once, the root's too.
func TestRevealedDynamicDropsCachedPath(t *testing.T) {
	for _, pattern := range []string{"/", "/p"} {
		t.Run(pattern, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var c counter
				var site Site
				site.Page(pattern, Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
					if c.inc() > 1 {
						s.Cookie("user") // only from the second render on
					}
					io.WriteString(w, "page")
					return nil
				})})
				e := newEngine(t, &site, Options{})
				if r := get(e, pattern); r.status != "MISS" {
					t.Fatalf("GET %s = %s; want MISS", pattern, r.status)
				}
				time.Sleep(time.Second)
				if err := e.RevalidatePath(context.Background(), pattern, PagePath, regen.RevalidateStale); err != nil {
					t.Fatal(err)
				}
				if r := get(e, pattern); r.status != "STALE" {
					t.Fatalf("GET %s after RevalidatePath = %s; want STALE", pattern, r.status)
				}
				synctest.Wait() // the regeneration reads cookies: the route is dynamic
				if r := get(e, pattern); r.status != "BYPASS" {
					t.Errorf("GET %s after the route turned dynamic = %s; want BYPASS (the cached path expired)", pattern, r.status)
				}
			})
		})
	}
}

// TestUncachedFetchDefault: with Options.UncachedFetchDefault, a fetch that
// declares neither revalidate nor cache mode is not cached, and does not make
// its route dynamic (rule 2 names no-store and revalidate 0; Next.js 15's
// "auto no cache"): the page stays ISR and calls the origin at each render.
func TestUncachedFetchDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOrigin()
		var site Site
		site.Page("/p", Page{Revalidate: sec(60), Render: fetchPage("p", nil, fetchcache.Request{URL: "/api/x"})})
		site.Page("/q", Page{Render: nopPage, Fetches: []Fetch{{URL: "/api/y"}}})
		e := newEngine(t, &site, Options{Fetcher: o, UncachedFetchDefault: true})
		if p, _ := e.Policy("/q"); p.Kind != Static {
			t.Errorf("policy of /q, declaring an undeclared fetch = %v %q; want static", p.Kind, p.String())
		}
		for _, want := range []string{"MISS", "HIT"} {
			if r := get(e, "/p"); r.status != want || r.body != "p n=0 [/api/x@1]" {
				t.Errorf("GET /p = %s %q; want %s with the first data", r.status, r.body, want)
			}
		}
		if p, _ := e.Policy("/p"); p.Kind != ISR || p.String() != "revalidate 60 from page /p" {
			t.Errorf("policy of /p = %v %q; want isr 60 from the page", p.Kind, p.String())
		}
		o.publish("/api/x")
		time.Sleep(60 * time.Second)
		if r := get(e, "/p"); r.status != "STALE" {
			t.Errorf("GET /p at 60s = %s; want STALE", r.status)
		}
		synctest.Wait()
		if r := get(e, "/p"); r.status != "HIT" || r.body != "p n=0 [/api/x@2]" {
			t.Errorf("GET /p after the regeneration = %s %q; want HIT with the new data", r.status, r.body)
		}
		if got := o.callsTo("/api/x"); got != 2 {
			t.Errorf("origin calls = %d; want 2 (one per render: the fetch is not cached)", got)
		}
	})
}

// TestForceStaticFetchDefault: in force-static mode, fetches default to
// cached with the route's revalidate (rules 4 and 1), also where fetches
// are otherwise uncached by default.
func TestForceStaticFetchDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOrigin()
		var site Site
		site.Page("/p", Page{Revalidate: sec(60), Dynamic: regen.ForceStatic, Render: fetchPage("p", nil, fetchcache.Request{URL: "/api/x"})})
		e := newEngine(t, &site, Options{Fetcher: o, UncachedFetchDefault: true})
		for _, want := range []string{"MISS", "HIT"} {
			if r := get(e, "/p"); r.status != want || r.body != "p n=0 [/api/x@1]" {
				t.Errorf("GET /p = %s %q; want %s with the first data", r.status, r.body, want)
			}
		}
		o.publish("/api/x")
		time.Sleep(60 * time.Second)
		get(e, "/p")
		synctest.Wait()
		if r := get(e, "/p"); r.status != "HIT" || r.body != "p n=0 [/api/x@2]" {
			t.Errorf("GET /p after the regeneration = %s %q; want HIT with the new data (the fetch cached for 60s)", r.status, r.body)
		}
		if got := o.callsTo("/api/x"); got != 2 {
			t.Errorf("origin calls = %d; want 2", got)
		}
	})
}

// TestModes: force-static empties dynamic APIs; error fails naming the API.
func TestModes(t *testing.T) {
	readsCookie := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		u, _ := s.Cookie("user")
		fmt.Fprintf(w, "user=%q", u)
		return nil
	})
	var site Site
	site.Page("/static", Page{Dynamic: regen.ForceStatic, Render: readsCookie})
	site.Page("/strict", Page{Dynamic: regen.DynamicError, Render: readsCookie})
	var logs logBuffer
	e := newEngine(t, &site, Options{Logger: logs.logger()})

	if r := get(e, "/static", "Cookie", "user=ann"); r.status != "MISS" || r.body != `user=""` {
		t.Errorf("force-static GET = %s %q; want MISS with an empty cookie", r.status, r.body)
	}
	if r := get(e, "/static", "Cookie", "user=bob"); r.status != "HIT" || r.body != `user=""` {
		t.Errorf("force-static second GET = %s %q; want HIT", r.status, r.body)
	}
	if r := get(e, "/strict", "Cookie", "user=ann"); r.code != http.StatusInternalServerError {
		t.Errorf("error-mode GET = %d; want 500", r.code)
	}
	want := `dynamic = \"error\" but the render read cookies`
	if !strings.Contains(logs.String(), want) || !strings.Contains(logs.String(), `page /strict:`) {
		t.Errorf("log = %s; want the route, the segment and the API", logs.String())
	}
	_, err := e.Prerender(context.Background(), PrerenderOptions{})
	var me *render.ModeError
	if !errors.As(err, &me) || me.API != "cookies" || me.Route != "/strict" {
		t.Errorf("Prerender error = %v; want a ModeError naming /strict and cookies", err)
	}
}

// TestStaticParamsOnly: dynamicParams false answers 404 without rendering.
func TestStaticParamsOnly(t *testing.T) {
	var c counter
	var site Site
	site.Page("/p/[id]", Page{StaticParamsOnly: true, StaticParams: []render.Params{{"id": "1"}}, Render: fetchPage("p", &c)})
	site.Page("/q/[id]", Page{StaticParams: []render.Params{{"id": "1"}}, Render: fetchPage("q", nil)})
	e := newEngine(t, &site, Options{})
	if r := get(e, "/p/2"); r.code != http.StatusNotFound {
		t.Errorf("GET /p/2 = %d; want 404", r.code)
	}
	if c.get() != 0 {
		t.Errorf("renders = %d; want 0", c.get())
	}
	if r := get(e, "/p/1"); r.code != 200 || r.status != "MISS" {
		t.Errorf("GET /p/1 = %d %s; want 200 MISS", r.code, r.status)
	}
	if r := get(e, "/q/2"); r.code != 200 || r.status != "MISS" {
		t.Errorf("GET /q/2 = %d %s; want 200 MISS (dynamicParams true)", r.code, r.status)
	}
	if r := get(e, "/q/2"); r.status != "HIT" {
		t.Errorf("second GET /q/2 = %s; want HIT (cached on demand)", r.status)
	}
}

// TestFirstRenderFails: a first render that fails or panics answers 500 and
// caches nothing; a later good render is cached.
func TestFirstRenderFails(t *testing.T) {
	var mu sync.Mutex
	mode := "panic"
	var site Site
	site.Page("/p", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		mu.Lock()
		defer mu.Unlock()
		switch mode {
		case "panic":
			panic("nil map")
		case "error":
			return errors.New("bad data")
		}
		io.WriteString(w, "ok")
		return nil
	})})
	var logs logBuffer
	e := newEngine(t, &site, Options{Logger: logs.logger()})
	for _, m := range []string{"panic", "error"} {
		mu.Lock()
		mode = m
		mu.Unlock()
		if r := get(e, "/p"); r.code != 500 || r.status != "BYPASS" {
			t.Errorf("%s: GET /p = %d %s; want 500 BYPASS", m, r.code, r.status)
		}
	}
	if !strings.Contains(logs.String(), "nil map") || !strings.Contains(logs.String(), "bad data") {
		t.Errorf("log = %s; want both failures", logs.String())
	}
	mu.Lock()
	mode = "ok"
	mu.Unlock()
	if r := get(e, "/p"); r.code != 200 || r.status != "MISS" || r.body != "ok" {
		t.Errorf("GET /p = %d %s %q; want 200 MISS ok", r.code, r.status, r.body)
	}
}

// TestPrerender renders every static and ISR path ahead of time; later
// requests are HITs without a render.
func TestPrerender(t *testing.T) {
	var site Site
	site.Layout("/", Layout{Render: wrap("html")})
	site.Page("/", Page{Render: nopPage})
	site.Page("/(marketing)/about", Page{Render: nopPage})
	site.Page("/blog/[slug]", Page{Revalidate: sec(60), Render: nopPage, StaticParams: []render.Params{{"slug": "a"}, {"slug": "b"}}})
	site.Page("/docs/[[...path]]", Page{Render: nopPage, StaticParams: []render.Params{{}, {"path": "x/y"}}})
	site.Page("/me", Page{Dynamic: regen.ForceDynamic, Render: nopPage})
	e := newEngine(t, &site, Options{})
	got, err := e.Prerender(context.Background(), PrerenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range got {
		paths = append(paths, p.Path)
	}
	want := []string{"/", "/about", "/blog/a", "/blog/b", "/docs", "/docs/x/y"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("Prerender paths = %v; want %v", paths, want)
	}
	renders := e.Stats().Renders
	for _, p := range want {
		if r := get(e, p); r.status != "HIT" || r.body != "<html>page</html>" {
			t.Errorf("GET %s = %s %q; want HIT", p, r.status, r.body)
		}
	}
	if e.Stats().Renders != renders {
		t.Errorf("renders after prerender = %d; want %d", e.Stats().Renders, renders)
	}
	if r := get(e, "/me"); r.status != "BYPASS" {
		t.Errorf("GET /me = %s; want BYPASS", r.status)
	}
}

// TestHeaders checks the headers per kind and ETag/304.
func TestHeaders(t *testing.T) {
	var site Site
	site.Page("/static", Page{Render: nopPage})
	site.Page("/isr", Page{Revalidate: sec(60), Render: nopPage})
	site.Page("/dyn", Page{Dynamic: regen.ForceDynamic, Render: nopPage})
	e := newEngine(t, &site, Options{})
	for _, tt := range []struct{ path, cc string }{
		{"/static", "s-maxage=31536000"},
		{"/isr", "s-maxage=60, stale-while-revalidate=31535940"},
		{"/dyn", "private, no-cache, no-store, max-age=0, must-revalidate"},
	} {
		r := get(e, tt.path)
		if got := r.header.Get("Cache-Control"); got != tt.cc {
			t.Errorf("GET %s Cache-Control = %q; want %q", tt.path, got, tt.cc)
		}
		if r.header.Get("Cache-Status") == "" {
			t.Errorf("GET %s has no Cache-Status", tt.path)
		}
	}
	r := get(e, "/static")
	tag := r.header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag on a cached response")
	}
	if r := get(e, "/static", "If-None-Match", `"x", `+tag); r.code != http.StatusNotModified || r.body != "" {
		t.Errorf("If-None-Match = %d %q; want 304 without a body", r.code, r.body)
	}
	if r := get(e, "/static", "If-None-Match", `"other"`); r.code != 200 {
		t.Errorf("non-matching If-None-Match = %d; want 200", r.code)
	}
}

// TestNotFoundIgnoresIfNoneMatch: a cached 404 answers 404 whatever
// If-None-Match says (RFC 9110 13.2.1: preconditions apply to 2xx answers).
func TestNotFoundIgnoresIfNoneMatch(t *testing.T) {
	var site Site
	site.Page("/p/[id]", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		return render.ErrNotFound
	})})
	e := newEngine(t, &site, Options{})
	r := get(e, "/p/x")
	if r.code != http.StatusNotFound || r.status != "MISS" {
		t.Fatalf("GET /p/x = %d %s; want 404 MISS", r.code, r.status)
	}
	if r := get(e, "/p/x", "If-None-Match", r.header.Get("ETag")); r.code != http.StatusNotFound || r.status != "HIT" {
		t.Errorf("GET /p/x with its ETag = %d %s; want 404 HIT", r.code, r.status)
	}
}

// TestDebugCache logs every cache decision.
func TestDebugCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var site Site
		site.Page("/p", Page{Revalidate: sec(60), Render: nopPage})
		site.Page("/d", Page{Dynamic: regen.ForceDynamic, Render: nopPage})
		var logs logBuffer
		e := newEngine(t, &site, Options{Logger: logs.logger(), DebugCache: true})
		get(e, "/p")
		get(e, "/p")
		time.Sleep(60 * time.Second)
		get(e, "/p")
		synctest.Wait()
		get(e, "/d")
		get(e, "/nope")
		for _, want := range []string{
			`path=/p status=MISS why="no entry: rendered" age=0s revalidate=60`,
			`path=/p status=HIT why=fresh age=0s revalidate=60`,
			`path=/p status=STALE why="stale; regeneration started" age=1m0s revalidate=60`,
			`path=/d status=BYPASS why="dynamic because page /d declares dynamic force-dynamic"`,
			`path=/nope status=BYPASS why="no route matches: 404"`,
		} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs.String())
			}
		}
	})
}

// TestLongPath: a path whose implicit tag is over regen.MaxTagLen is cached
// like any other; the tag limits are for the tags fetches declare.
func TestLongPath(t *testing.T) {
	var site Site
	site.Page("/p/[id]", Page{Render: nopPage})
	e := newEngine(t, &site, Options{})
	path := "/p/" + strings.Repeat("a", 300)
	for _, want := range []string{"MISS", "HIT"} {
		if r := get(e, path); r.code != 200 || r.status != want {
			t.Errorf("GET /p/aaa... = %d %s; want 200 %s", r.code, r.status, want)
		}
	}
}

// TestEviction: memory is bounded in bytes; an evicted page is rendered
// again on its next request, never served from nowhere.
func TestEviction(t *testing.T) {
	var c counter
	var site Site
	big := strings.Repeat("x", 4000)
	site.Page("/p/[id]", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		fmt.Fprintf(w, "%s n=%d %s", s.Param("id"), c.inc(), big)
		return nil
	})})
	st := store.NewMemory(store.MemoryOptions{MaxBytes: 3 * 4500, Shards: 1})
	e := newEngine(t, &site, Options{Store: st})
	for _, id := range []string{"a", "b", "c", "d"} {
		if r := get(e, "/p/"+id); r.status != "MISS" {
			t.Fatalf("GET /p/%s = %s; want MISS", id, r.status)
		}
	}
	if st.Evictions() == 0 || st.Bytes() > 3*4500 {
		t.Fatalf("evictions = %d, bytes = %d; want the oldest page evicted within the bound", st.Evictions(), st.Bytes())
	}
	r := get(e, "/p/a")
	if r.status != "MISS" || !strings.HasPrefix(r.body, "a n=5 ") {
		t.Errorf("GET /p/a after eviction = %s %.10q; want MISS, rendered again", r.status, r.body)
	}
	if r := get(e, "/p/d"); r.status != "HIT" {
		t.Errorf("GET /p/d = %s; want HIT (recently used)", r.status)
	}
}

// TestRegenerationKeepsPageWhenDataRefreshFails: a regeneration whose data
// refresh fails does not bake the stale data into a page dated now; the old
// page stays STALE, and the next try after the back-off picks up the data.
func TestRegenerationKeepsPageWhenDataRefreshFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOrigin()
		var c counter
		var site Site
		site.Page("/p", Page{Revalidate: sec(60), Render: fetchPage("p", &c, fetchcache.Request{URL: "/api/x", Revalidate: sec(60)})})
		var logs logBuffer
		e := newEngine(t, &site, Options{Fetcher: o, Logger: logs.logger()})
		get(e, "/p")
		o.publish("/api/x")
		o.setFail("/api/x", true)
		time.Sleep(60 * time.Second)
		if r := get(e, "/p"); r.status != "STALE" || r.body != "p n=1 [/api/x@1]" {
			t.Fatalf("GET after the interval = %s %q; want STALE with the old page", r.status, r.body)
		}
		synctest.Wait()
		if r := get(e, "/p"); r.status != "STALE" || r.body != "p n=1 [/api/x@1]" {
			t.Errorf("GET after a failed data refresh = %s %q; want the old page, still STALE", r.status, r.body)
		}
		if !strings.Contains(logs.String(), "refreshing /api/x failed; keeping the last good page") {
			t.Errorf("log = %s; want the failed refresh", logs.String())
		}
		o.setFail("/api/x", false)
		time.Sleep(2 * time.Second) // the back-off
		get(e, "/p")
		synctest.Wait()
		if r := get(e, "/p"); r.status != "HIT" || r.body != "p n=3 [/api/x@2]" {
			t.Errorf("GET after the origin is back = %s %q; want HIT with the new data", r.status, r.body)
		}
	})
}
