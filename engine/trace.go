package engine

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/internal/obs"
	"github.com/regen-dev/regen/store"
)

// Span names and attributes (see the package documentation).
const (
	spanRequest    = "regen.request"
	spanRender     = "regen.render"
	spanRegenerate = "regen.regenerate"

	attrCache  = attribute.Key("regen.cache")         // HIT, STALE, MISS, BYPASS
	attrRoute  = attribute.Key("regen.route")         // the route pattern
	attrPath   = attribute.Key("url.path")            // the route path
	attrReason = attribute.Key("regen.render.reason") // miss, regenerate, prerender, dynamic
	attrResult = attribute.Key("regen.render.result") // ok, error, timeout
	attrKey    = attribute.Key("regen.store.key")     // a path or a Data Cache key
	attrFound  = attribute.Key("regen.store.found")   // a get found an item
)

// startRequest starts the span of a request for path; ServeHTTP calls it
// only when tracing is on.
func (e *Engine) startRequest(r *http.Request, path string) (*http.Request, trace.Span) {
	ctx, sp := e.tracer.Start(r.Context(), spanRequest, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attrPath.String(path)))
	return r.WithContext(ctx), sp
}

// endRequest ends the span of a request for path with its cache status and
// route pattern.
func (e *Engine) endRequest(w http.ResponseWriter, sp trace.Span, path string) {
	st := "BYPASS"
	if v := w.Header()["X-Cache-Status"]; len(v) == 1 {
		st = v[0]
	}
	sp.SetAttributes(attrCache.String(st))
	if rt, _ := e.match(path); rt != nil {
		sp.SetAttributes(attrRoute.String(rt.pattern))
	}
	sp.End()
}

// regenerationKey marks the context of a background regeneration, so that
// its render counts with reason "regenerate"; its value is the
// regeneration's *regenerationObs.
type regenerationKey struct{}

// regenerationObs is what a regeneration's render leaves for the end of
// the regeneration, which counts it: a render that succeeded can still
// fail the regeneration (a data refresh failed: the last good page stays),
// and counts then as failed. Render and end run in one goroutine.
type regenerationObs struct {
	rendered bool
	result   int // of the render itself
}

// startRegeneration starts observing the background regeneration of path
// that the request whose span is trigger started: the in-flight gauge, the
// render reason, and a new root span linked to the request's. end ends it
// with the regeneration's error.
func (e *Engine) startRegeneration(ctx context.Context, trigger trace.SpanContext, path string) (_ context.Context, end func(error)) {
	if e.metrics == nil && e.tracer == nil {
		return ctx, func(error) {}
	}
	ro := &regenerationObs{}
	ctx = context.WithValue(ctx, regenerationKey{}, ro)
	var sp trace.Span
	if e.tracer != nil {
		opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithAttributes(attrPath.String(path))}
		if trigger.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: trigger}))
		}
		ctx, sp = e.tracer.Start(ctx, spanRegenerate, opts...)
	}
	if e.metrics != nil {
		e.metrics.inFlight.Inc()
	}
	return ctx, func(err error) {
		if e.metrics != nil {
			e.metrics.inFlight.Dec()
			if ro.rendered {
				res := ro.result
				if res == obs.ResultOK && err != nil {
					res = resultOf(context.Background(), err)
				}
				e.metrics.renders[reasonRegenerate][res].Inc()
			}
		}
		if sp != nil {
			endSpan(sp, err)
		}
	}
}

// spanContext is the span context of ctx when tracing is on: what a
// regeneration links to.
func (e *Engine) spanContext(ctx context.Context) trace.SpanContext {
	if e.tracer == nil {
		return trace.SpanContext{}
	}
	return trace.SpanContextFromContext(ctx)
}

// renderObs observes one render; its zero value observes nothing.
type renderObs struct {
	ctx    context.Context // the render's, for its deadline
	span   trace.Span
	start  time.Time
	reason renderReason
	regen  *regenerationObs // for reason regenerate: counted when the regeneration ends
	on     bool
}

// observeRender starts observing a render of path for rt: req is the
// request of a MISS, cacheable false for a dynamic render.
func (e *Engine) observeRender(ctx context.Context, rt *route, path string, req *http.Request, cacheable bool) (context.Context, renderObs) {
	if e.metrics == nil && e.tracer == nil {
		return ctx, renderObs{}
	}
	o := renderObs{ctx: ctx, reason: reasonPrerender, on: true, start: e.now()}
	switch {
	case !cacheable:
		o.reason = reasonDynamic
	case req != nil:
		o.reason = reasonMiss
	default:
		if ro, ok := ctx.Value(regenerationKey{}).(*regenerationObs); ok {
			o.reason, o.regen = reasonRegenerate, ro
		}
	}
	if e.tracer != nil {
		ctx, o.span = e.tracer.Start(ctx, spanRender, trace.WithAttributes(
			attrReason.String(o.reason.String()), attrRoute.String(rt.pattern), attrPath.String(path)))
	}
	return ctx, o
}

// renderDone counts a render that ended with err and ends its span.
func (e *Engine) renderDone(o *renderObs, err error) {
	if !o.on {
		return
	}
	res := resultOf(o.ctx, err)
	if e.metrics != nil {
		if o.regen != nil {
			o.regen.rendered, o.regen.result = true, res
		} else {
			e.metrics.renders[o.reason][res].Inc()
		}
		e.metrics.renderDur[o.reason].Observe(e.now().Sub(o.start).Seconds())
	}
	if o.span != nil {
		o.span.SetAttributes(attrResult.String(obs.ResultNames[res]))
		endSpan(o.span, err)
	}
}

func endSpan(sp trace.Span, err error) {
	if err != nil {
		sp.RecordError(err)
		sp.SetStatus(codes.Error, err.Error())
	}
	sp.End()
}

// observedStore is the engine's store decorator when metrics or tracing is
// on: it counts each failed operation (regen_store_errors_total) and gives
// each a span (regen.store.get, .set, ...). It is safe for concurrent use.
// It is not a *store.Memory: store.GetTagged asks it through Get and
// TagState, each its own span.
type observedStore struct {
	s store.Store
	e *Engine
}

// lockingStore is an observedStore over a store.Locker.
type lockingStore struct {
	*observedStore
	l store.Locker
}

var (
	_ store.Store  = (*observedStore)(nil)
	_ store.Locker = lockingStore{}
)

var storeSpanNames = [nOps]string{"regen.store.get", "regen.store.set", "regen.store.delete",
	"regen.store.revalidate_tags", "regen.store.tag_state", "regen.store.lock"}

// observedStore returns s decorated, a store.Locker if s is one.
func (e *Engine) observedStore(s store.Store) store.Store {
	o := &observedStore{s: s, e: e}
	if l, ok := s.(store.Locker); ok {
		return lockingStore{o, l}
	}
	return o
}

// start starts the span of op on key, or on ntags tags when key is "".
func (o *observedStore) start(ctx context.Context, op storeOp, key string, ntags int) (context.Context, trace.Span) {
	if o.e.tracer == nil {
		return ctx, nil
	}
	attr := attrKey.String(key)
	if key == "" {
		attr = attribute.Int("regen.store.tags", ntags)
	}
	return o.e.tracer.Start(ctx, storeSpanNames[op], trace.WithAttributes(attr))
}

func (o *observedStore) done(sp trace.Span, op storeOp, err error) {
	if err != nil && o.e.metrics != nil {
		o.e.metrics.storeErrors[op].Inc()
	}
	if sp != nil {
		endSpan(sp, err)
	}
}

func (o *observedStore) Get(ctx context.Context, key string) (*store.Item, bool, error) {
	ctx, sp := o.start(ctx, opGet, key, 0)
	it, ok, err := o.s.Get(ctx, key)
	if sp != nil {
		sp.SetAttributes(attrFound.Bool(ok))
	}
	o.done(sp, opGet, err)
	return it, ok, err
}

func (o *observedStore) Set(ctx context.Context, key string, it *store.Item) error {
	ctx, sp := o.start(ctx, opSet, key, 0)
	err := o.s.Set(ctx, key, it)
	o.done(sp, opSet, err)
	return err
}

func (o *observedStore) Delete(ctx context.Context, key string) error {
	ctx, sp := o.start(ctx, opDelete, key, 0)
	err := o.s.Delete(ctx, key)
	o.done(sp, opDelete, err)
	return err
}

func (o *observedStore) RevalidateTags(ctx context.Context, tags []string, mode regen.RevalidateMode, at time.Time) error {
	ctx, sp := o.start(ctx, opRevalidateTags, "", len(tags))
	err := o.s.RevalidateTags(ctx, tags, mode, at)
	o.done(sp, opRevalidateTags, err)
	return err
}

func (o *observedStore) TagState(ctx context.Context, tags []string, since time.Time) (store.TagState, error) {
	ctx, sp := o.start(ctx, opTagState, "", len(tags))
	ts, err := o.s.TagState(ctx, tags, since)
	o.done(sp, opTagState, err)
	return ts, err
}

func (l lockingStore) TryLock(ctx context.Context, key string, lease time.Duration) (unlock func(), ok bool, err error) {
	ctx, sp := l.start(ctx, opLock, key, 0)
	unlock, ok, err = l.l.TryLock(ctx, key, lease)
	if sp != nil {
		sp.SetAttributes(attribute.Bool("regen.store.locked", ok))
	}
	l.done(sp, opLock, err)
	return unlock, ok, err
}
