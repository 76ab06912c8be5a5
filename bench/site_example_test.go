package bench_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/bench"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
)

// A site registered in Go is benchmarked like a spec: it registers through
// the bench's Registrar, and each render makes the fetches of the
// declaration Registrar returns, which each strategy rewrites. Here a blog
// whose posts are fetched from a CMS 50 ms away, on a simulated hour.
func ExampleGoSite() {
	blog := &bench.GoSite{
		Name:    "blog",
		Latency: 50 * time.Millisecond,
		Register: func(r *bench.Registrar) fetchcache.Fetcher {
			var post engine.Page
			post = r.Page("/posts/[slug]", engine.Page{
				Revalidate:   regen.Seconds(300),
				StaticParams: []render.Params{{"slug": "hello"}, {"slug": "isr"}, {"slug": "go"}},
				Fetches:      []engine.Fetch{{URL: "/cms/posts/{slug}", Tags: []string{"post-{slug}"}}},
				Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
					f := post.Fetches[0] // as the strategy declares it
					resp, err := s.Fetch(ctx, &fetchcache.Request{
						URL: "/cms/posts/" + s.Param("slug"), Revalidate: f.Revalidate, Cache: f.Cache,
						Tags: []string{"post-" + s.Param("slug")},
					})
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(w, "<article>%s</article>", resp.Body)
					return err
				}),
			}, 5*time.Millisecond) // the render's cost on the bench's clock
			return fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
				return &fetchcache.Response{Status: http.StatusOK, Body: []byte("post " + req.URL)}, nil
			})
		},
	}
	w, err := bench.DefaultWorkload()
	if err != nil {
		panic(err)
	}
	w.GoSite = blog
	w.Traffic.Duration = bench.Duration(time.Hour)
	w.Changes.PerHour = 20
	w.Strategies = []string{"ssr", "isr:60s", "isr:60s+on-demand", "declared"}
	rep, err := bench.Run(context.Background(), w, bench.Options{})
	if err != nil {
		panic(err)
	}
	for _, s := range rep.Strategies {
		fmt.Printf("%-20s cached %3.0f%%  origin/1k %6.1f  fresh %5.1f%%\n",
			s.Name, 100*float64(s.Hit+s.Stale)/float64(s.Requests), s.OriginPer1k, 100*s.FreshShare)
	}
	// Output:
	// SSR                  cached   0%  origin/1k 1000.0  fresh 100.0%
	// ISR(1m)              cached 100%  origin/1k    4.9  fresh  93.3%
	// ISR(1m)+on-demand    cached 100%  origin/1k    5.3  fresh  99.9%
	// declared             cached 100%  origin/1k    0.9  fresh  73.8%
}
