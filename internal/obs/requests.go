package obs

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Requests is a counter and a duration histogram of requests, by a small
// label value (a cache status), read from one set of atomic counters: an
// observation costs two atomic adds (its bucket, and the sum in
// nanoseconds), where a prometheus.Counter beside a prometheus.Histogram
// costs six. The counter is the histogram's count, so the two always agree.
// It is a prometheus.Collector, safe for concurrent use.
type Requests struct {
	counts, durations *prometheus.Desc
	labels            []string        // by index
	bounds            []time.Duration // the buckets' upper bounds, ascending
	upper             []float64       // the same, in seconds
	series            []requestSeries // by index
}

type requestSeries struct {
	buckets []atomic.Uint64 // one per bound, and +Inf: not cumulative
	sum     atomic.Int64    // nanoseconds
}

// NewRequests returns a Requests exporting the counter count and the
// histogram duration (in seconds, with buckets), each with the label
// label taking the values labels (Observe's index).
func NewRequests(count, countHelp, duration, durationHelp, label string, labels []string, buckets []float64) *Requests {
	r := &Requests{
		counts:    prometheus.NewDesc(count, countHelp, []string{label}, nil),
		durations: prometheus.NewDesc(duration, durationHelp, []string{label}, nil),
		labels:    slices.Clone(labels),
		upper:     slices.Clone(buckets),
		series:    make([]requestSeries, len(labels)),
	}
	for _, b := range buckets {
		r.bounds = append(r.bounds, time.Duration(b*float64(time.Second)))
	}
	for i := range r.series {
		r.series[i].buckets = make([]atomic.Uint64, len(buckets)+1)
	}
	return r
}

// Observe counts one request of label index i that took d.
func (r *Requests) Observe(i int, d time.Duration) {
	s := &r.series[i]
	b := 0
	for b < len(r.bounds) && d > r.bounds[b] {
		b++
	}
	s.buckets[b].Add(1)
	s.sum.Add(int64(d))
}

// Describe implements prometheus.Collector.
func (r *Requests) Describe(ch chan<- *prometheus.Desc) {
	ch <- r.counts
	ch <- r.durations
}

// Collect implements prometheus.Collector. A scrape during observations
// may see a bucket's count without its sum, never a count above the sum
// of its buckets.
func (r *Requests) Collect(ch chan<- prometheus.Metric) {
	for i := range r.series {
		s := &r.series[i]
		cum := make(map[float64]uint64, len(r.upper))
		var n uint64
		for b := range s.buckets {
			n += s.buckets[b].Load()
			if b < len(r.upper) {
				cum[r.upper[b]] = n
			}
		}
		sum := time.Duration(s.sum.Load()).Seconds()
		ch <- prometheus.MustNewConstMetric(r.counts, prometheus.CounterValue, float64(n), r.labels[i])
		ch <- prometheus.MustNewConstHistogram(r.durations, n, sum, cum, r.labels[i])
	}
}
