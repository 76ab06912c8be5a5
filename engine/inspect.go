package engine

// Inspecting the cache: what an admin page, a script or a test sees of the
// engine's cached paths without serving a request.

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store"
)

// MaxIndexedPaths bounds the paths an engine remembers having rendered, for
// Inspect: beyond it, the path rendered least recently is forgotten (its entry
// stays cached; Lookup still finds it).
const MaxIndexedPaths = 10_000

// State is the state of a path's cached entry, by routecache.Freshness.
type State uint8

const (
	// StateFresh: served as HIT.
	StateFresh State = iota + 1
	// StateStale: served as STALE while one regeneration runs, past its
	// revalidate or after a stale-mode revalidation of one of its tags.
	StateStale
	// StateExpired: past its expire, or a tag of it was revalidated in
	// expire mode; the next request renders the path (MISS).
	StateExpired
	// StateGone: the store holds no entry for the path (evicted, deleted,
	// or not stored yet).
	StateGone
)

var stateNames = [...]string{"", "fresh", "stale", "expired", "gone"}

// String returns "fresh", "stale", "expired" or "gone".
func (s State) String() string {
	if int(s) < len(stateNames) && s != 0 {
		return stateNames[s]
	}
	return "unknown"
}

// MarshalText is String.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// PathInfo is what an engine knows of one path: its cached entry, read from
// the store, and its latest render by this engine.
type PathInfo struct {
	Path  string
	Route string // the route pattern serving it
	State State
	// The entry; zero when State is StateGone.
	Status     int              // the cached response's HTTP status
	Created    time.Time        // when the render that made it started
	Age        time.Duration    // how old it is now
	Revalidate regen.Revalidate // after which it is stale (Forever for a static page)
	Expire     time.Duration    // age at which it is dropped; 0: never
	Tags       []string         // explicit and implicit tags
	Size       int64            // bytes it takes in the heap (store.Item.Size)
	Render     RenderInfo
}

// RenderInfo is the latest render of a path by this engine, and its
// back-off after failed regenerations. It is zero for a path this engine
// has not rendered since New (a page a build wrote, or one another
// instance rendered into a shared store) or has forgotten (MaxIndexedPaths).
type RenderInfo struct {
	At       time.Time     // when the latest successful render started
	Duration time.Duration // how long it took, to its entry being stored
	// Error is the latest failed regeneration's error, made at ErrorAt
	// (it stays after a later success: compare ErrorAt with At).
	Error   string
	ErrorAt time.Time
	// Failures counts the consecutive failed regenerations; until Retry,
	// STALE requests start none (the back-off). Both are zero once a
	// regeneration succeeds.
	Failures int
	Retry    time.Time
}

// Inspect returns what the engine knows of the paths it has rendered and
// stored since New (at most MaxIndexedPaths, the most recently rendered),
// and of the paths its routes prerender (their static params) that the
// store holds, as a regen build or another instance left them: of the
// route pattern route, or of every route when route is "", sorted by path.
// Each entry is read from the store now, without rendering, regenerating,
// or counting a request (a memory store marks it recently used).
func (e *Engine) Inspect(ctx context.Context, route string) []PathInfo {
	recs := e.paths.snapshot(route)
	now := e.now()
	out := make([]PathInfo, 0, len(recs))
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		if ctx.Err() != nil {
			return out
		}
		seen[r.path] = true
		out = append(out, e.pathInfo(ctx, r.path, r.pathRecord, now))
	}
	for _, rt := range e.list {
		if route != "" && rt.pattern != route {
			continue
		}
		for _, path := range rt.prerender {
			if ctx.Err() != nil {
				return out
			}
			if seen[path] {
				continue
			}
			if info := e.pathInfo(ctx, path, pathRecord{route: rt.pattern}, now); info.State != StateGone {
				out = append(out, info)
			}
		}
	}
	slices.SortFunc(out, func(a, b PathInfo) int { return cmp.Compare(a.Path, b.Path) })
	return out
}

// Lookup returns what the engine knows of path, rendered by this engine or
// not: its cached entry (read from the store now, as Inspect does) and its
// latest render. ok is false when the store holds no entry and this engine
// remembers no render of it; a path no route matches is never found.
func (e *Engine) Lookup(ctx context.Context, path string) (info PathInfo, ok bool) {
	rec, indexed := e.paths.get(path)
	if !indexed {
		rt, _ := e.match(path)
		if rt == nil {
			return PathInfo{}, false
		}
		rec.route = rt.pattern
	}
	info = e.pathInfo(ctx, path, rec, e.now())
	return info, indexed || info.State != StateGone
}

// pathInfo reads path's entry and back-off.
func (e *Engine) pathInfo(ctx context.Context, path string, rec pathRecord, now time.Time) PathInfo {
	info := PathInfo{Path: path, Route: rec.route, State: StateGone, Render: RenderInfo{
		At: rec.at, Duration: rec.dur, Error: rec.err, ErrorAt: rec.errAt,
	}}
	info.Render.Failures, info.Render.Retry, _ = e.backoff.State(path)
	ent, ts, ok, err := store.GetTagged(ctx, e.store, path)
	if err != nil || !ok || ent == nil {
		return info
	}
	switch routecache.Freshness(ent, now, ts) {
	case regen.Hit:
		info.State = StateFresh
	case regen.Stale:
		info.State = StateStale
	default:
		info.State = StateExpired
	}
	if info.Route == "" {
		info.Route = routecache.RouteOf(path, ent.Tags)
	}
	info.Status, info.Created, info.Age = ent.Status, ent.Created, max(now.Sub(ent.Created), 0)
	info.Revalidate, info.Expire, info.Size = ent.Revalidate, ent.Expire, ent.Size()
	info.Tags = slices.Clone(ent.Tags)
	return info
}

// indexRender records, for Inspect and Lookup, that a render of path by rt
// started at start was stored (now).
func (e *Engine) indexRender(rt *route, path string, start time.Time) {
	e.paths.rendered(path, rt.pattern, start, e.now())
}

// indexFailure records, for Inspect and Lookup, a failed regeneration of
// path at now.
func (e *Engine) indexFailure(path string, err error, now time.Time) {
	var route string
	if rt, _ := e.match(path); rt != nil {
		route = rt.pattern
	}
	e.paths.failed(path, route, err, now)
}

// pathIndex remembers the paths an engine rendered and stored, with their
// latest render, for at most MaxIndexedPaths paths. It is safe for
// concurrent use.
type pathIndex struct {
	mu  sync.Mutex // protects lru
	lru *simplelru.LRU[string, pathRecord]
}

// pathRecord is the latest render of one path.
type pathRecord struct {
	route string
	at    time.Time // start of the latest stored render
	dur   time.Duration
	err   string // the latest failed regeneration's error
	errAt time.Time
}

func newPathIndex(size int) *pathIndex {
	l, err := simplelru.NewLRU[string, pathRecord](size, nil)
	if err != nil {
		panic(err) // size is a positive constant
	}
	return &pathIndex{lru: l}
}

// rendered records that a render of path by route, started at start, was
// stored at end.
func (x *pathIndex) rendered(path, route string, start, end time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	rec, _ := x.lru.Peek(path)
	rec.route, rec.at, rec.dur = route, start, max(end.Sub(start), 0)
	x.lru.Add(path, rec)
}

// failed records a failed regeneration of path, served by route, at now.
func (x *pathIndex) failed(path, route string, err error, now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	rec, _ := x.lru.Peek(path)
	rec.route, rec.err, rec.errAt = route, err.Error(), now
	x.lru.Add(path, rec)
}

func (x *pathIndex) get(path string) (pathRecord, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.lru.Peek(path)
}

type indexedPath struct {
	path string
	pathRecord
}

// snapshot copies the records of route's paths, or of every path when
// route is "".
func (x *pathIndex) snapshot(route string) []indexedPath {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]indexedPath, 0, x.lru.Len())
	for _, p := range x.lru.Keys() {
		rec, _ := x.lru.Peek(p)
		if route == "" || rec.route == route {
			out = append(out, indexedPath{p, rec})
		}
	}
	return out
}
