package engine

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkServeHitObserved is BenchmarkServeHit without metrics, with
// them, and with tracing (every span sampled, none exported), in one run:
// the metrics' cost on the hit path (goal: under 5% of the hit, no
// allocation). With the clock fixed (as in BenchmarkServeHitFixedClock),
// it is the cost of counting alone, without the clock read that times the
// request.
func BenchmarkServeHitObserved(b *testing.B) {
	t := time.Now()
	fixed := func() time.Time { return t }
	b.Run("metrics=off", func(b *testing.B) { benchServeHit(b, Options{}) })
	b.Run("metrics=on", func(b *testing.B) { benchServeHit(b, Options{Metrics: prometheus.NewRegistry()}) })
	b.Run("clock=fixed/metrics=off", func(b *testing.B) { benchServeHit(b, Options{Now: fixed}) })
	b.Run("clock=fixed/metrics=on", func(b *testing.B) {
		benchServeHit(b, Options{Now: fixed, Metrics: prometheus.NewRegistry()})
	})
	b.Run("tracing=on", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider()
		defer tp.Shutdown(b.Context())
		benchServeHit(b, Options{TracerProvider: tp})
	})
}
