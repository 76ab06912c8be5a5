// Package obs holds what the engine and the Data Cache share to register
// their Prometheus metrics and start their OpenTelemetry spans.
package obs

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regen-dev/regen"
)

// Register registers c on r and returns it, or, when r already holds an
// equal collector (another engine or Data Cache registered on the same
// Registerer), that one, so that they add up their counts. Any other
// registration error is returned.
func Register[T prometheus.Collector](r prometheus.Registerer, c T) (T, error) {
	err := r.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if ex, ok := are.ExistingCollector.(T); ok {
			return ex, nil
		}
	}
	var zero T
	return zero, err
}

// Registrar registers collectors on one Registerer and keeps the first
// error, so that a constructor can register many and check once.
type Registrar struct {
	R   prometheus.Registerer
	Err error
}

// CounterVec registers a counter vector.
func (g *Registrar) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return reg(g, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
}

// Counter registers a counter.
func (g *Registrar) Counter(name, help string) prometheus.Counter {
	return reg(g, prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help}))
}

// Gauge registers a gauge.
func (g *Registrar) Gauge(name, help string) prometheus.Gauge {
	return reg(g, prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help}))
}

// HistogramVec registers a histogram vector with buckets.
func (g *Registrar) HistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return reg(g, prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels))
}

// Histogram registers a histogram with buckets.
func (g *Registrar) Histogram(name, help string, buckets []float64) prometheus.Histogram {
	return reg(g, prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}))
}

func reg[T prometheus.Collector](g *Registrar, c T) T {
	got, err := Register(g.R, c)
	if err != nil {
		if g.Err == nil {
			g.Err = err
		}
		return c // unregistered: counts go nowhere, and the error says so
	}
	return got
}

// Buckets of the duration histograms, in seconds: from a cache hit (well
// under a millisecond) to a render at the default timeout (30s).
var (
	RequestBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	WorkBuckets    = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
)

// TracerName is the instrumentation scope of regen's spans.
const TracerName = "github.com/regen-dev/regen"

// CacheLabel is the value of a cache label: hit, stale, miss or bypass.
func CacheLabel(st regen.Status) string {
	switch st {
	case regen.Hit:
		return "hit"
	case regen.Stale:
		return "stale"
	case regen.Miss:
		return "miss"
	}
	return "bypass"
}

// Results of a render or an origin call, as the label result names them.
const (
	ResultOK = iota
	ResultError
	ResultTimeout
	NResults
)

// ResultNames are the label values of the results, by result.
var ResultNames = [NResults]string{"ok", "error", "timeout"}
