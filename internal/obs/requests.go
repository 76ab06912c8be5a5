package obs

import (
	"math/rand/v2"
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
// The counters are striped: an observation adds to one of stripes copies,
// each on its own cache lines, chosen at random, so that cores serving hits
// at once do not contend for one cache line; a scrape adds the copies up.
// It is a prometheus.Collector, safe for concurrent use.
type Requests struct {
	counts, durations *prometheus.Desc
	labels            []string        // by index
	bounds            []time.Duration // the buckets' upper bounds, ascending
	upper             []float64       // the same, in seconds
	// cells holds, for each stripe and label, a row of width counters: one
	// per bucket (not cumulative) and +Inf, then the sum in nanoseconds.
	cells []atomic.Uint64
	width int
}

// stripes is how many copies of the counters Requests keeps.
const stripes = 16

// NewRequests returns a Requests exporting the counter count and the
// histogram duration (in seconds, with buckets), each with the label
// label taking the values labels (Observe's index).
func NewRequests(count, countHelp, duration, durationHelp, label string, labels []string, buckets []float64) *Requests {
	r := &Requests{
		counts:    prometheus.NewDesc(count, countHelp, []string{label}, nil),
		durations: prometheus.NewDesc(duration, durationHelp, []string{label}, nil),
		labels:    slices.Clone(labels),
		upper:     slices.Clone(buckets),
	}
	for _, b := range buckets {
		r.bounds = append(r.bounds, time.Duration(b*float64(time.Second)))
	}
	// Buckets, +Inf and the sum, rounded up to whole 64-byte cache lines.
	r.width = (len(buckets) + 2 + 7) &^ 7
	r.cells = make([]atomic.Uint64, stripes*len(labels)*r.width)
	return r
}

// row returns the counters of label index i in stripe st.
func (r *Requests) row(st, i int) []atomic.Uint64 {
	off := (st*len(r.labels) + i) * r.width
	return r.cells[off : off+r.width]
}

// Observe counts one request of label index i that took d.
func (r *Requests) Observe(i int, d time.Duration) {
	row := r.row(int(rand.Uint32()%stripes), i)
	b := 0
	for b < len(r.bounds) && d > r.bounds[b] {
		b++
	}
	row[b].Add(1)
	row[len(r.bounds)+1].Add(uint64(d))
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
	nb := len(r.bounds) + 1
	for i := range r.labels {
		counts := make([]uint64, nb)
		var sumNanos uint64
		for st := range stripes {
			row := r.row(st, i)
			for b := range nb {
				counts[b] += row[b].Load()
			}
			sumNanos += row[nb].Load()
		}
		cum := make(map[float64]uint64, len(r.upper))
		var n uint64
		for b, c := range counts {
			n += c
			if b < len(r.upper) {
				cum[r.upper[b]] = n
			}
		}
		sum := time.Duration(sumNanos).Seconds()
		ch <- prometheus.MustNewConstMetric(r.counts, prometheus.CounterValue, float64(n), r.labels[i])
		ch <- prometheus.MustNewConstHistogram(r.durations, n, sum, cum, r.labels[i])
	}
}
