package bench_test

import (
	"context"
	"fmt"
	"time"

	"github.com/regen-dev/regen/bench"
)

// Run compares strategies on the demo shop: ten minutes of traffic with a
// content change a minute, on virtual time, simulated in a fraction of a
// second. ISR serves from the cache like
// SSG, and the webhook keeps it as fresh as SSR, which renders every request.
func ExampleRun() {
	w, err := bench.DefaultWorkload()
	if err != nil {
		panic(err)
	}
	w.Traffic.Duration = bench.Duration(10 * time.Minute)
	w.Changes.PerHour = 60
	w.Strategies = []string{"ssr", "isr:60s", "isr:60s+on-demand:expire"}
	rep, err := bench.Run(context.Background(), w, bench.Options{})
	if err != nil {
		panic(err)
	}
	for _, s := range rep.Strategies {
		fmt.Printf("%-28s cached %3.0f%%  renders/1k %6.1f  fresh %5.1f%%\n",
			s.Name, 100*float64(s.Hit+s.Stale)/float64(s.Requests), s.RendersPer1k, 100*s.FreshShare)
	}
	// Output:
	// SSR                          cached   0%  renders/1k 1000.0  fresh 100.0%
	// ISR(1m)                      cached 100%  renders/1k   15.0  fresh  90.2%
	// ISR(1m)+on-demand(expire)    cached 100%  renders/1k   17.7  fresh 100.0%
}
