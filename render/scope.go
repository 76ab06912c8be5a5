package render

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/internal/flight"
)

// Scope is what one segment sees while rendering: the path's params, the
// dynamic APIs and the Data Cache. It is safe for concurrent use by the
// goroutines a segment starts, and is valid only during the render.
type Scope struct {
	rec  *recorder // shared by every scope of the render
	seg  Segment
	name string // seg.String()
}

// Route returns the route pattern.
func (s *Scope) Route() string { return s.rec.job.Route }

// Path returns the concrete path being rendered.
func (s *Scope) Path() string { return s.rec.job.Path }

// Params returns the path's params. Not a dynamic API: reading them is free.
// The map is never nil and is shared by the render's segments: do not
// modify it.
func (s *Scope) Params() Params { return s.rec.params }

// Param returns one param.
func (s *Scope) Param(name string) string { return s.rec.params[name] }

// Segment returns the segment being rendered.
func (s *Scope) Segment() Segment { return s.seg }

// Cookies reads the request's cookies: a dynamic API. In force-static mode it
// returns nil; in error mode it fails the render.
func (s *Scope) Cookies() []*http.Cookie {
	r := s.dynamic(regen.Cookies)
	if r == nil {
		return nil
	}
	return r.Cookies()
}

// Cookie reads one cookie: a dynamic API, as Cookies.
func (s *Scope) Cookie(name string) (string, bool) {
	r := s.dynamic(regen.Cookies)
	if r == nil {
		return "", false
	}
	c, err := r.Cookie(name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// Headers reads the request's headers: a dynamic API. The result is a copy,
// never nil; in force-static and error modes, and when prerendering, it is
// empty.
func (s *Scope) Headers() http.Header {
	r := s.dynamic(regen.Headers)
	if r == nil || r.Header == nil {
		return http.Header{}
	}
	return r.Header.Clone()
}

// Header reads one request header: a dynamic API.
func (s *Scope) Header(name string) string {
	r := s.dynamic(regen.Headers)
	if r == nil {
		return ""
	}
	return r.Header.Get(name)
}

// SearchParams reads the request's query: a dynamic API. The result is a
// copy, never nil; in force-static and error modes, and when prerendering, it
// is empty.
func (s *Scope) SearchParams() url.Values {
	r := s.dynamic(regen.SearchParams)
	if r == nil || r.URL == nil {
		return url.Values{}
	}
	return r.URL.Query()
}

// dynamic applies the route's mode to a read of api and returns the request
// to read from, or nil when the read must see empty values.
func (s *Scope) dynamic(api regen.API) *http.Request {
	r := s.rec
	switch r.job.Mode {
	case regen.ForceStatic:
		return nil
	case regen.DynamicError:
		r.violate(&ModeError{Route: r.job.Route, Segment: s.name, API: api.String()})
		return nil
	}
	if !r.read(Read{Segment: s.name, API: api}) {
		return nil // the render has ended
	}
	return r.job.Request
}

// Fetch makes a fetch through the Data Cache. Identical fetches within one
// render share one call, even when uncached (request memoization): same
// fetchcache.Key, same Cache and same Revalidate. Callers that share a call
// share its Response too: do not modify it.
//
// A failed fetch returns its error to the segment, which decides: a segment
// that returns it fails the render, one that renders around it does not. In
// error mode, an uncached fetch returns the render's *ModeError and fails the
// render; a fetch that is uncached by its declaration (no-store, revalidate
// 0, or neither declared under a route that does not cache fetches) is not
// made at all. In force-static mode, a fetch that declares neither
// Revalidate nor Cache, in a route whose Call.DefaultRevalidate is Never, is
// made with ForceCache and cached until revalidated on demand.
func (s *Scope) Fetch(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	r := s.rec
	if req == nil {
		return nil, errors.New("render: Fetch of a nil request")
	}
	if r.job.Data == nil {
		return nil, fmt.Errorf("render: fetch %s: no Data Cache (Job.Data is nil)", req.URL)
	}
	key := fetchcache.Key(req)
	call := r.job.Call
	cached := req
	declared, expire, _ := fetchcache.Declared(req.Revalidate, req.CacheLife) // an error is the Data Cache's to return
	if r.job.Mode == regen.ForceStatic && req.Cache == regen.CacheDefault && !declared.Declared() && call.DefaultRevalidate == regen.Never {
		c := *req
		c.Cache = regen.ForceCache
		cached = &c
		call.DefaultRevalidate = regen.Forever
	}
	f := Fetch{
		Segment:    s.name,
		URL:        req.URL,
		Key:        key,
		Cache:      req.Cache,
		Declared:   declared,
		Expire:     expire,
		Tags:       slices.Clone(req.Tags),
		Revalidate: effective(cached.Cache, declared, call.DefaultRevalidate),
	}
	memo := key + "\x00" + req.Cache.String() + "\x00" + strconv.FormatInt(req.Revalidate.Raw(), 10) + "\x00" + req.CacheLife.String()
	resp, _, err := s.share(ctx, memo, f, func() (*fetchcache.Response, []byte, fetchcache.Result, error) {
		call.Key = key
		resp, res, err := r.job.Data.Fetch(ctx, cached, call)
		return resp, nil, res, err
	})
	return resp, err
}

// Memoize caches fn through the Data Cache under keyParts, like Fetch: calls
// with the same keyParts and Revalidate share one call within the render,
// and share the returned bytes (do not modify them). It is recorded as a
// Fetch with URL "memoize:" and the parts joined by ",". The modes apply as
// to Fetch: in force-static mode, an undeclared Revalidate under a Never
// default caches until revalidated on demand.
func (s *Scope) Memoize(ctx context.Context, keyParts []string, opts fetchcache.MemoOptions, fn func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	r := s.rec
	url := "memoize:" + strings.Join(keyParts, ",")
	if r.job.Data == nil {
		return nil, fmt.Errorf("render: fetch %s: no Data Cache (Job.Data is nil)", url)
	}
	call := r.job.Call
	declared, expire, _ := fetchcache.Declared(opts.Revalidate, opts.CacheLife) // an error is the Data Cache's to return
	if r.job.Mode == regen.ForceStatic && !declared.Declared() && call.DefaultRevalidate == regen.Never {
		call.DefaultRevalidate = regen.Forever
	}
	f := Fetch{
		Segment:    s.name,
		URL:        url,
		Declared:   declared,
		Expire:     expire,
		Tags:       slices.Clone(opts.Tags),
		Revalidate: effective(regen.CacheDefault, declared, call.DefaultRevalidate),
	}
	var memo strings.Builder
	memo.WriteString("memoize")
	for _, p := range keyParts {
		fmt.Fprintf(&memo, "\x00%d:%s", len(p), p) // length-prefixed: parts may hold any byte
	}
	fmt.Fprintf(&memo, "\x00%d\x00%s", opts.Revalidate.Raw(), opts.CacheLife)
	_, body, err := s.share(ctx, memo.String(), f, func() (*fetchcache.Response, []byte, fetchcache.Result, error) {
		body, res, err := r.job.Data.Memoize(ctx, keyParts, opts, call, fn)
		return nil, body, res, err
	})
	return body, err
}

// effective returns the revalidate the Data Cache applies to a fetch
// (fetchcache.EffectiveRevalidate). The record uses it when the Data Cache
// does not say (a failed fetch), and error mode uses it to refuse an
// uncached fetch before it is made. An invalid declaration is left to the
// Data Cache, which refuses it.
func effective(cache regen.CacheMode, declared, def regen.Revalidate) regen.Revalidate {
	rev, _ := fetchcache.EffectiveRevalidate(declared, cache, def)
	return rev
}

// errEnded is returned by a fetch made after its render has returned.
var errEnded = errors.New("render: scope used after its render ended")

// share makes the call identified by memo once per render: the first caller
// (the leader) records f, runs fn and fills in f; the others wait for its
// result. If the leader gives up because its own ctx ended, its call is
// forgotten and the waiters start over, so one caller's deadline is never
// another's error.
func (s *Scope) share(ctx context.Context, memo string, f Fetch, fn func() (*fetchcache.Response, []byte, fetchcache.Result, error)) (*fetchcache.Response, []byte, error) {
	r := s.rec
	for {
		r.mu.Lock()
		if r.ended {
			r.mu.Unlock()
			return nil, nil, errEnded
		}
		c, leader := r.calls.Start(memo)
		var rec *Fetch
		if leader {
			rec = new(Fetch)
			*rec = f
			r.fetches = append(r.fetches, rec)
		}
		r.mu.Unlock()
		if leader {
			v, err := r.calls.Run(memo, c, func() (shared, error) { return s.lead(ctx, memo, c, rec, fn) })
			return v.resp, v.body, err
		}
		if v, err := c.Wait(ctx); !v.retry { // a caller whose ctx ended gets the zero value
			return v.resp, v.body, err
		}
	}
}

// lead runs the call c for memo as its leader and records in f what it
// revealed.
func (s *Scope) lead(ctx context.Context, memo string, c *flight.Call[shared], f *Fetch, fn func() (*fetchcache.Response, []byte, fetchcache.Result, error)) (shared, error) {
	r := s.rec
	// In error mode, a fetch uncached by its declaration is refused unmade.
	if r.job.Mode == regen.DynamicError && f.Revalidate == regen.Never {
		r.mu.Lock()
		f.Uncached = true
		r.mu.Unlock()
		return shared{}, r.violate(&ModeError{Route: r.job.Route, Segment: s.name, API: "uncached fetch " + f.URL})
	}

	resp, body, res, err := fn()

	r.mu.Lock()
	if res.Key != "" {
		f.Key = res.Key
	}
	f.Status = res.Status
	if res.Revalidate.Declared() {
		f.Revalidate = res.Revalidate
	}
	f.Uncached = f.Revalidate == regen.Never
	retry := false
	if err != nil && ctx.Err() != nil {
		// The leader gave up: forget the call and its record, so that the
		// waiters, whose own ctx may be alive, start over.
		r.calls.Forget(memo, c)
		if i := slices.Index(r.fetches, f); i >= 0 {
			r.fetches = slices.Delete(r.fetches, i, i+1)
		}
		retry = true
	}
	r.mu.Unlock()

	if err == nil && f.Uncached && r.job.Mode == regen.DynamicError {
		return shared{}, r.violate(&ModeError{Route: r.job.Route, Segment: s.name, API: "uncached fetch " + f.URL})
	}
	return shared{resp: resp, body: body, retry: retry}, err
}

// shared is the result of one fetch or Memoize call of a render, shared by
// identical calls.
type shared struct {
	resp *fetchcache.Response
	body []byte
	// retry means the leader gave up on its own ctx: waiters start over.
	retry bool
}

// recorder is shared by the scopes of one render: it records what the render
// reveals and holds the render's memoized calls.
type recorder struct {
	job    *Job
	params Params // never nil

	mu      sync.Mutex           // protects the fields below
	reads   []Read               // in the order made, one per segment and API
	seen    map[Read]bool        // the reads in reads
	fetches []*Fetch             // in the order made, one per call
	calls   flight.Group[shared] // the render's fetch and Memoize calls, kept for the render: by memoization key
	first   *ModeError           // the first violation of error mode
	ended   bool                 // Render has returned or is returning

	status    int         // set by SetStatus; 0 when not set
	statusBy  string      // the segment that set status
	header    http.Header // set by SetHeader and AddHeader; nil when none
	badHeader error       // the first header a render may not set

	holeNonce string // the prefix of the render's hole markers; "" until Hole is called
}

func newRecorder(job *Job) *recorder {
	params := job.Params
	if params == nil {
		params = Params{}
	}
	return &recorder{
		job:    job,
		params: params,
		seen:   make(map[Read]bool),
		calls:  flight.Group[shared]{Keep: true},
	}
}

// read records rd once, and reports false if the render has ended.
func (r *recorder) read(rd Read) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return false
	}
	if !r.seen[rd] {
		r.seen[rd] = true
		r.reads = append(r.reads, rd)
	}
	return true
}

// violate records e if it is the render's first violation, and returns e.
func (r *recorder) violate(e *ModeError) *ModeError {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == nil && !r.ended {
		r.first = e
	}
	return e
}

// violation returns the render's first violation, or nil.
func (r *recorder) violation() *ModeError {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

// end makes every later read, fetch and violation a no-op.
func (r *recorder) end() {
	r.mu.Lock()
	r.ended = true
	r.mu.Unlock()
}

// record returns a copy of what the render revealed.
func (r *recorder) record() Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := Record{Reads: slices.Clone(r.reads)}
	for _, f := range r.fetches {
		rec.Fetches = append(rec.Fetches, *f)
	}
	return rec
}
