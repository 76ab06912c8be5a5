package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
)

// itemsSite is a small site registered in Go: a page per item, each
// fetching its item with a tag. skipFetch makes the renders leave out
// their declared fetch; varying makes Register register one more page on
// each call.
func itemsSite(skipFetch, varying bool) *GoSite {
	var calls atomic.Int64
	return &GoSite{
		Name:    "items",
		Latency: 10 * time.Millisecond,
		Register: func(r *Registrar) fetchcache.Fetcher {
			n := calls.Add(1)
			var item engine.Page
			item = r.Page("/items/[id]", engine.Page{
				Revalidate:   regen.Seconds(120),
				StaticParams: []render.Params{{"id": "a"}, {"id": "b"}},
				Fetches:      []engine.Fetch{{URL: "/api/items/{id}", Tags: []string{"item-{id}"}}},
				Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
					if !skipFetch {
						f := item.Fetches[0]
						if _, err := s.Fetch(ctx, &fetchcache.Request{URL: "/api/items/" + s.Param("id"), Revalidate: f.Revalidate, Cache: f.Cache, Tags: []string{"item-" + s.Param("id")}}); err != nil {
							return err
						}
					}
					_, err := fmt.Fprintf(w, "<h1>%s</h1>", s.Param("id"))
					return err
				}),
			}, 2*time.Millisecond)
			if varying && n%2 == 0 {
				r.Page("/other", engine.Page{Render: render.PageFunc(func(context.Context, *render.Scope, io.Writer) error { return nil })}, 0)
			}
			return fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
				b, _ := json.Marshal(map[string]string{"id": req.URL})
				return &fetchcache.Response{Status: http.StatusOK, Body: b}, nil
			})
		},
	}
}

func itemsWorkload(site *GoSite) *Workload {
	return &Workload{
		GoSite:     site,
		Traffic:    Traffic{Duration: Duration(time.Hour), Zipf: 1},
		Changes:    Changes{PerHour: 30},
		Strategies: []string{"ssr", "isr:60s", "isr:60s+on-demand", "declared"},
	}
}

// TestGoSite runs the bench on a site registered in Go: its declarations
// are the spec's, its renders and fetcher are its own, and the strategies
// rewrite what its renders fetch (SSR calls the origin on every request).
func TestGoSite(t *testing.T) {
	rep, err := Run(context.Background(), itemsWorkload(itemsSite(false, false)), Options{})
	if err != nil {
		t.Fatalf("Run error: %v", err)
	}
	if rep.Site != "items" || rep.Paths != 2 || rep.URLs != 2 {
		t.Errorf("Run: site %q, %d paths, %d URLs; want items, 2, 2", rep.Site, rep.Paths, rep.URLs)
	}
	byName := map[string]*Result{}
	for _, r := range rep.Strategies {
		byName[r.Name] = r
	}
	if r := byName["SSR"]; r.RendersPer1k != 1000 || r.OriginPer1k != 1000 || r.FreshShare != 1 {
		t.Errorf("SSR: renders/1k %v, origin/1k %v, fresh %v; want 1000, 1000, 1", r.RendersPer1k, r.OriginPer1k, r.FreshShare)
	}
	isr, od := byName["ISR(1m)"], byName["ISR(1m)+on-demand"]
	if isr.FreshShare >= 1 || od.FreshShare <= isr.FreshShare {
		t.Errorf("fresh: ISR(1m) %v, ISR(1m)+on-demand %v; want ISR below 1 and the webhook fresher", isr.FreshShare, od.FreshShare)
	}
	if r := byName["declared"]; r.RendersPer1k >= 1000 || r.Hit == 0 {
		t.Errorf("declared: renders/1k %v, hits %d; want it cached", r.RendersPer1k, r.Hit)
	}
}

// TestGoSiteErrors checks what the bench says of a site registered in Go
// that breaks its contract.
func TestGoSiteErrors(t *testing.T) {
	tests := []struct {
		name string
		site *GoSite
		want string
	}{
		{"a render leaves out its declared fetch", itemsSite(true, false), `"/items/[id]": its render did not make its declared fetch "/api/items/a"`},
		{"registrations vary between calls", itemsSite(false, true), `registration 2 is page "/other", not what its first call registered there`},
		{"no Register", &GoSite{Name: "empty"}, `GoSite "empty": no Register`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), itemsWorkload(tt.site), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error = %v; want one containing %q", err, tt.want)
			}
		})
	}
}

// TestGoSiteLive runs a site registered in Go in live mode, behind a real
// server: its latency and costs are waited for real.
func TestGoSiteLive(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for real")
	}
	w := itemsWorkload(itemsSite(false, false))
	w.Strategies = []string{"ssr", "isr:60s"}
	w.Live = Live{Duration: Duration(300 * time.Millisecond)}
	w.Traffic.RPS = 50
	rep, err := Run(context.Background(), w, Options{Live: true})
	if err != nil {
		t.Fatalf("Run (live) error: %v", err)
	}
	for _, r := range rep.Strategies {
		if r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors; want some, none", r.Name, r.Requests, r.Errors)
		}
	}
}

// holeSite is a site registered in Go whose layout has a hole: a greeting
// that reads the "user" cookie and makes an uncached fetch, costing 5ms.
func holeSite() *GoSite {
	return &GoSite{
		Name:    "holes",
		Latency: 10 * time.Millisecond,
		Register: func(r *Registrar) fetchcache.Fetcher {
			var root engine.Layout
			root = r.Layout("/", engine.Layout{
				Holes: []engine.Hole{r.Hole(engine.Hole{
					Name:    "greeting",
					Uses:    []regen.API{regen.Cookies},
					Fetches: []engine.Fetch{{URL: "/api/me", Cache: regen.NoStore}},
					Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
						f := root.Holes[0].Fetches[0]
						if _, err := s.Fetch(ctx, &fetchcache.Request{URL: f.URL, Revalidate: f.Revalidate, Cache: f.Cache}); err != nil {
							return err
						}
						user, _ := s.Cookie("user")
						_, err := fmt.Fprintf(w, "<p>Hello %s</p>", user)
						return err
					}),
				}, 5*time.Millisecond)},
				Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
					io.WriteString(w, "<header>")
					if err := s.Hole(w, "greeting"); err != nil {
						return err
					}
					io.WriteString(w, "</header>")
					return child.Render(ctx, w)
				}),
			}, time.Millisecond)
			itemsSite(false, false).Register(r)
			return fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
				b, _ := json.Marshal(map[string]string{"id": req.URL})
				return &fetchcache.Response{Status: http.StatusOK, Body: b}, nil
			})
		},
	}
}

// TestGoSiteHoles checks that a Go site's holes are declared with their
// costs (Registrar.Hole) and that the strategies apply to them: PPR renders
// the hole per request (its last byte is the hole's latency and cost), ISR
// serves the site without it, SSR folds it into the layout (its fetch is
// made in the layout's render).
func TestGoSiteHoles(t *testing.T) {
	spec, err := holeSite().declare()
	if err != nil {
		t.Fatal(err)
	}
	hs := spec.Segments[0].Layout.Holes
	if len(hs) != 1 || hs[0].Name != "greeting" || hs[0].Cost != 5*time.Millisecond || len(hs[0].Fetches) != 1 || hs[0].Fetches[0].Cache != regen.NoStore {
		t.Fatalf("declared holes = %+v; want greeting, 5ms, one no-store fetch", hs)
	}
	w := itemsWorkload(holeSite())
	w.Changes.PerHour = 0
	w.Traffic.Duration = Duration(5 * time.Minute)
	w.Strategies = []string{"ssr", "ppr:60s", "isr:60s"}
	rep, err := Run(context.Background(), w, Options{})
	if err != nil {
		t.Fatalf("Run error: %v", err)
	}
	ssr, ppr, isr := rep.Strategies[0], rep.Strategies[1], rep.Strategies[2]
	if got, want := ppr.LastByte.P50, 15.0; got != want {
		t.Errorf("PPR last byte p50 = %vms; want %vms (the hole's fetch and cost)", got, want)
	}
	if ppr.TTFB != isr.TTFB || isr.LastByte != isr.TTFB {
		t.Errorf("ttfb PPR %+v, ISR %+v, ISR last byte %+v; want all ISR's first byte", ppr.TTFB, isr.TTFB, isr.LastByte)
	}
	// PPR calls the origin once a request (the hole), ISR only to regenerate,
	// SSR twice (the page and the hole).
	if ppr.OriginPer1k < 1000 || isr.OriginPer1k >= 100 || ssr.OriginPer1k != 2000 {
		t.Errorf("origin/1k: SSR %v, PPR %v, ISR %v; want 2000, at least 1000, few", ssr.OriginPer1k, ppr.OriginPer1k, isr.OriginPer1k)
	}
}
