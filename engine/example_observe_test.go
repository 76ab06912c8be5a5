package engine_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/render"
)

// ExampleOptions_metrics counts what the cache does on a registry of the
// example's own: one MISS renders the page, the next requests are HITs,
// and past its revalidate one STALE request regenerates it.
func ExampleOptions_metrics() {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var site engine.Site
	site.Page("/", engine.Page{Revalidate: regen.Seconds(60), Render: render.PageFunc(
		func(ctx context.Context, s *render.Scope, w io.Writer) error {
			_, err := io.WriteString(w, "home")
			return err
		})})
	reg := prometheus.NewRegistry()
	e, err := engine.New(&site, engine.Options{Now: clock.Now, Scheduler: inline, Metrics: reg})
	if err != nil {
		panic(err)
	}
	defer e.Close()

	serve(e, "/")
	serve(e, "/")
	serve(e, "/")
	clock.Advance(time.Minute)
	serve(e, "/")

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		switch mf.GetName() {
		case "regen_requests_total", "regen_renders_total":
			for _, m := range mf.GetMetric() {
				if v := m.GetCounter().GetValue(); v > 0 {
					fmt.Print(mf.GetName(), "{")
					for i, l := range m.GetLabel() {
						if i > 0 {
							fmt.Print(",")
						}
						fmt.Printf("%s=%q", l.GetName(), l.GetValue())
					}
					fmt.Println("}", v)
				}
			}
		}
	}
	// Output:
	// / MISS home
	// / HIT home
	// / HIT home
	// / STALE home
	// regen_renders_total{reason="miss",result="ok"} 1
	// regen_renders_total{reason="regenerate",result="ok"} 1
	// regen_requests_total{cache="hit"} 2
	// regen_requests_total{cache="miss"} 1
	// regen_requests_total{cache="stale"} 1
}
