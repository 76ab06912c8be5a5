package bench

import (
	"context"
	"testing"
	"time"
)

// BenchmarkSimulate drives the real engine through the simulator with the
// demo workload, one strategy per sub-benchmark, and reports simulated
// requests per second of wall time on one goroutine.
func BenchmarkSimulate(b *testing.B) {
	for _, name := range []string{"ssg", "isr:60s", "isr:60s+on-demand", "ssr+data", "ssr"} {
		b.Run(name, func(b *testing.B) {
			w, err := DefaultWorkload()
			if err != nil {
				b.Fatal(err)
			}
			w.Traffic.Duration = Duration(6 * time.Hour)
			w.Strategies = []string{name}
			cat, err := discover(context.Background(), w)
			if err != nil {
				b.Fatal(err)
			}
			st, _ := ParseStrategy(name)
			var requests int64
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				s, err := newSim(w, cat, st, nil)
				if err != nil {
					b.Fatal(err)
				}
				r, err := s.run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				requests += r.Requests
			}
			b.ReportMetric(float64(requests)/time.Since(start).Seconds(), "sim-req/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
