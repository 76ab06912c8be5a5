package obs

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRequests: the counter is the histogram's count, and each
// observation lands in the first bucket at or above it, as a
// prometheus.Histogram places it.
func TestRequests(t *testing.T) {
	r := NewRequests("x_total", "Requests.", "x_seconds", "Durations.", "cache", []string{"hit", "miss"}, []float64{.001, .01})
	reg := prometheus.NewRegistry()
	reg.MustRegister(r)
	r.Observe(0, 0)
	r.Observe(0, time.Millisecond) // at the bound: in it
	r.Observe(0, 5*time.Millisecond)
	r.Observe(1, time.Second) // +Inf
	want := `
# HELP x_seconds Durations.
# TYPE x_seconds histogram
x_seconds_bucket{cache="hit",le="0.001"} 2
x_seconds_bucket{cache="hit",le="0.01"} 3
x_seconds_bucket{cache="hit",le="+Inf"} 3
x_seconds_sum{cache="hit"} 0.006
x_seconds_count{cache="hit"} 3
x_seconds_bucket{cache="miss",le="0.001"} 0
x_seconds_bucket{cache="miss",le="0.01"} 0
x_seconds_bucket{cache="miss",le="+Inf"} 1
x_seconds_sum{cache="miss"} 1
x_seconds_count{cache="miss"} 1
# HELP x_total Requests.
# TYPE x_total counter
x_total{cache="hit"} 3
x_total{cache="miss"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func BenchmarkRequestsObserve(b *testing.B) {
	r := NewRequests("x_total", "", "x_seconds", "", "cache", []string{"hit"}, RequestBuckets)
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Buckets: RequestBuckets})
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c"})
	b.Run("obs.Requests", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.Observe(0, 20*time.Microsecond)
		}
	})
	b.Run("prometheus.Counter+Histogram", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.Inc()
			h.Observe((20 * time.Microsecond).Seconds())
		}
	})
}
