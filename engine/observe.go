package engine

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/internal/obs"
	"github.com/regen-dev/regen/store"
)

// ErrMetrics is the rule broken when Options.Metrics refuses the engine's
// metrics: the Registerer holds a different metric under one of their names.
var ErrMetrics = errors.New("engine: metrics not registered")

// Why a render ran, as regen_renders_total labels it.
type renderReason uint8

const (
	reasonMiss       renderReason = iota // a request found no entry (MISS)
	reasonRegenerate                     // a background regeneration of a STALE entry
	reasonPrerender                      // Prerender (a build)
	reasonDynamic                        // a dynamic route, rendered per request (BYPASS)
	nReasons
)

var reasonNames = [nReasons]string{"miss", "regenerate", "prerender", "dynamic"}

func (r renderReason) String() string { return reasonNames[r] }

// resultOf classifies a render's error; a render that returned after its
// deadline (ctx ended) timed out whatever it returned.
func resultOf(ctx context.Context, err error) int {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return obs.ResultTimeout
	case err != nil:
		return obs.ResultError
	}
	return obs.ResultOK
}

// Store operations, as regen_store_errors_total and the store spans name
// them.
type storeOp uint8

const (
	opGet storeOp = iota
	opSet
	opDelete
	opRevalidateTags
	opTagState
	opLock
	nOps
)

var opNames = [nOps]string{"get", "set", "delete", "revalidate_tags", "tag_state", "lock"}

// metrics are the engine's Prometheus metrics, every labelled child resolved
// at New, so that a HIT counts without a lookup or an allocation. nil when
// Options.Metrics is nil.
type metrics struct {
	requests      *obs.Requests // regen_requests_total and regen_request_duration_seconds, by regen.Status - Hit
	renders       [nReasons][obs.NResults]prometheus.Counter
	renderDur     [nReasons]prometheus.Observer
	inFlight      prometheus.Gauge
	deduplicated  prometheus.Counter
	holeFailures  prometheus.Counter
	revalidations [2][2]prometheus.Counter // by kind (tag, path), mode (stale, expire)
	storeErrors   [nOps]prometheus.Counter
}

// Kinds of revalidation, as regen_revalidations_total labels them.
const (
	kindTag = iota
	kindPath
)

// newMetrics registers the engine's metrics on r. Engines sharing r add to
// the same counts.
func newMetrics(r prometheus.Registerer) (*metrics, error) {
	g := obs.Registrar{R: r}
	// One collector for both request metrics: two atomic adds per request.
	req, err := obs.Register(r, obs.NewRequests("regen_requests_total",
		"Requests the engine answered, by cache status: hit (fresh entry), stale (old entry served while one regeneration runs), miss (waited for a render), bypass (dynamic, not found, errors).",
		"regen_request_duration_seconds", "How long the engine took to answer a request, by cache status.",
		"cache", []string{"hit", "stale", "miss", "bypass"}, obs.RequestBuckets)) // by regen.Status - 1
	if err != nil {
		return nil, err
	}
	renders := g.CounterVec("regen_renders_total",
		"Renders, by reason (miss, regenerate, prerender, dynamic) and result (ok, error, timeout: passed RenderTimeout).", "reason", "result")
	renderDur := g.HistogramVec("regen_render_duration_seconds",
		"How long renders took, by reason.", obs.WorkBuckets, "reason")
	m := &metrics{
		requests: req,
		inFlight: g.Gauge("regen_regenerations_in_flight",
			"Background regenerations running now."),
		deduplicated: g.Counter("regen_regenerations_deduplicated_total",
			"STALE requests that found a regeneration of their path already in flight, and started none."),
		holeFailures: g.Counter("regen_hole_failures_total",
			"Holes (partial prerendering) whose render failed or passed its deadline, answered with their fallback."),
	}
	revals := g.CounterVec("regen_revalidations_total",
		"On-demand revalidations (RevalidateTag, RevalidatePath, the webhook), by kind (tag, path) and mode (expire; stale for the others, profiles included).", "kind", "mode")
	storeErrs := g.CounterVec("regen_store_errors_total",
		"Store operations that failed, by operation (get, set, delete, revalidate_tags, tag_state, lock).", "op")
	if g.Err != nil {
		return nil, g.Err
	}
	for r := range nReasons {
		for res := range obs.NResults {
			m.renders[r][res] = renders.WithLabelValues(reasonNames[r], obs.ResultNames[res])
		}
		m.renderDur[r] = renderDur.WithLabelValues(reasonNames[r])
	}
	for k, kind := range []string{"tag", "path"} {
		m.revalidations[k][0] = revals.WithLabelValues(kind, "stale")
		m.revalidations[k][1] = revals.WithLabelValues(kind, "expire")
	}
	for op := range nOps {
		m.storeErrors[op] = storeErrs.WithLabelValues(opNames[op])
	}
	return m, nil
}

// storeCollector reports a store's own counts (store.UsageReporter) when
// scraped: the store counts once, the metrics read it.
type storeCollector struct {
	s                                    store.UsageReporter
	shared                               bool
	bytes, entries, evictions, available *prometheus.Desc
}

func newStoreCollector(s store.UsageReporter) *storeCollector {
	return &storeCollector{
		s:       s,
		shared:  s.Usage().Shared,
		bytes:   prometheus.NewDesc("regen_store_bytes", "Memory the store's items take (for store/disk and store/redis, their memory tier).", nil, nil),
		entries: prometheus.NewDesc("regen_store_entries", "Items the store holds: pages and data entries (for store/redis, its local tier).", nil, nil),
		evictions: prometheus.NewDesc("regen_store_evictions_total",
			"Items the store evicted from memory to stay within its bound (MaxBytes).", nil, nil),
		available: prometheus.NewDesc("regen_store_available", "1 when the shared store (Redis) answers and this instance is in sync with it; 0 while it serves from its local tier alone.", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.bytes
	ch <- c.entries
	ch <- c.evictions
	if c.shared {
		ch <- c.available
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	u := c.s.Usage()
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(u.Bytes))
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(u.Entries))
	ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(u.Evictions))
	if c.shared {
		up := 0.0
		if u.Available {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.available, prometheus.GaugeValue, up)
	}
}

// observe sets up the engine's metrics and tracer from opts, and wraps its
// store to count its errors and trace its operations when either is on.
// It runs before the caches are made over e.store.
func (e *Engine) observe(opts Options) error {
	if opts.TracerProvider != nil {
		e.tracer = opts.TracerProvider.Tracer(obs.TracerName)
	}
	e.usage, _ = e.store.(store.UsageReporter)
	if opts.Metrics != nil {
		m, err := newMetrics(opts.Metrics)
		if err == nil && e.usage != nil {
			_, err = obs.Register(opts.Metrics, newStoreCollector(e.usage))
		}
		if err != nil {
			return &ConfigError{Route: "/", Field: "Metrics", Rule: ErrMetrics,
				Msg: "Options.Metrics: " + err.Error() + " (give each engine a Registerer of its own, or wrap it with prometheus.WrapRegistererWith)"}
		}
		e.metrics = m
	}
	// A Memory never fails: with metrics alone, its hits keep their direct
	// path. Tracing, or another store, goes through the decorator.
	if _, mem := e.store.(*store.Memory); e.tracer != nil || (e.metrics != nil && !mem) {
		e.store = e.observedStore(e.store)
	}
	return nil
}

// served counts a request that started at start by the engine's clock,
// with its status st when servePath answered from an entry (the hit path
// reads no header), else the one its answer carries in X-Cache-Status.
func (e *Engine) served(w http.ResponseWriter, st regen.Status, start time.Time) {
	if st != noStatus {
		e.metrics.requests.Observe(int(st-regen.Hit), e.now().Sub(start))
		return
	}
	st = regen.Bypass
	if v := w.Header()["X-Cache-Status"]; len(v) == 1 {
		switch v[0] {
		case "HIT":
			st = regen.Hit
		case "STALE":
			st = regen.Stale
		case "MISS":
			st = regen.Miss
		}
	}
	e.metrics.requests.Observe(int(st-regen.Hit), e.now().Sub(start))
}

// revalidated counts an on-demand revalidation of kind (kindTag,
// kindPath): mode "expire" for RevalidateExpire, "stale" for the modes that
// mark entries stale first (RevalidateStale, a profile, StaleUntil).
func (e *Engine) revalidated(kind int, mode regen.RevalidateMode) {
	if e.metrics == nil {
		return
	}
	m := 0
	if mode == regen.RevalidateExpire {
		m = 1
	}
	e.metrics.revalidations[kind][m].Inc()
}

// holeFailed counts a hole answered with its fallback.
func (e *Engine) holeFailed() {
	e.holeFailures.Add(1)
	if e.metrics != nil {
		e.metrics.holeFailures.Inc()
	}
}

// deduplicated counts a STALE request whose path was being regenerated.
func (e *Engine) deduplicated() {
	if e.metrics != nil {
		e.metrics.deduplicated.Inc()
	}
}

// StoreUsage returns what the engine's store holds now (store.Usage), and
// false when the store does not count it (a store.Store of the user's that
// is not a store.UsageReporter).
func (e *Engine) StoreUsage() (store.Usage, bool) {
	if e.usage == nil {
		return store.Usage{}, false
	}
	return e.usage.Usage(), true
}
