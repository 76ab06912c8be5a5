package fetchcache

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/internal/obs"
)

// metrics are the Data Cache's Prometheus metrics, every labelled child
// resolved once, so that counting costs no lookup. nil when
// Options.Metrics is nil.
type metrics struct {
	requests [regen.Bypass + 1]prometheus.Counter // by regen.Status
	origin   [obs.NResults]prometheus.Counter     // by result
	duration prometheus.Observer
}

// newMetrics registers the Data Cache's metrics on r. A Data Cache sharing
// r with another (each engine makes one) adds to the same counts.
func newMetrics(r prometheus.Registerer) (*metrics, error) {
	g := obs.Registrar{R: r}
	req := g.CounterVec("regen_data_cache_requests_total",
		"Fetches and memoized calls made while rendering, by how the Data Cache answered them: hit (fresh), stale (served while refreshing), miss (waited for the origin), bypass (uncached).", "cache")
	origin := g.CounterVec("regen_origin_fetches_total",
		"Calls to the origin (fetches and memoized functions), by result: ok, error (an error or a non-2xx answer), timeout.", "result")
	dur := g.Histogram("regen_origin_fetch_duration_seconds", "How long calls to the origin took.", obs.WorkBuckets)
	if g.Err != nil {
		return nil, g.Err
	}
	m := &metrics{duration: dur}
	for _, st := range []regen.Status{regen.Hit, regen.Stale, regen.Miss, regen.Bypass} {
		m.requests[st] = req.WithLabelValues(obs.CacheLabel(st))
	}
	for i, n := range obs.ResultNames {
		m.origin[i] = origin.WithLabelValues(n)
	}
	return m, nil
}

// resultOf classifies an origin call's error.
func resultOf(err error) int {
	var te interface{ Timeout() bool }
	switch {
	case err == nil:
		return obs.ResultOK
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &te) && te.Timeout():
		return obs.ResultTimeout
	}
	return obs.ResultError
}

// originDone counts an origin call that started at start.
func (m *metrics) originDone(start time.Time, err *error) {
	m.origin[resultOf(*err)].Inc()
	m.duration.Observe(time.Since(start).Seconds())
}

// startFetch starts the span of the fetch or memoized call j; it returns
// ctx and a nil span when tracing is off.
func (c *Cache) startFetch(ctx context.Context, j *job) (context.Context, trace.Span) {
	if c.tracer == nil {
		return ctx, nil
	}
	return c.tracer.Start(ctx, "regen.fetch", trace.WithAttributes(attribute.String("url.full", j.name())))
}

// fetched counts a fetch's Data Cache outcome and ends its span.
func (c *Cache) fetched(sp trace.Span, res *Result, err error) {
	if c.metrics != nil && res.Status != 0 {
		c.metrics.requests[res.Status].Inc()
	}
	if sp == nil {
		return
	}
	if res.Status != 0 {
		sp.SetAttributes(attribute.String("regen.data_cache", res.Status.String()))
	}
	if err != nil {
		sp.RecordError(err)
		sp.SetStatus(codes.Error, err.Error())
	}
	sp.End()
}

// observe sets up the metrics and tracer of opts; a registration error is
// logged and leaves the cache without metrics.
func (c *Cache) observe(opts Options) {
	if opts.Metrics != nil {
		m, err := newMetrics(opts.Metrics)
		if err != nil {
			c.logger.Warn("fetchcache: metrics not registered", "error", err)
		}
		c.metrics = m
	}
	if opts.TracerProvider != nil {
		c.tracer = opts.TracerProvider.Tracer(obs.TracerName)
	}
}
