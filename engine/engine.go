package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/internal/backoff"
	"github.com/regen-dev/regen/internal/flight"
	"github.com/regen-dev/regen/internal/pool"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store"
)

// DefaultExpire is the expire of ISR entries when Options.Expire is zero:
// one year, as in Next.js.
const DefaultExpire = 365 * 24 * time.Hour

// Options configure an Engine. The zero value means all defaults.
type Options struct {
	// Now returns the current time. The engine reads it once per request
	// and once when background work starts. If nil, the system clock is
	// used (read from the monotonic clock, re-based on the wall clock every
	// minute); then, without Metrics, requests are judged at a reading at
	// most about a millisecond old, which a goroutine takes while requests
	// come, and read it exactly only to start a render or near an entry's
	// deadline (docs/caching.md).
	Now func() time.Time
	// Scheduler runs background regenerations and data refreshes. If nil,
	// they run on a bounded pool of MaxRegenerations goroutines with a
	// queue of RegenerationQueue; work that finds the queue full is skipped
	// (the path stays STALE and a later request asks again), so hits never
	// wait. Close waits for the pool.
	Scheduler regen.Scheduler
	// MaxRegenerations bounds the background regenerations and data
	// refreshes running at once on the default scheduler. If zero,
	// DefaultMaxRegenerations.
	MaxRegenerations int
	// RegenerationQueue bounds the background work waiting for the default
	// scheduler. If zero, 1024.
	RegenerationQueue int
	// RenderTimeout bounds every render: a MISS, a background regeneration,
	// a prerender, a dynamic render. A request waiting on a render that
	// passes it is answered 504 and the next request starts a fresh render;
	// a regeneration that passes it fails (the last good page stays, the
	// path backs off). If zero, DefaultRenderTimeout.
	RenderTimeout time.Duration
	// FetchTimeout bounds every origin call made while rendering (see
	// fetchcache.Options.Timeout). If zero, fetchcache.DefaultTimeout.
	FetchTimeout time.Duration
	// Store holds both caches' entries and the tag revalidation times. If
	// nil, a store.Memory bounded by MaxBytes.
	Store store.Store
	// MaxBytes bounds the default memory store. If zero, 256 MiB.
	MaxBytes int64
	// Fetcher asks the origin for fetches made while rendering. If nil, an
	// http.Client with FetchTimeout.
	Fetcher fetchcache.Fetcher
	// Expire is the age at which an ISR entry not regenerated is dropped. If
	// zero, DefaultExpire. A route using cache profiles with an expire
	// takes the lowest of those instead.
	Expire time.Duration
	// CacheLife holds the site's own cache profiles (Next.js 16's cacheLife
	// config), by name: they add to the built-ins of
	// regen.BuiltinCacheLife, or replace one of the same name. Layouts,
	// pages, handlers and fetches name them in their CacheLife field, and
	// RevalidateTag takes regen.RevalidateProfile(name).
	CacheLife map[string]regen.CacheLife
	// RetryBackoff is the wait after a failed regeneration (or data
	// refresh) before the path (or data) is tried again; it doubles with
	// each consecutive failure, up to MaxRetryBackoff or RetryBackoff
	// itself if larger. If zero, DefaultRetryBackoff.
	RetryBackoff time.Duration
	// UncachedFetchDefault makes fetches that declare neither revalidate nor
	// cache mode uncached, as in Next.js 15 and later: made at each render,
	// without making their route dynamic. By default they are cached with
	// their route's revalidate, as in Next.js 14.
	UncachedFetchDefault bool
	// Logger receives failed renders and regenerations. If nil, slog.Default().
	Logger *slog.Logger
	// NotFound answers paths no route matches, and params a route does not
	// serve. It takes precedence over the site's not-found page at "/"
	// (Site.NotFound) for those paths; a render's notFound() still renders
	// the site's not-found page. If nil, that page answers them, or a plain
	// 404 when the site has none.
	NotFound http.Handler
	// ErrorPage writes the engine's other error answers: 400 for a bad
	// path, 405 for a method other than GET and HEAD, 414 for a path too
	// long, with a nil err; 500 for a render that failed, 504 for one that
	// passed RenderTimeout and 503 after Close, with the render's error,
	// which the engine has logged. The error is for the page to inspect
	// (errors.Is, errors.As), not to show: it may name routes, origins and
	// files. The engine has set X-Cache-Status (BYPASS) and, for 405, Allow.
	// If nil, a plain text page with the status and its text, never the
	// error.
	ErrorPage func(w http.ResponseWriter, r *http.Request, code int, err error)
	// DebugCache logs every cache decision (path, status, age, revalidate,
	// why) at Info level, so a user can prove the caching works. The
	// regen command turns it on for REGEN_DEBUG_CACHE=1 too.
	DebugCache bool
	// BasePath serves the site under a path prefix that the handlers in
	// front of the engine do not strip, as Next.js's basePath does: with
	// "/docs", "/docs/blog/a" is the route path "/blog/a" (its cache key,
	// and the path RevalidatePath takes), "/docs" is "/", "/docs/"
	// redirects to "/docs", and a path outside it ("/blog/a", "/docsx") is
	// 404. Redirects keep it. It must start with "/", not end with one, and
	// be a clean path; if empty, the site is served at "/". A prefix that is
	// stripped in front of the engine (http.StripPrefix) needs no BasePath:
	// redirects keep it too.
	BasePath string
	// Metrics, if set, receives the engine's Prometheus metrics and its
	// Data Cache's (regen_requests_total and the others the package
	// documentation lists). Engines sharing a Registerer add up their
	// counts. If nil, nothing is counted; pass prometheus.DefaultRegisterer
	// for the global registry.
	Metrics prometheus.Registerer
	// TracerProvider, if set, gives requests, renders, fetches, store
	// operations and background regenerations OpenTelemetry spans (see the
	// package documentation). If nil, no spans are made, at no cost.
	TracerProvider oteltrace.TracerProvider
}

// DefaultRetryBackoff is the first wait after a failed regeneration or data
// refresh when Options.RetryBackoff is zero.
const DefaultRetryBackoff = 2 * time.Second

// MaxRetryBackoff caps the wait between failed regenerations of a path,
// unless Options.RetryBackoff is larger.
const MaxRetryBackoff = backoff.Max

// DefaultRenderTimeout bounds renders when Options.RenderTimeout is zero.
const DefaultRenderTimeout = 30 * time.Second

// DefaultMaxRegenerations is the default bound of background work running
// at once: twice GOMAXPROCS, at least 10 (OpenNext's default).
var DefaultMaxRegenerations = max(10, 2*runtime.GOMAXPROCS(0))

// Defaults and bounds of the engine's own state.
const (
	defaultRegenerationQueue = 1024
	// renderGrace is how long past its deadline a request waits for a
	// render to report the deadline itself before giving up on it.
	renderGrace = 100 * time.Millisecond
)

// Engine serves a validated route tree. It is safe for concurrent use.
type Engine struct {
	hitHeaders hitHeaders // the headers of the entries last written, as lists
	now        func() time.Time
	coarse     *coarseClock // what requests are judged at, when not now
	sched      regen.Scheduler
	pool       *pool.Pool // the default scheduler, or nil
	store      store.Store
	routes     *routecache.Cache
	data       *fetchcache.Cache
	log        *slog.Logger
	notFound   http.Handler
	errPage    func(w http.ResponseWriter, r *http.Request, code int, err error)
	in         policyInput

	tree      *node
	list      []*route // sorted by pattern
	byPattern map[string]*route

	flights flight.Group[*outcome]

	renderTimeout time.Duration
	// base is the parent of every render detached from its request;
	// Shutdown cancels it when its deadline passes.
	base       context.Context
	cancelBase context.CancelFunc
	workMu     sync.RWMutex   // held to set closed, held shared to add to work
	work       sync.WaitGroup // MISS renders (detached from their request) and dynamic renders running

	backoff *backoff.Set // paths whose last regeneration failed
	paths   *pathIndex   // the paths rendered, for Inspect (inspect.go)

	renders atomic.Int64
	// holeFailures counts the holes that failed or passed their deadline.
	holeFailures atomic.Int64
	lastEvent    atomic.Int64 // the latest eventTime, in Unix nanoseconds
	closed       atomic.Bool
	debug        bool
	basePath     string // Options.BasePath

	metrics *metrics            // nil without Options.Metrics (observe.go)
	tracer  oteltrace.Tracer    // nil without Options.TracerProvider (trace.go)
	usage   store.UsageReporter // the store's own counts, if it keeps them
}

// outcome is what a render flight gives the requests waiting on it.
type outcome struct {
	entry  *routecache.Entry // the stored entry; nil when dynamic
	status regen.Status      // Miss for a new render; Hit when a fresh entry was found in the flight
	// dynamic: the render revealed a dynamic route. Its output belongs to
	// the leader's request only; waiters render their own.
	dynamic bool
	res     *render.Result
	// streamed: what the leader's request received of the render while it
	// ran (render.Streamed); waiters are given the entry.
	streamed render.Streamed
}

// New validates site and returns an engine serving it. Every problem in the
// configuration is reported, joined with errors.Join; each is a
// *ConfigError naming the route, the segment, the field and the fix.
func New(site *Site, opts Options) (*Engine, error) {
	if site == nil {
		site = &Site{}
	}
	e := &Engine{
		now:           opts.Now,
		sched:         opts.Scheduler,
		store:         opts.Store,
		log:           opts.Logger,
		notFound:      opts.NotFound,
		errPage:       opts.ErrorPage,
		renderTimeout: opts.RenderTimeout,
		debug:         opts.DebugCache,
		basePath:      opts.BasePath,
		in:            policyInput{expire: opts.Expire, uncachedDefault: opts.UncachedFetchDefault, lives: opts.CacheLife},
		byPattern:     map[string]*route{},
	}
	if e.now == nil {
		e.now = newClock().Now
	}
	if e.sched == nil {
		e.pool = pool.New(cmp.Or(opts.MaxRegenerations, DefaultMaxRegenerations),
			cmp.Or(opts.RegenerationQueue, defaultRegenerationQueue))
		e.sched = e.pool
	}
	if e.renderTimeout <= 0 {
		e.renderTimeout = DefaultRenderTimeout
	}
	e.base, e.cancelBase = context.WithCancel(context.Background())
	if e.store == nil {
		max := opts.MaxBytes
		if max == 0 {
			max = 256 << 20
		}
		e.store = store.NewMemory(store.MemoryOptions{MaxBytes: max})
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.errPage == nil {
		e.errPage = defaultErrorPage
	}
	e.backoff = backoff.New(cmp.Or(max(opts.RetryBackoff, 0), DefaultRetryBackoff))
	e.paths = newPathIndex(MaxIndexedPaths)
	if e.in.expire == 0 {
		e.in.expire = DefaultExpire
	}
	var errs []error
	if err := e.observe(opts); err != nil {
		errs = append(errs, err)
	}
	if opts.Now == nil && e.metrics == nil {
		e.coarse = &coarseClock{precise: e.now, done: e.base.Done()}
	}
	if e.in.expire < time.Second {
		errs = append(errs, &ConfigError{Route: "/", Field: "Expire", Rule: ErrExpire, Msg: fmt.Sprintf("Options.Expire %v is below one second (use at least 1s, or 0 for one year)", opts.Expire)})
	}
	if err := basePathError(opts.BasePath); err != nil {
		errs = append(errs, err)
	}
	e.in.lives = mergeLives(site.lives, opts.CacheLife)
	errs = append(errs, cacheLifeErrors(e.in.lives)...)
	routes, tree, cerrs := compile(site, e.in.lives)
	errs = append(errs, cerrs...)
	for _, r := range routes {
		p, fd, derrs := derive(r, e.in, &r.obs)
		errs = append(errs, derrs...)
		r.policy.Store(p)
		r.fetchDefault.Store(fd.Raw())
		r.base = p.Revalidate
		r.renderSegs = make([]render.Segment, len(r.segs))
		for i, s := range r.segs {
			r.renderSegs[i] = render.Segment{Kind: s.kind, Path: s.pattern, Layout: s.layout, Page: s.page, NotFound: s.notFoundPage, Name: s.name()}
		}
		r.tags = routecache.RouteTags(r.pattern)
		e.byPattern[r.pattern] = r
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	e.tree, e.list = tree, routes
	e.routes = routecache.New(e.store)
	e.data = fetchcache.New(fetchcache.Options{
		Store: e.store, Fetcher: opts.Fetcher, Scheduler: e.sched, Logger: e.log, Now: e.now,
		RetryBackoff: opts.RetryBackoff, Timeout: opts.FetchTimeout,
		Metrics: opts.Metrics, TracerProvider: opts.TracerProvider,
	})
	return e, nil
}

// Close stops renders and background work from starting and waits for
// the ones in flight: MISS and dynamic renders, and background work when the
// engine runs it (the default scheduler). Each is bounded by RenderTimeout or
// FetchTimeout. A request that needs a render after Close is answered 503.
func (e *Engine) Close() error {
	return e.Shutdown(context.Background())
}

// Shutdown is Close with a deadline: when ctx ends before the work in
// flight, it cancels the renders and origin calls still running and
// returns ctx.Err() without waiting for them further.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.workMu.Lock()
	e.closed.Store(true) // no render or regeneration starts from now on
	e.workMu.Unlock()
	err := pool.Drain(ctx, &e.work, e.pool)
	e.cancelBase()
	if derr := e.data.Shutdown(ctx); err == nil {
		err = derr
	}
	return err
}

// renderContext returns the context of a render that runs detached from
// the request that started it: parent's values, RenderTimeout, and ended by
// Shutdown's deadline.
func (e *Engine) renderContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), e.renderTimeout)
	stop := context.AfterFunc(e.base, cancel)
	return ctx, func() { stop(); cancel() }
}

// errClosed answers requests that need a render after Close.
var errClosed = errors.New("engine: closed")

// errRenderTimeout is the error of a request whose render passed its
// deadline without reporting it; it matches context.DeadlineExceeded.
var errRenderTimeout = fmt.Errorf("engine: render passed RenderTimeout: %w", context.DeadlineExceeded)

// startRender runs fn as the call c for path in a goroutine of its own,
// under renderContext(ctx), and counts it for Shutdown; once the engine is
// closed, it ends c with errClosed instead.
func (e *Engine) startRender(ctx context.Context, path string, c *flight.Call[*outcome], fn func(ctx context.Context) (*outcome, error)) {
	e.workMu.RLock()
	if e.closed.Load() {
		e.workMu.RUnlock()
		e.flights.Run(path, c, func() (*outcome, error) { return nil, errClosed })
		return
	}
	e.work.Add(1)
	e.workMu.RUnlock()
	go func() {
		defer e.work.Done()
		rctx, cancel := e.renderContext(ctx)
		defer cancel()
		// Abandoned at its deadline (and the grace), whether or not a
		// request still waits for it: the next request starts a fresh
		// render instead of joining this one.
		abandon := time.AfterFunc(e.renderTimeout+renderGrace, func() { e.flights.Forget(path, c) })
		defer abandon.Stop()
		e.flights.Run(path, c, func() (*outcome, error) { return fn(rctx) })
	}()
}

// waitRender waits for the render c of path, for ctx, or for the render's
// deadline: past it (and a short grace for the render to report it), the
// render is abandoned, so that the next request starts a fresh one. A
// render started by startRender or regenerate is abandoned at its own
// deadline, which ends the wait of every request on it, however late it
// joined; waitRender's timer bounds the wait for any other.
func (e *Engine) waitRender(ctx context.Context, path string, c *flight.Call[*outcome]) (*outcome, error) {
	select {
	case <-c.Done():
		return c.Result()
	default:
	}
	t := time.NewTimer(e.renderTimeout + renderGrace)
	defer t.Stop()
	select {
	case <-c.Done():
		return c.Result()
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.Forgot():
		// Abandoned at its deadline, by its own timer or by a request
		// that joined it earlier.
		select {
		case <-c.Done():
			return c.Result()
		default:
		}
		return nil, errRenderTimeout
	case <-t.C:
		e.flights.Forget(path, c)
		return nil, errRenderTimeout
	}
}

// Stats are counts of what an engine has done since New, and of the work
// it holds now.
type Stats struct {
	Renders int64 // renders started, of any kind: MISS, regeneration, prerender, dynamic
	Queued  int   // background regenerations and data refreshes waiting for the default scheduler
	Backoff int   // paths waiting out a back-off after a failed regeneration
	// HoleFailures counts the holes that failed or passed their deadline
	// and were answered with their fallback.
	HoleFailures int64
}

// Stats returns the engine's counts.
func (e *Engine) Stats() Stats {
	st := Stats{Renders: e.renders.Load(), Backoff: e.backoff.Len(), HoleFailures: e.holeFailures.Load()}
	if e.pool != nil {
		st.Queued = e.pool.Len()
	}
	return st
}

// Entry returns path's cached entry and its state now (HIT, STALE; MISS
// with a nil entry when there is none), without rendering, regenerating or
// counting a request: what a test or a simulation serves next. Lookup and
// Inspect (inspect.go) describe an entry without its body, with the
// engine's latest render of it and its back-off.
func (e *Engine) Entry(ctx context.Context, path string) (*routecache.Entry, regen.Status, error) {
	return e.routes.Get(ctx, path, e.now())
}

// Routes returns the policy of every route, sorted by route pattern,
// refined by what renders have revealed so far.
func (e *Engine) Routes() []Policy {
	out := make([]Policy, len(e.list))
	for i, r := range e.list {
		out[i] = *r.policy.Load()
	}
	return out
}

// Policy returns the policy of the route registered at pattern.
func (e *Engine) Policy(pattern string) (Policy, bool) {
	r, ok := e.byPattern[pattern]
	if !ok {
		return Policy{}, false
	}
	return *r.policy.Load(), true
}

// Match returns the route pattern and params of a clean URL path.
func (e *Engine) Match(path string) (pattern string, params render.Params, ok bool) {
	r, ps := e.match(path)
	if r == nil {
		return "", nil, false
	}
	return r.pattern, ps, true
}

func (e *Engine) match(path string) (*route, render.Params) {
	var ps render.Params
	r := e.tree.match(splitPath(path), &ps)
	return r, ps
}

// RevalidateTag marks every route and data entry carrying tag stale (mode
// RevalidateStale: served once more while regenerating) or expired
// (RevalidateExpire: the next request waits for fresh content). It is O(1)
// in the number of entries.
//
// regen.RevalidateProfile(name) marks them stale and lets them be served
// stale until the profile's expire (Next.js 16's revalidateTag(tag,
// profile)); the name is a built-in profile or one of Options.CacheLife,
// and an unknown one is an error matching ErrCacheLife.
func (e *Engine) RevalidateTag(ctx context.Context, tag string, mode regen.RevalidateMode) error {
	if err := regen.ValidateTags([]string{tag}); err != nil {
		return fmt.Errorf("engine: revalidate tag: %w", err)
	}
	mode, err := e.resolveMode(mode)
	if err != nil {
		return err
	}
	err = e.routes.RevalidateTag(ctx, tag, mode, e.eventTime())
	if err == nil {
		e.revalidated(kindTag, mode)
	}
	return err
}

// PathKind says what RevalidatePath's path names.
type PathKind = routecache.PathKind

const (
	// PagePath names one concrete path ("/blog/hello"), or one page route
	// ("/blog/[slug]") for all its paths.
	PagePath = routecache.Page
	// LayoutPath names a layout ("/blog"): every path under it.
	LayoutPath = routecache.Layout
)

// RevalidatePath marks one path, a page route's paths, or every path under
// a layout stale or expired, with the data fetched while rendering them.
func (e *Engine) RevalidatePath(ctx context.Context, path string, kind PathKind, mode regen.RevalidateMode) error {
	if why := revalidatePathProblem(path); why != "" {
		return fmt.Errorf("engine: revalidate path %.80q: %s", path, why)
	}
	mode, err := e.resolveMode(mode)
	if err != nil {
		return err
	}
	err = e.routes.RevalidatePath(ctx, path, kind, mode, e.eventTime())
	if err == nil {
		e.revalidated(kindPath, mode)
	}
	return err
}

// ServeHTTP serves a request: HIT from a fresh entry, STALE from an old one
// while one background regeneration runs, MISS after rendering, BYPASS for
// dynamic routes.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var now time.Time
	if e.coarse != nil {
		now = e.coarse.Now()
	} else {
		now = e.now()
	}
	st := noStatus // the status served, when servePath knows it
	if e.metrics != nil {
		defer func() { e.served(w, st, now) }()
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = allowGetHead
		e.writeError(w, r, http.StatusMethodNotAllowed)
		return
	}
	path, ok := e.acceptPath(w, r)
	if !ok {
		return
	}
	if e.tracer != nil {
		var sp oteltrace.Span
		r, sp = e.startRequest(r, path)
		defer e.endRequest(w, sp, path)
	}
	st = e.servePath(w, r, path, now, "")
}

// noStatus is what servePath returns when it did not answer from an entry.
const noStatus regen.Status = 0

// servePath answers path from its entry: HIT, or STALE while one
// regeneration starts; without one, it renders the path (MISS). note, for
// the debug log, says why path is served (the not-found page's). It
// returns the status of an answer from an entry, noStatus for the others
// (whose X-Cache-Status says it).
func (e *Engine) servePath(w http.ResponseWriter, r *http.Request, path string, now time.Time, note string) regen.Status {
	var slack time.Duration
	if e.coarse != nil {
		slack = coarseSlack
	}
	ent, st, near, err := e.routes.GetNear(r.Context(), path, now, slack)
	if e.coarse != nil && (st == regen.Stale || near) {
		// The coarse clock lags: judge a stale entry (which may have
		// expired since) or one near its deadline exactly.
		now = e.now()
		ent, st, err = e.routes.Get(r.Context(), path, now)
	}
	if err != nil {
		e.log.Warn("regen: route cache read failed; rendering", "path", path, "error", err)
	}
	if e.coarse != nil && ent == nil {
		now = e.now() // a render starts: its own reading
	}
	if ent == nil {
		e.serveMiss(w, r, path, now)
		return noStatus
	}
	why := "fresh"
	if st == regen.Stale {
		why = e.regenerate(r.Context(), path, now)
	}
	if e.debug {
		e.logDecision(path, st, ent, now, note+why)
	}
	if !e.writeEntry(w, r, ent, st) {
		// A partial route's shell: its holes render for this request.
		var set *holeSet
		if rt, params := e.match(path); rt != nil {
			if e.coarse != nil {
				now = e.now() // the holes render: an exact reading
			}
			set = e.startHoles(r, rt, path, params, now)
			defer set.close()
		}
		e.writePartial(w, r, ent.Status, ent.Header, ent.Body, decodeHoles(ent.Header[holesHeader], len(ent.Body)), set, st)
	}
	return st
}

// logDecision logs one cache decision when DebugCache is on.
func (e *Engine) logDecision(path string, st regen.Status, ent *routecache.Entry, now time.Time, why string) {
	attrs := []any{"path", path, "status", st.String(), "why", why}
	if ent != nil {
		attrs = append(attrs, "age", now.Sub(ent.Created).Round(time.Millisecond), "revalidate", ent.Revalidate.String())
	}
	e.log.Info("regen: cache", attrs...)
}

func (e *Engine) serveMiss(w http.ResponseWriter, r *http.Request, path string, now time.Time) {
	rt, params := e.match(path)
	if rt == nil {
		if e.debug {
			e.logDecision(path, regen.Bypass, nil, now, "no route matches: 404")
		}
		e.serveNotFound(w, r)
		return
	}
	if pol := rt.policy.Load(); pol.Kind == Dynamic {
		if e.debug {
			e.logDecision(path, regen.Bypass, nil, now, pol.String())
		}
		e.serveDynamic(w, r, rt, path, params, now)
		return
	}
	if rt.staticParamsOnly && len(rt.params) > 0 {
		if _, ok := rt.staticPaths[path]; !ok {
			if e.debug {
				e.logDecision(path, regen.Bypass, nil, now, "not in the static params of "+rt.pattern+" (dynamicParams false): 404")
			}
			e.serveNotFound(w, r)
			return
		}
	}
	set, sw := e.respond(w, r, rt, path, params, now)
	defer set.close()
	out, err := e.renderFlight(r.Context(), rt, path, params, now, r, sw)
	started := sw.detach()
	if e.debug {
		why := "no entry: rendered"
		switch {
		case err != nil:
			why = "render failed: " + err.Error()
		case out.dynamic:
			why = "the render revealed a dynamic route"
		case out.status == regen.Hit:
			why = "no entry: another request's render stored it"
		}
		var ent *routecache.Entry
		if out != nil {
			ent = out.entry
		}
		e.logDecision(path, regen.Miss, ent, now, why)
	}
	if started {
		// The render streamed to this request: it has had its answer, or
		// a part of one that end closes.
		var streamed render.Streamed
		dynamic := false
		if out != nil {
			streamed, dynamic = out.streamed, out.dynamic
		}
		sw.end(streamed, dynamic, err)
		return
	}
	switch {
	case err != nil:
		e.renderFailed(w, r, rt, path, err)
	case out.dynamic && out.res != nil:
		e.writeRendered(w, r, out.res, regen.Bypass, set)
	case out.dynamic:
		e.serveDynamic(w, r, rt, path, params, now)
	case !e.writeEntry(w, r, out.entry, out.status):
		e.writePartial(w, r, out.entry.Status, out.entry.Header, out.entry.Body, decodeHoles(out.entry.Header[holesHeader], len(out.entry.Body)), set, out.status)
	}
}

// renderFlight renders path for a MISS: one render per path at a time,
// shared by concurrent requests; a request that gives up does not cancel it.
//
// The render that the request starts streams to it through sw (see
// responseStream); the requests that join it get its entry.
func (e *Engine) renderFlight(ctx context.Context, rt *route, path string, params render.Params, now time.Time, req *http.Request, sw *responseStream) (*outcome, error) {
	c, leader := e.flights.Start(path)
	if leader {
		e.startRender(ctx, path, c, func(ctx context.Context) (*outcome, error) {
			return e.renderMiss(ctx, rt, path, params, now, req, c, sw)
		})
		return e.waitRender(ctx, path, c)
	}
	if c.TakeOver() {
		// A regeneration still queued behind busy workers: render now
		// rather than wait for the queue; it will not run.
		e.flights.Run(path, c, func() (*outcome, error) { return nil, errBusy })
		return e.renderFlight(ctx, rt, path, params, now, req, sw)
	}
	out, err := e.waitRender(ctx, path, c)
	if errors.Is(err, errLockedElsewhere) || errors.Is(err, errBusy) {
		// We joined a regeneration that another instance runs, or one
		// the queue had no room for: start our own flight (which waits
		// for the other instance's entry).
		return e.renderFlight(ctx, rt, path, params, now, req, sw)
	}
	if err == nil && out.dynamic {
		// The leader's output was its own; render ours.
		return &outcome{dynamic: true}, nil
	}
	if err == nil && out.entry != nil {
		if e.expiredSince(ctx, out.entry, now) {
			// The render we joined started before the path was
			// revalidated in expire mode: render after it.
			return e.renderFlight(ctx, rt, path, params, now, req, sw)
		}
		return &outcome{entry: out.entry, status: regen.Miss}, nil
	}
	return out, err
}

// renderMiss is the render of a MISS, run detached from the requests that
// wait for it, under ctx's deadline.
func (e *Engine) renderMiss(ctx context.Context, rt *route, path string, params render.Params, now time.Time, req *http.Request, c *flight.Call[*outcome], sw *responseStream) (*outcome, error) {
	// Another flight may have stored the path since we looked.
	if ent, st, _ := e.routes.Get(ctx, path, now); ent != nil && st == regen.Hit {
		return &outcome{entry: ent, status: regen.Hit}, nil
	}
	unlock, ok, shared := e.lock(ctx, path)
	if !ok {
		// Another instance renders the path: wait for its entry.
		if ent := e.awaitElsewhere(ctx, path); ent != nil {
			return &outcome{entry: ent, status: regen.Miss}, nil
		}
	} else {
		defer unlock()
		if shared {
			// Another instance may have stored the path just before we
			// took the lock.
			if ent, st, _ := e.routes.Get(ctx, path, now); ent != nil && st == regen.Hit {
				return &outcome{entry: ent, status: regen.Hit}, nil
			}
		}
	}
	return e.renderStore(ctx, rt, path, params, e.eventTime(), req, false, c, sw)
}

// eventTime is the clock of the events the caches order by time: the start
// of a render (its entry's Created) and a revalidation. Each reading is
// later than the one before, by a nanosecond when Options.Now has not
// moved, so that a revalidation made at the same clock reading as a render
// still follows it (a fixed or virtual clock, or a coarse one, gives equal
// readings) and a render started after a revalidation follows it. Hits do
// not read it.
func (e *Engine) eventTime() time.Time {
	t := e.now()
	n := t.UnixNano()
	for {
		last := e.lastEvent.Load()
		next := max(n, last+1)
		if e.lastEvent.CompareAndSwap(last, next) {
			return t.Add(time.Duration(next - n))
		}
	}
}

// expiredSince reports whether ent, made before now, has a tag revalidated
// in expire mode since it was made, or by a cache profile whose expire has
// passed at now.
func (e *Engine) expiredSince(ctx context.Context, ent *routecache.Entry, now time.Time) bool {
	if !ent.Created.Before(now) {
		return false
	}
	ts, err := e.store.TagState(ctx, ent.Tags, ent.Created)
	return err == nil && ts.ExpiredAt(now)
}

// renderStore renders a cacheable path and stores the result.
//
// A regeneration (keepOld: a good entry exists) fails when one of its data
// refreshes failed: the Data Cache then answered with its last good value,
// and baking that into a new page dated now would hide the staleness. The
// old entry, built from the same data, goes on being served as STALE and
// the regeneration is retried after its back-off. A first render has no page
// to keep and uses the last good data.
//
// A render is the call c of its path's flight (nil for none). A render that
// returns past its deadline stores nothing; one whose call was forgotten
// does not replace an entry at least as new as its own.
func (e *Engine) renderStore(ctx context.Context, rt *route, path string, params render.Params, start time.Time, req *http.Request, keepOld bool, c *flight.Call[*outcome], sw *responseStream) (*outcome, error) {
	res, err := e.render(ctx, rt, path, params, start, req, true, sw)
	if err == nil {
		err = rt.checkHoles(res)
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		// The render ignored its deadline (or Shutdown's): it was abandoned,
		// and a newer render may have stored the path since. Storing this
		// older page now would replace that fresher entry.
		return nil, fmt.Errorf("engine: route %q: render returned after its deadline: %w", rt.pattern, context.Cause(ctx))
	}
	if keepOld {
		for _, f := range res.Record.Fetches {
			if f.Status == regen.Stale && !f.Uncached {
				return nil, fmt.Errorf("engine: route %q: refreshing %s failed; keeping the last good page", rt.pattern, f.URL)
			}
		}
	}
	before := rt.policy.Load()
	pol := rt.refine(&res.Record, e.in)
	if pol.Kind == Dynamic {
		if before.Kind != Dynamic {
			// The route turned dynamic: its cached paths must not be served.
			e.log.Info("regen: route is dynamic", "route", rt.pattern, "why", pol.String())
			_ = e.routes.RevalidatePath(ctx, rt.pattern, routecache.Page, regen.RevalidateExpire, start)
		}
		return &outcome{dynamic: true, res: res, streamed: res.Streamed}, nil
	}
	ent, err := e.newEntry(rt, path, pol, res, start)
	if err != nil {
		return nil, err
	}
	if c != nil && c.Forgotten() {
		// A request gave up on this render (a regeneration it joined while
		// queued, say) and the next rendered the path itself: its entry,
		// if stored, is newer than ours and stays.
		if cur, ok, _ := e.store.Get(ctx, path); ok && cur != nil && !cur.Created.Before(start) {
			return &outcome{entry: ent, status: regen.Miss, streamed: res.Streamed}, nil
		}
	}
	if err := e.routes.Set(ctx, path, ent); err != nil {
		e.log.Warn("regen: route cache write failed", "path", path, "error", err)
	}
	e.indexRender(rt, path, start)
	return &outcome{entry: ent, status: regen.Miss, streamed: res.Streamed}, nil
}

// render runs one render of path. cacheable renders refresh stale data
// before use, so a new entry never bakes in stale data.
//
// sw, if not nil, receives the output while the render runs.
func (e *Engine) render(ctx context.Context, rt *route, path string, params render.Params, now time.Time, req *http.Request, cacheable bool, sw *responseStream) (*render.Result, error) {
	e.renders.Add(1)
	ctx, o := e.observeRender(ctx, rt, path, req, cacheable)
	job := &render.Job{
		Route:    rt.pattern,
		Path:     path,
		Params:   params,
		Segments: rt.renderSegs,
		Mode:     rt.policy.Load().Mode,
		Request:  req,
		Data:     e.data,
		Call: fetchcache.Call{
			Now:               now,
			ImplicitTags:      routecache.PathTags(rt.tags, path),
			DefaultRevalidate: regen.RawRevalidate(rt.fetchDefault.Load()),
			RefreshStale:      cacheable,
		},
	}
	if sw != nil {
		job.Stream = sw
	}
	res, err := render.Render(ctx, job)
	e.renderDone(&o, err)
	return res, err
}

// pathInterval is the kind, interval and expire of one path of a cached
// route: the route's declarations and the fetches of the path's render
// (another path of the route may fetch with a lower interval).
func (e *Engine) pathInterval(rt *route, pol *Policy, fetches []render.Fetch) (Kind, regen.Revalidate, time.Duration) {
	rev, expire := rt.base, pol.Expire
	for _, f := range fetches {
		if !f.Uncached && f.Declared.Declared() && pol.Mode != regen.ForceDynamic {
			rev = rev.Min(f.Declared)
			expire = minSet(expire, f.Expire)
		}
	}
	if _, finite := rev.Interval(); finite {
		return ISR, rev, cmp.Or(expire, e.in.expire)
	}
	return Static, regen.Forever, 0
}

// newEntry builds the route cache entry of a render.
func (e *Engine) newEntry(rt *route, path string, pol *Policy, res *render.Result, start time.Time) (*routecache.Entry, error) {
	tags, err := e.entryTags(rt, path, res)
	if err != nil {
		return nil, err
	}
	kind, rev, expire := e.pathInterval(rt, pol, res.Record.Fetches)
	h := renderHeader(res.Header)
	h["Content-Length"] = []string{strconv.Itoa(len(res.Body))}
	h["Cache-Control"] = []string{cacheControl(kind, rev, expire)}
	h["Etag"] = []string{etag(res.Body)}
	if len(res.Holes) > 0 {
		h[holesHeader] = encodeHoles(res.Holes)
	}
	return &routecache.Entry{
		Status:     res.Status,
		Header:     h,
		Body:       res.Body,
		Tags:       tags,
		Created:    start,
		Revalidate: rev,
		Expire:     expire,
	}, nil
}

// renderFailed answers a request whose render failed: 504 when it passed
// RenderTimeout, 503 after Close or when Shutdown canceled it, 500 otherwise. A request that went away
// first is not logged.
func (e *Engine) renderFailed(w http.ResponseWriter, r *http.Request, rt *route, path string, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, errClosed), errors.Is(err, context.Canceled) && e.base.Err() != nil:
		// After Close, or canceled by Shutdown's deadline.
		code = http.StatusServiceUnavailable
	case r.Context().Err() != nil:
		// The client is gone: nobody reads the answer.
	case errors.Is(err, context.DeadlineExceeded):
		code = http.StatusGatewayTimeout
		e.log.Error("regen: render timed out", "path", path, "route", rt.pattern, "timeout", e.renderTimeout, "error", err)
	default:
		e.log.Error("regen: render failed", "path", path, "route", rt.pattern, "error", err)
	}
	e.writeErrorPage(w, r, code, err)
}

// serveDynamic renders for this request only: BYPASS.
func (e *Engine) serveDynamic(w http.ResponseWriter, r *http.Request, rt *route, path string, params render.Params, now time.Time) {
	// Counted for Close as the renders detached from their request are,
	// and refused (503) once the engine is closed.
	e.workMu.RLock()
	if e.closed.Load() {
		e.workMu.RUnlock()
		e.renderFailed(w, r, rt, path, errClosed)
		return
	}
	e.work.Add(1)
	e.workMu.RUnlock()
	defer e.work.Done()
	ctx, cancel := context.WithTimeout(r.Context(), e.renderTimeout)
	defer cancel()
	stop := context.AfterFunc(e.base, cancel) // Shutdown's deadline
	defer stop()
	set, sw := e.respond(w, r, rt, path, params, now)
	defer set.close()
	res, err := e.render(ctx, rt, path, params, now, r, false, sw)
	if err == nil {
		err = rt.checkHoles(res)
	}
	if sw.detach() {
		var streamed render.Streamed
		if res != nil {
			streamed = res.Streamed
			rt.refine(&res.Record, e.in)
		}
		sw.end(streamed, true, err)
		return
	}
	if err != nil {
		e.renderFailed(w, r, rt, path, err)
		return
	}
	rt.refine(&res.Record, e.in)
	e.writeRendered(w, r, res, regen.Bypass, set)
}

// regenerate starts one background regeneration of path, unless one is in
// flight or the path is in its back-off after a failure. It says which. ctx
// is the request's, whose span the regeneration's links to.
func (e *Engine) regenerate(ctx context.Context, path string, now time.Time) string {
	if e.closed.Load() {
		return "stale; engine closing: no regeneration"
	}
	if e.backoff.Waiting(path, now) {
		return "stale; waiting a back-off (the last regeneration failed or ran on another instance)"
	}
	c, leader := e.flights.Start(path)
	if !leader {
		e.deduplicated()
		return "stale; regeneration in flight"
	}
	trigger := e.spanContext(ctx)
	// Until it starts, a MISS of the path may take the regeneration over
	// and render at once rather than wait for the queue.
	c.Pend()
	run := func() {
		if !c.Begin() {
			return // taken over by a MISS, which ended the call
		}
		ctx, cancel := e.renderContext(context.Background())
		defer cancel()
		ctx, end := e.startRegeneration(ctx, trigger, path)
		// A regeneration that ignores its deadline is abandoned at it, and
		// counts as failed: the path backs off, then a request starts a
		// fresh one instead of finding this one in flight for ever.
		var settled atomic.Bool // its outcome is recorded in the back-off
		abandon := time.AfterFunc(e.renderTimeout+renderGrace, func() {
			if settled.CompareAndSwap(false, true) {
				e.flights.Forget(path, c)
				e.failed(path, errRenderTimeout)
			}
		})
		defer abandon.Stop()
		_, err := e.flights.Run(path, c, func() (*outcome, error) { return e.regen(ctx, path, c, &settled) })
		end(err)
	}
	if e.pool != nil && !e.pool.TryGo(run) {
		// The queue is full: the path stays STALE, and a later request
		// asks again. Whoever joined the call in the meantime renders
		// for itself.
		if c.Begin() {
			e.flights.Run(path, c, func() (*outcome, error) { return nil, errBusy })
		}
		return "stale; regeneration queue full: not started"
	} else if e.pool == nil {
		e.sched.Go(run)
	}
	return "stale; regeneration started"
}

// errBusy ends a regeneration the queue had no room for.
var errBusy = errors.New("engine: regeneration queue full")

// regen is one background regeneration. On failure the old entry stays and
// goes on being served as STALE; the path waits its back-off. The outcome
// is recorded in the back-off unless settled was set first (the
// regeneration was abandoned at its deadline, and counted as failed then).
func (e *Engine) regen(ctx context.Context, path string, c *flight.Call[*outcome], settled *atomic.Bool) (*outcome, error) {
	start := e.eventTime()
	if ent, st, _ := e.routes.Get(ctx, path, start); ent != nil && st == regen.Hit {
		return &outcome{entry: ent, status: regen.Hit}, nil
	}
	rt, params := e.match(path)
	if rt == nil || rt.policy.Load().Kind == Dynamic {
		_ = e.routes.Delete(ctx, path)
		return &outcome{dynamic: true}, nil
	}
	unlock, ok, shared := e.lock(ctx, path)
	if !ok {
		// Another instance is regenerating the path; its entry will replace
		// ours. Ask again after a pause, not on every STALE request.
		e.backoff.Hold(path, start, start.Add(lockedElsewhereWait))
		return &outcome{}, errLockedElsewhere
	}
	defer unlock()
	if shared {
		// Another instance may have regenerated it just before we took the lock.
		if ent, st, _ := e.routes.Get(ctx, path, start); ent != nil && st == regen.Hit {
			return &outcome{entry: ent, status: regen.Hit}, nil
		}
	}
	out, err := e.renderStore(ctx, rt, path, params, start, nil, true, c, nil)
	if !settled.CompareAndSwap(false, true) {
		return out, err // abandoned, and counted as failed, at the deadline
	}
	if err != nil {
		e.failed(path, err)
		return nil, err
	}
	e.backoff.Succeeded(path)
	return out, nil
}

// errLockedElsewhere ends a regeneration that another instance runs.
var errLockedElsewhere = errors.New("engine: regenerating on another instance")

// Lease of the shared lock on a path's render, and how long a MISS waits for
// another instance's render before rendering itself.
const (
	lockLease           = 30 * time.Second
	lockedElsewhereWait = time.Second
	awaitElsewhere      = 5 * time.Second
	awaitPollPeriod     = 25 * time.Millisecond
)

// lock takes the shared lock on path when the store is shared (a
// store.Locker). ok is false when another instance holds it; shared says
// whether a lock was taken at all. A store error is logged (at Debug when the
// store reports itself unavailable: it logs its outage once) and the render
// goes ahead: a store outage never blocks a render.
func (e *Engine) lock(ctx context.Context, path string) (unlock func(), ok, shared bool) {
	l, isLocker := e.store.(store.Locker)
	if !isLocker {
		return func() {}, true, false
	}
	unlock, ok, err := l.TryLock(ctx, "render:"+path, lockLease)
	if err != nil {
		level := slog.LevelWarn
		if errors.Is(err, store.ErrUnavailable) {
			level = slog.LevelDebug
		}
		e.log.Log(ctx, level, "regen: shared lock unavailable; rendering", "path", path, "error", err)
		return func() {}, true, false
	}
	return unlock, ok, true
}

// awaitElsewhere polls the store for the entry another instance is
// rendering, for a bounded time.
func (e *Engine) awaitElsewhere(ctx context.Context, path string) *routecache.Entry {
	ctx, cancel := context.WithTimeout(ctx, awaitElsewhere)
	defer cancel()
	tick := time.NewTicker(awaitPollPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if ent, st, _ := e.routes.Get(ctx, path, e.now()); ent != nil && st != regen.Miss {
			return ent
		}
	}
}

// failed records a failed regeneration of path: the path waits its
// back-off before the next.
func (e *Engine) failed(path string, err error) {
	now := e.now()
	wait, failures := e.backoff.Failed(path, now)
	e.indexFailure(path, err, now)
	e.log.Error("regen: regeneration failed; serving the last good entry", "path", path, "error", err,
		"failures", failures, "retry_in", wait)
}

// serveNotFound answers 404 for a path no route serves: Options.NotFound if
// set, else the site's not-found page at "/" (the route "/_not-found"),
// else a plain 404.
func (e *Engine) serveNotFound(w http.ResponseWriter, r *http.Request) {
	if e.notFound == nil && e.byPattern[notFoundPath] != nil {
		e.serveNotFoundPage(w, r)
		return
	}
	w.Header()["X-Cache-Status"] = xCacheStatus[regen.Bypass]
	w.Header()["Cache-Status"] = cacheStatus[regen.Bypass]
	if e.notFound == nil {
		defaultNotFound(w, r)
		return
	}
	e.notFound.ServeHTTP(w, r)
}

func defaultNotFound(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Content-Type"] = textPlain
	h["Cache-Control"] = ccDynamic
	w.WriteHeader(http.StatusNotFound)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte("404 page not found\n"))
	}
}

// writeError answers an error of the request itself (400, 405, 414): the
// error page gets a nil error.
func (e *Engine) writeError(w http.ResponseWriter, r *http.Request, code int) {
	e.writeErrorPage(w, r, code, nil)
}

// writeErrorPage answers code through Options.ErrorPage, passing err on.
func (e *Engine) writeErrorPage(w http.ResponseWriter, r *http.Request, code int, err error) {
	w.Header()["X-Cache-Status"] = xCacheStatus[regen.Bypass]
	w.Header()["Cache-Status"] = cacheStatus[regen.Bypass]
	e.errPage(w, r, code, err)
}

// defaultErrorPage writes the status and its text, never err, which may
// name routes, origins and files (the engine has logged it).
func defaultErrorPage(w http.ResponseWriter, r *http.Request, code int, _ error) {
	h := w.Header()
	h["Content-Type"] = textPlain
	h["Cache-Control"] = ccDynamic
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = fmt.Fprintf(w, "%d %s\n", code, http.StatusText(code))
	}
}

// Header values shared by every response; never modified.
var (
	allowGetHead = []string{"GET, HEAD"}
	textPlain    = []string{"text/plain; charset=utf-8"}
	ccDynamic    = []string{"private, no-cache, no-store, max-age=0, must-revalidate"}
	xCacheStatus = [...][]string{
		regen.Hit: {"HIT"}, regen.Stale: {"STALE"}, regen.Miss: {"MISS"}, regen.Bypass: {"BYPASS"},
	}
	// RFC 9211 Cache-Status.
	cacheStatus = [...][]string{
		regen.Hit:    {"regen; hit"},
		regen.Stale:  {"regen; hit; detail=stale-while-revalidate"},
		regen.Miss:   {"regen; fwd=miss; stored"},
		regen.Bypass: {"regen; fwd=bypass"},
	}
)

// cacheControl is the Cache-Control value for a route of kind.
func cacheControl(kind Kind, rev regen.Revalidate, expire time.Duration) string {
	switch kind {
	case Static:
		return "s-maxage=31536000"
	case ISR:
		secs := rev.Raw()
		// A render can reveal an interval at or above expire (a fetch's, with
		// a short Options.Expire): the entry is then dropped at expire, never
		// served stale.
		swr := max(int64(expire/time.Second)-secs, 0)
		return "s-maxage=" + strconv.FormatInt(secs, 10) + ", stale-while-revalidate=" + strconv.FormatInt(swr, 10)
	}
	return ccDynamic[0]
}

// etag is a strong validator over the body.
func etag(body []byte) string {
	return `"` + strconv.FormatUint(xxhash.Sum64(body), 36) + `"`
}

// writeEntry writes a cached entry without allocating (but for a
// redirect's Location under a prefix).
//
// It reports false, having written nothing but headers that writePartial
// replaces, for a partial route's shell, whose holes are the caller's to
// fill.
func (e *Engine) writeEntry(w http.ResponseWriter, r *http.Request, ent *routecache.Entry, st regen.Status) bool {
	f := e.hitHeaders.of(ent)
	if f == nil {
		// A header written once, which is not remembered: listed here.
		var kv [8]headerValues
		tmp := flatten(ent.Header, kv[:0])
		f = &tmp
	}
	if f.partial {
		return false
	}
	h := w.Header()
	f.copyTo(e, h, r)
	h["X-Cache-Status"] = xCacheStatus[st]
	h["Cache-Status"] = cacheStatus[st]
	// Preconditions apply to 2xx answers only (RFC 9110 13.2.1): a cached
	// 404 stays a 404.
	if inm := r.Header["If-None-Match"]; len(inm) > 0 && ent.Status/100 == 2 {
		if f.etag != "" && etagMatch(inm, f.etag) {
			delete(h, "Content-Length")
			delete(h, "Content-Type")
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	w.WriteHeader(ent.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(ent.Body)
	}
	return true
}

// writeRendered writes a render that is not cached, with its holes, if it
// placed any, filled from set.
func (e *Engine) writeRendered(w http.ResponseWriter, r *http.Request, res *render.Result, st regen.Status, set *holeSet) {
	if len(res.Holes) > 0 {
		e.writePartial(w, r, res.Status, renderHeader(res.Header), res.Body, res.Holes, set, st)
		return
	}
	h := w.Header()
	for k, v := range renderHeader(res.Header) {
		h[k] = v
	}
	if loc := h["Location"]; len(loc) == 1 {
		h["Location"] = e.prefixed(r, loc)
	}
	h["Content-Length"] = []string{strconv.Itoa(len(res.Body))}
	h["Cache-Control"] = ccDynamic
	h["X-Cache-Status"] = xCacheStatus[st]
	h["Cache-Status"] = cacheStatus[st]
	w.WriteHeader(res.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(res.Body)
	}
}
