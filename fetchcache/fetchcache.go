package fetchcache

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/internal/backoff"
	"github.com/regen-dev/regen/internal/flight"
	"github.com/regen-dev/regen/internal/pool"
	"github.com/regen-dev/regen/store"
)

// Request is one fetch: what to ask the origin, and how to cache the answer.
type Request struct {
	Method string      // "" means GET
	URL    string      // absolute, or relative to a Fetcher that understands it
	Header http.Header // request headers; they take part in the key (but see Key)
	Body   []byte      // request body; takes part in the key

	// Revalidate is this fetch's own interval. NotDeclared means the
	// Call's DefaultRevalidate.
	Revalidate regen.Revalidate
	// Cache is the fetch's cache mode. NoStore (or Revalidate Never) means
	// the response is never stored.
	Cache regen.CacheMode
	// Tags are explicit tags for on-demand revalidation.
	Tags []string
	// CacheLife, if declared, is the fetch's cache profile, in place of
	// Revalidate (declaring both is an error): its Revalidate is the
	// fetch's interval, and its Expire, if set, the age at which the entry
	// is not served stale any more (the next call waits for the origin).
	CacheLife regen.CacheLife
}

// Response is what an origin answered.
//
// A Response returned by a Cache shares its Header and Body with the cache
// entry and with every other caller: callers must not modify them.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Fetcher asks an origin. Implementations must be safe for concurrent use.
//
// The Response a Fetcher returns belongs to the cache, which may store it
// and hand it to many callers: the Fetcher must not modify it afterwards.
type Fetcher interface {
	Fetch(ctx context.Context, req *Request) (*Response, error)
}

// FetcherFunc adapts a function to a Fetcher.
type FetcherFunc func(ctx context.Context, req *Request) (*Response, error)

// Fetch calls f(ctx, req).
func (f FetcherFunc) Fetch(ctx context.Context, req *Request) (*Response, error) { return f(ctx, req) }

// StatusError is returned when the origin answers with a non-2xx status.
// Such responses are never stored.
type StatusError struct {
	URL    string
	Status int
}

func (e *StatusError) Error() string {
	msg := "fetchcache: fetch " + strconv.Quote(e.URL) + ": status " + strconv.Itoa(e.Status)
	if text := http.StatusText(e.Status); text != "" {
		msg += " " + text
	}
	return msg
}

// Call carries what one caller knows about the fetch it is making: the time,
// the route around it. The zero Call means: now is time.Now(), no implicit
// tags, default revalidate Forever, stale data served while it refreshes.
type Call struct {
	// Now is the time of the request, read once at the edge.
	Now time.Time
	// ImplicitTags are the tags of the route and layouts the fetch is made
	// in. They are stored with a new entry, and an entry is also stale when
	// one of them was revalidated after it was made.
	ImplicitTags []string
	// DefaultRevalidate applies to requests that declare no Revalidate and no
	// Cache mode: the route's revalidate. NotDeclared means Forever. Never
	// means such fetches are not cached.
	DefaultRevalidate regen.Revalidate
	// RefreshStale makes a stale entry refresh before it is returned (the
	// caller waits), instead of being returned at once with a background
	// refresh. Regenerations set it so they never bake stale data into a page.
	RefreshStale bool
	// Key, if set, is Key(req) as the caller already computed it, so that
	// Fetch does not hash the request again. Memoize ignores it.
	Key string
}

// Result describes how a fetch was answered.
type Result struct {
	Key        string           // the cache key
	Status     regen.Status     // Hit, Stale, Miss; Bypass for an uncached fetch
	Revalidate regen.Revalidate // the effective revalidate: Never when uncached
	Tags       []string         // the explicit tags
}

// Options configure a Cache. The zero value means all defaults.
type Options struct {
	// Store holds the entries. If nil, a new store.Memory of 64 MiB is used.
	Store store.Store
	// Fetcher asks the origin. If nil, requests go through an http.Client
	// of the package's own (see the package documentation).
	Fetcher Fetcher
	// Timeout bounds every origin call: each Fetcher call and each memoized
	// function gets a context that ends after it, whoever waits for the
	// answer. If zero, DefaultTimeout.
	Timeout time.Duration
	// Scheduler runs background refreshes. If nil, they run on a pool of
	// twice GOMAXPROCS goroutines (at least 10) with a queue of 1024, which
	// skips a refresh when full, and Close waits for it.
	Scheduler regen.Scheduler
	// Logger receives failed background refreshes. If nil, slog.Default().
	Logger *slog.Logger
	// RetryBackoff is the wait after a failed background refresh before the
	// key is refreshed again; it doubles on each failure up to 5 minutes, or
	// RetryBackoff itself if larger. If zero, 2 seconds.
	RetryBackoff time.Duration
	// Now is the clock of background refreshes: the Created time of the
	// entries they store, and the start of their back-off after a failure.
	// If nil, time.Now is used; read when a background refresh starts.
	// Foreground calls take their time from Call.Now.
	Now func() time.Time
	// Metrics, if set, receives the Data Cache's Prometheus metrics
	// (regen_data_cache_requests_total, regen_origin_fetches_total,
	// regen_origin_fetch_duration_seconds; see the package documentation).
	// If nil, nothing is counted.
	Metrics prometheus.Registerer
	// TracerProvider, if set, gives each fetch and memoized call a
	// "regen.fetch" span. If nil, no spans are made.
	TracerProvider trace.TracerProvider
}

// DefaultTimeout bounds origin calls when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Defaults of Options.
const (
	defaultStoreBytes   = 64 << 20
	defaultRetryBackoff = 2 * time.Second
	defaultQueue        = 1024
)

// Cache is the Data Cache. It is safe for concurrent use.
type Cache struct {
	store   store.Store
	fetcher Fetcher
	sched   regen.Scheduler
	pool    *pool.Pool // the default scheduler, owned by the cache; nil when Options.Scheduler is set
	logger  *slog.Logger
	timeout time.Duration
	now     func() time.Time

	// base is the parent of the origin calls that run detached from their
	// caller; Shutdown cancels it when its deadline passes.
	base       context.Context
	cancelBase context.CancelFunc

	flight flight.Group[loaded] // origin calls in flight: at most one per key
	fgMu   sync.RWMutex         // held to set closed, held shared to add to fg
	closed bool                 // Shutdown has started: no call is added to fg
	fg     sync.WaitGroup       // foreground origin calls running detached from their caller

	backoff *backoff.Set // keys whose last refresh failed

	metrics *metrics     // nil without Options.Metrics
	tracer  trace.Tracer // nil without Options.TracerProvider
}

// loaded is the outcome of an origin call in flight: the entry, stored or
// found fresh in the store by the re-check, and how it was obtained (Miss
// when fetched, Hit when found).
type loaded struct {
	it     *store.Item
	status regen.Status
}

// New returns a Cache.
func New(opts Options) *Cache {
	c := &Cache{
		store:   opts.Store,
		fetcher: opts.Fetcher,
		sched:   opts.Scheduler,
		logger:  opts.Logger,
		timeout: opts.Timeout,
		now:     opts.Now,
	}
	c.base, c.cancelBase = context.WithCancel(context.Background())
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.store == nil {
		c.store = store.NewMemory(store.MemoryOptions{MaxBytes: defaultStoreBytes})
	}
	if c.fetcher == nil {
		c.fetcher = httpFetcher{client: &http.Client{Timeout: c.timeout}, maxBody: maxBodyBytes}
	}
	if c.sched == nil {
		c.pool = pool.New(max(10, 2*runtime.GOMAXPROCS(0)), defaultQueue)
		c.sched = c.pool
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	c.observe(opts)
	c.backoff = backoff.New(cmp.Or(max(opts.RetryBackoff, 0), defaultRetryBackoff))
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// job is one cacheable origin call: a fetch or a memoized function, under
// its key, with how to judge and store its entry.
type job struct {
	key    string
	url    string           // the request URL
	parts  []string         // the key parts of a Memoize call
	rev    regen.Revalidate // the effective revalidate; never Never
	expire time.Duration    // the age at which the entry is not served; 0: never
	tags   []string         // the explicit tags
	call   Call             // with Now set

	req *Request                                  // the fetch to make, or
	fn  func(ctx context.Context) ([]byte, error) // the function to memoize
}

// name names j in errors and logs: its URL, or "memoize:" and its key parts.
func (j *job) name() string {
	if j.req == nil {
		return memoName(j.parts)
	}
	return j.url
}

func memoName(parts []string) string { return "memoize:" + strings.Join(parts, ",") }

// Fetch answers req from the cache or the origin.
//
// A fresh entry is returned without calling the origin (Hit). A stale one is
// returned at once (Stale) while one background refresh per key runs, or,
// with call.RefreshStale, after a synchronous refresh, falling back to the
// stale entry if the refresh fails. Without a usable entry, Fetch waits for
// the origin (Miss), sharing one call per key among concurrent callers; a
// caller whose ctx ends stops waiting with ctx.Err(), without canceling the
// call. An uncached request calls the origin every time (Bypass).
//
// A non-2xx answer is returned as a *StatusError and not stored; an origin
// error (or panic) is returned wrapped with the URL. See the package
// documentation for the rules.
func (c *Cache) Fetch(ctx context.Context, req *Request, call Call) (*Response, Result, error) {
	key := call.Key
	if key == "" {
		key = Key(req)
	}
	j := job{key: key, url: req.URL, req: req}
	ctx, sp := c.startFetch(ctx, &j)
	declared, expire, err := Declared(req.Revalidate, req.CacheLife)
	if err != nil {
		err = fmt.Errorf("fetchcache: fetch %q: %w", j.name(), err)
		c.fetched(sp, &Result{Key: key}, err)
		return nil, Result{Key: key}, err
	}
	j.expire = expire
	it, res, err := c.do(ctx, &j, declared, req.Cache, req.Tags, call)
	c.fetched(sp, &res, err)
	if it == nil {
		return nil, res, err
	}
	return &Response{Status: it.Status, Header: it.Header, Body: it.Body}, res, err
}

// do is the body of Fetch and Memoize: j names the key and the origin; the
// rest of it is filled in here.
func (c *Cache) do(ctx context.Context, j *job, declared regen.Revalidate, mode regen.CacheMode, tags []string, call Call) (*store.Item, Result, error) {
	res := Result{Key: j.key, Tags: tags}
	rev, err := EffectiveRevalidate(declared, mode, call.DefaultRevalidate)
	if err != nil {
		return nil, res, fmt.Errorf("fetchcache: fetch %q: %w", j.name(), err)
	}
	// Tags that break the limits are dropped, as Next.js's validateTags
	// drops them; the engine warns of them once per route.
	tags, dropped := regen.FilterTags(tags)
	if len(dropped) > 0 {
		c.logger.LogAttrs(ctx, slog.LevelDebug, "fetchcache: tags dropped", slog.String("url", j.name()),
			slog.Int("dropped", len(dropped)), slog.String("reason", dropped[0].Reason))
	}
	res.Tags, res.Revalidate = tags, rev
	if call.Now.IsZero() {
		call.Now = c.now()
	}
	j.rev, j.tags, j.call = rev, tags, call
	if rev == regen.Never {
		res.Status = regen.Bypass
		resp, err := c.callOrigin(ctx, j)
		if err != nil {
			return nil, res, err
		}
		return &store.Item{Status: resp.Status, Header: resp.Header, Body: resp.Body}, res, nil
	}
	it, st, err := c.serve(ctx, j)
	res.Status = st
	if err != nil {
		return nil, res, err
	}
	return it, res, nil
}

// MemoOptions configure one Memoize call.
type MemoOptions struct {
	Revalidate regen.Revalidate // NotDeclared: the Call's DefaultRevalidate
	Tags       []string
	CacheLife  regen.CacheLife // in place of Revalidate, as Request.CacheLife
}

// Declared returns the revalidate a fetch declares with rev or life, and
// the expire of its entries (0: none): life's when declared. Declaring both
// is an error, as is a life that is not Valid.
func Declared(rev regen.Revalidate, life regen.CacheLife) (regen.Revalidate, time.Duration, error) {
	if !life.Declared() {
		return rev, 0, nil
	}
	if rev.Declared() {
		return rev, 0, fmt.Errorf("revalidate %v and cacheLife %v both declared (give one of them)", rev, life)
	}
	if err := life.Valid(); err != nil {
		return rev, 0, fmt.Errorf("cacheLife: %w", err)
	}
	return life.Revalidate, life.Expire, nil
}

// Memoize gives fn the Data Cache's caching under the key formed by keyParts,
// like Next.js's unstable_cache: fresh values are returned without calling fn,
// stale ones are returned and refreshed once in the background, a failed
// refresh keeps the last good value.
//
// It follows Fetch's rules, with fn as the origin: an error from fn is
// returned wrapped and nothing is stored. The returned bytes are shared with
// the cache entry: callers must not modify them.
func (c *Cache) Memoize(ctx context.Context, keyParts []string, opts MemoOptions, call Call, fn func(ctx context.Context) ([]byte, error)) ([]byte, Result, error) {
	j := job{key: memoKey(keyParts), parts: keyParts, fn: fn}
	ctx, sp := c.startFetch(ctx, &j)
	declared, expire, err := Declared(opts.Revalidate, opts.CacheLife)
	if err != nil {
		err = fmt.Errorf("fetchcache: fetch %q: %w", j.name(), err)
		c.fetched(sp, &Result{Key: j.key}, err)
		return nil, Result{Key: j.key}, err
	}
	j.expire = expire
	it, res, err := c.do(ctx, &j, declared, regen.CacheDefault, opts.Tags, call)
	c.fetched(sp, &res, err)
	if it == nil {
		return nil, res, err
	}
	return it.Body, res, err
}

// Close waits for the origin calls that callers gave up on and for
// background refreshes started with the default scheduler; each is bounded
// by Options.Timeout. The Cache must not be used after Close. Close always
// returns nil.
func (c *Cache) Close() error {
	return c.Shutdown(context.Background())
}

// Shutdown is Close with a deadline: when ctx ends before the calls in
// flight, it cancels them and returns ctx.Err() without waiting further.
func (c *Cache) Shutdown(ctx context.Context) error {
	c.fgMu.Lock()
	c.closed = true // no call is added to fg from now on: see lead
	c.fgMu.Unlock()
	err := pool.Drain(ctx, &c.fg, c.pool)
	c.cancelBase()
	return err
}

// detached returns a context for an origin call that outlives its caller:
// it keeps ctx's values, not its cancellation, and ends when Shutdown gives
// up on the calls in flight.
func (c *Cache) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(c.base, cancel)
	return dctx, func() { stop(); cancel() }
}

// EffectiveRevalidate returns the revalidate a fetch is cached by: Never
// (uncached) for NoStore, whatever it declares; else its own Revalidate if
// declared; else for ForceCache the default if it caches (positive or
// Forever), Forever otherwise; else the default, NotDeclared meaning Forever.
// It is the one statement of the rule: the render's records use it too.
func EffectiveRevalidate(r regen.Revalidate, mode regen.CacheMode, def regen.Revalidate) (regen.Revalidate, error) {
	if err := r.Valid(); err != nil {
		return regen.NotDeclared, err
	}
	if err := def.Valid(); err != nil {
		return regen.NotDeclared, fmt.Errorf("default %w", err)
	}
	switch {
	case mode > regen.NoStore:
		return regen.NotDeclared, fmt.Errorf("unknown cache mode %d (must be default, force-cache or no-store)", mode)
	case mode == regen.NoStore:
		return regen.Never, nil
	case r.Declared():
		return r, nil
	case mode == regen.ForceCache:
		if regen.NotDeclared.Less(def) { // a number of seconds, or Forever
			return def, nil
		}
		return regen.Forever, nil
	case def.Declared():
		return def, nil
	}
	return regen.Forever, nil
}

// freshness is the status of an entry at now for a caller whose effective
// revalidate is rev, given the state of its tags: Miss when a tag was
// revalidated in expire mode after the entry was made, or by a cache profile
// whose expire has passed, or when the entry is at least its own Expire old
// (a fetch's cacheLife); Stale when one was in stale mode or by a profile,
// or when the entry is at least rev old; Hit otherwise.
func freshness(it *store.Item, now time.Time, rev regen.Revalidate, tags store.TagState) regen.Status {
	if tags.ExpiredAt(now) || it.Expire > 0 && now.Sub(it.Created) >= it.Expire {
		return regen.Miss
	}
	if tags.Stale {
		return regen.Stale
	}
	if d, ok := rev.Interval(); ok && now.Sub(it.Created) >= d {
		return regen.Stale
	}
	return regen.Hit
}

// serve answers a cacheable job from the store or its origin. It takes j
// by reference, and copies it only past a hit.
func (c *Cache) serve(ctx context.Context, j *job) (*store.Item, regen.Status, error) {
	it, st, err := c.lookup(ctx, j.key, j.rev, &j.call)
	if err != nil {
		if ctx.Err() != nil {
			return nil, regen.Miss, ctx.Err()
		}
		c.logger.LogAttrs(ctx, slog.LevelWarn, "fetchcache: store lookup failed; calling the origin",
			slog.String("key", j.key), slog.String("url", j.name()), slog.Any("error", err))
	}
	switch {
	case st == regen.Hit:
		return it, regen.Hit, nil
	case st == regen.Stale && !j.call.RefreshStale:
		c.refreshInBackground(ctx, *j)
		return it, regen.Stale, nil
	case st == regen.Stale:
		l, err, canceled := c.loadFresh(ctx, *j, true)
		if err != nil && !canceled {
			// The refresh failed and was logged by whoever ran it: keep
			// the last good value.
			return it, regen.Stale, nil
		}
		if err != nil {
			return nil, regen.Stale, err
		}
		return l.it, l.status, nil
	}
	l, err, _ := c.loadFresh(ctx, *j, false)
	if err != nil {
		return nil, regen.Miss, err
	}
	return l.it, l.status, nil
}

// loadFresh is load, except that a caller with Call.RefreshStale does not
// take the answer of a call that started before its own and before one of
// the entry's tags was revalidated: that answer may hold the content the
// revalidation replaced, which the caller's own result (a page dated
// Call.Now) would not show as stale. It loads once more instead.
func (c *Cache) loadFresh(ctx context.Context, j job, refresh bool) (l loaded, err error, canceled bool) {
	l, err, canceled = c.load(ctx, j, refresh)
	if err != nil || !j.call.RefreshStale || !l.it.Created.Before(j.call.Now) {
		return l, err, canceled
	}
	ts, err := c.store.TagState(ctx, l.it.Tags, l.it.Created)
	if err == nil && !ts.Stale && !ts.Expired && len(j.call.ImplicitTags) > 0 {
		ts, err = c.store.TagState(ctx, j.call.ImplicitTags, l.it.Created)
	}
	if err != nil || (!ts.Stale && !ts.Expired) {
		return l, nil, false
	}
	return c.load(ctx, j, refresh)
}

// lookup returns key's entry and its status for call. A store that fails
// counts as empty, with its error, so that callers still get the origin's
// answer.
func (c *Cache) lookup(ctx context.Context, key string, rev regen.Revalidate, call *Call) (*store.Item, regen.Status, error) {
	it, ts, ok, err := store.GetTagged(ctx, c.store, key)
	if err != nil || !ok {
		return nil, regen.Miss, err
	}
	if !ts.Expired && len(call.ImplicitTags) > 0 {
		var its store.TagState
		its, err = c.store.TagState(ctx, call.ImplicitTags, it.Created)
		if err != nil {
			return nil, regen.Miss, err
		}
		ts = ts.Merge(its)
	}
	return it, freshness(it, call.Now, rev, ts), nil
}

// load makes j's origin call, or joins the one in flight for j.key, and
// waits for it or for ctx. canceled reports that ctx ended first, in which
// case err is ctx.Err() and the call goes on without this caller.
//
// A new call runs in its own goroutine, detached from ctx, unless ctx can
// never be canceled; refresh says whether it refreshes a stale entry, whose
// failure is logged and backs the key off.
func (c *Cache) load(ctx context.Context, j job, refresh bool) (l loaded, err error, canceled bool) {
	fc, leader := c.flight.Start(j.key)
	if leader || fc.TakeOver() {
		// A new call, or a background refresh still queued behind busy
		// workers, which this caller makes now rather than wait for the
		// queue (it could be waiting for itself: a regeneration running on
		// the pool that the refresh is queued on).
		c.lead(ctx, fc, j, refresh)
	}
	select {
	case <-fc.Done():
	default:
		select {
		case <-fc.Done():
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// The call outlived a caller's deadline: it ignores its own
				// Timeout, or will end soon by it. Either way the next caller
				// makes a call of its own rather than wait on this one.
				c.flight.Forget(j.key, fc)
			}
			return loaded{}, ctx.Err(), true
		}
	}
	l, err = fc.Result()
	return l, err, false
}

// lead runs the new call fc for a caller of load.
func (c *Cache) lead(ctx context.Context, fc *flight.Call[loaded], j job, refresh bool) {
	j = detach(j)
	if ctx.Done() == nil {
		c.flight.Run(j.key, fc, func() (loaded, error) { return c.fill(ctx, fc, j, j.call.Now, refresh) })
		return
	}
	c.fgMu.RLock()
	if c.closed {
		// Shutdown waits for fg, or has given up on it and may still be
		// waking from its Wait: adding to it now would misuse it. The call
		// runs in the caller, under its ctx, and ends at Shutdown's
		// deadline.
		c.fgMu.RUnlock()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(c.base, cancel)
		defer stop()
		c.flight.Run(j.key, fc, func() (loaded, error) { return c.fill(ctx, fc, j, j.call.Now, refresh) })
		return
	}
	c.fg.Add(1)
	c.fgMu.RUnlock()
	go func() {
		defer c.fg.Done()
		ctx, cancel := c.detached(ctx)
		defer cancel()
		c.flight.Run(j.key, fc, func() (loaded, error) { return c.fill(ctx, fc, j, j.call.Now, refresh) })
	}()
}

// refreshInBackground starts a refresh of j's stale entry through the
// scheduler, unless one is in flight or the key is backing off.
func (c *Cache) refreshInBackground(ctx context.Context, j job) {
	if c.backoff.Waiting(j.key, j.call.Now) {
		return
	}
	fc, leader := c.flight.Start(j.key)
	if !leader {
		return
	}
	j = detach(j)
	fc.Pend() // a caller of load may take it over until it starts
	run := func() {
		if !fc.Begin() {
			return // taken over by a caller of load, which made the call
		}
		ctx, cancel := c.detached(ctx)
		defer cancel()
		now := c.now()
		c.flight.Run(j.key, fc, func() (loaded, error) { return c.fill(ctx, fc, j, now, true) })
	}
	if ts, ok := c.sched.(tryScheduler); ok && !ts.TryGo(run) {
		// The scheduler is full: skip this refresh; a later stale read
		// asks again. Whoever joined the call in the meantime is told.
		if fc.Begin() {
			c.flight.Run(j.key, fc, func() (loaded, error) { return loaded{}, errBusy })
		}
		return
	} else if !ok {
		c.sched.Go(run)
	}
}

// tryScheduler is a Scheduler that can refuse work when it is full, as the
// engine's bounded pool does.
type tryScheduler interface{ TryGo(f func()) bool }

// errBusy ends a background refresh its scheduler had no room for.
var errBusy = errors.New("fetchcache: background refresh skipped: the scheduler is full")

// fill is the body of an origin call in flight, started at now. It re-checks
// the store first, at the time of the caller that started it: another call
// may have stored a fresh entry between that caller's lookup and the start of
// this one (a store failure there was logged by the caller). It stores a successful answer, dated now; for a refresh it
// records the outcome in the key's back-off and logs a failure. A call that a
// caller forgot (fc.Forgotten) does not replace an entry at least as new as
// its own: the next caller's call may have stored it. Everything is done
// before the waiters wake.
func (c *Cache) fill(ctx context.Context, fc *flight.Call[loaded], j job, now time.Time, refresh bool) (loaded, error) {
	if it, st, _ := c.lookup(ctx, j.key, j.rev, &j.call); st == regen.Hit {
		return loaded{it: it, status: regen.Hit}, nil
	}
	resp, err := c.callOrigin(ctx, &j)
	if err != nil {
		if refresh {
			c.failed(ctx, j, now, err)
		}
		return loaded{}, err
	}
	tags := make([]string, 0, len(j.tags)+len(j.call.ImplicitTags))
	tags = append(append(tags, j.tags...), j.call.ImplicitTags...)
	it := &store.Item{
		Status:     resp.Status,
		Header:     resp.Header,
		Body:       resp.Body,
		Tags:       tags,
		Created:    now,
		Revalidate: j.rev,
		Expire:     j.expire,
	}
	if fc.Forgotten() {
		// A caller gave up on this call, and the next made its own, which
		// may have stored a newer answer already: do not replace it.
		if cur, ok, _ := c.store.Get(ctx, j.key); ok && cur != nil && !cur.Created.Before(now) {
			c.backoff.Succeeded(j.key)
			return loaded{it: it, status: regen.Miss}, nil
		}
	}
	if err := c.store.Set(ctx, j.key, it); err != nil {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "fetchcache: store set failed",
			slog.String("key", j.key), slog.String("url", j.name()), slog.Any("error", err))
	}
	c.backoff.Succeeded(j.key)
	return loaded{it: it, status: regen.Miss}, nil
}

// callOrigin asks j's origin: the Fetcher or the memoized function. It
// returns a non-2xx answer as a *StatusError, and an error or a panic
// wrapped with j.name().
func (c *Cache) callOrigin(ctx context.Context, j *job) (resp *Response, err error) {
	if c.metrics != nil {
		defer c.metrics.originDone(time.Now(), &err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, fmt.Errorf("fetchcache: fetch %q: panic: %v\n%s", j.name(), r, debug.Stack())
		}
	}()
	if j.req == nil {
		b, err := j.fn(ctx)
		if err != nil {
			return nil, fmt.Errorf("fetchcache: fetch %q: %w", j.name(), err)
		}
		return &Response{Status: http.StatusOK, Body: b}, nil
	}
	resp, err = c.fetcher.Fetch(ctx, j.req)
	switch {
	case err != nil:
		return nil, fmt.Errorf("fetchcache: fetch %q: %w", j.name(), err)
	case resp == nil:
		return nil, fmt.Errorf("fetchcache: fetch %q: fetcher returned neither a response nor an error", j.name())
	case resp.Status < 200 || resp.Status > 299:
		return nil, &StatusError{URL: j.name(), Status: resp.Status}
	}
	return resp, nil
}

// detach returns j with copies of what its caller may reuse once it
// returns: the request, its header and body, and the tag slices.
func detach(j job) job {
	if j.req != nil {
		r := *j.req
		r.Header = j.req.Header.Clone()
		r.Body = bytes.Clone(j.req.Body)
		r.Tags = slices.Clone(j.req.Tags)
		j.req = &r
	}
	j.parts = slices.Clone(j.parts)
	j.tags = slices.Clone(j.tags)
	j.call.ImplicitTags = slices.Clone(j.call.ImplicitTags)
	return j
}

// failed records a failed refresh of j's key, started at now, and logs it.
func (c *Cache) failed(ctx context.Context, j job, now time.Time, err error) {
	wait, _ := c.backoff.Failed(j.key, now)
	c.logger.LogAttrs(ctx, slog.LevelError, "fetchcache: refresh failed; keeping the last good value",
		slog.String("key", j.key), slog.String("url", j.name()), slog.Any("error", err),
		slog.Duration("retry_after", wait))
}
