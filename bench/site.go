package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/internal/clock"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/sitespec"
)

// GoSite is a site registered in Go, for the bench to serve under each
// strategy, as it serves a spec.
//
// A strategy rewrites declarations (SSR makes every fetch no-store, ISR(N)
// makes every page revalidate N...): the site registers each layout, page
// and route handler through the Registrar, which returns the declaration
// as the strategy rewrote it, and each render makes the fetches of that
// returned declaration, with its Revalidate and Cache. The bench checks it when it
// first renders each path: a render that does not make one of its declared
// fetches as registered, or makes one it does not declare, fails the run.
//
// A simulation runs on virtual time, so a render's own computing is not
// measured: each registration gives the render's cost, which the bench
// spends on its clock after the render, and Latency is added to each fetch.
// The fetcher should answer at once. Content changes are simulated above
// the fetcher: the bench counts versions of each URL itself, and adds to
// each page and handler body it serves a comment (<!-- -->, whatever the
// content type) naming the versions of the data it shows.
type GoSite struct {
	// Name names the site in reports.
	Name string
	// Latency is how long the origin takes to answer a fetch, on the
	// simulation's clock (or for real, in live mode).
	Latency time.Duration
	// Register registers the site's layouts, pages and handlers with r and
	// returns the fetcher its renders' fetches go to. The bench calls it for
	// each engine it builds, from several goroutines at once (simulations
	// run in parallel), and once more to read the declarations: it must
	// register the same segments in the same order on every call.
	Register func(r *Registrar) fetchcache.Fetcher
}

// Registrar takes a GoSite's layouts, pages and route handlers for one
// engine of a run. It is not safe for concurrent use.
type Registrar struct {
	decl *sitespec.Spec // the declarations read so far; nil when registering

	site    *engine.Site
	applied *sitespec.Spec // the strategy's declarations, one segment per call
	calls   int
	sleep   func(context.Context, time.Duration) error
	origin  *goOrigin
	strict  bool // a marker fetch that reaches the origin fails the render
	err     error

	holeCosts map[string]time.Duration // Hole's, for the next Layout or Page
}

// Hole gives the cost of the render of the hole h, which the next layout
// or page registered declares in its Holes, and returns h:
//
//	r.Layout("/(shop)", engine.Layout{
//		Holes:  []engine.Hole{r.Hole(cart, time.Millisecond)},
//		...
//	}, time.Millisecond)
//
// The layout or page that Layout or Page returns has the hole's
// declaration as the strategy rewrote it: its render must make the
// hole's Fetches there. A hole whose cost is not given costs nothing.
func (r *Registrar) Hole(h engine.Hole, cost time.Duration) engine.Hole {
	if r.holeCosts == nil {
		r.holeCosts = map[string]time.Duration{}
	}
	r.holeCosts[h.Name] = cost
	return h
}

// takeHoleCosts returns the costs Hole gave since the last call.
func (r *Registrar) takeHoleCosts() map[string]time.Duration {
	c := r.holeCosts
	r.holeCosts = nil
	return c
}

// specHoles returns the declarations of hs, with their costs.
func specHoles(hs []engine.Hole, costs map[string]time.Duration) []sitespec.Hole {
	if len(hs) == 0 {
		return nil
	}
	out := make([]sitespec.Hole, len(hs))
	for i, h := range hs {
		out[i] = sitespec.Hole{Name: h.Name, Uses: h.Uses, Cost: costs[h.Name], Fetches: specFetches(h.Fetches)}
	}
	return out
}

// applyHoles returns hs as the strategy rewrote them (a): the fetches
// rewritten and each render wrapped with its marker and trackHole. A hole
// the strategy dropped is kept, since the segment's render places it, but
// renders nothing, reads nothing and fetches nothing.
func (r *Registrar) applyHoles(pattern string, hs []engine.Hole, a []sitespec.Hole, costs map[string]time.Duration) []engine.Hole {
	if len(hs) == 0 {
		return hs
	}
	out := make([]engine.Hole, len(hs))
	for i, h := range hs {
		k := slices.IndexFunc(a, func(ah sitespec.Hole) bool { return ah.Name == h.Name })
		if k < 0 {
			h.Uses, h.Fetches, h.Render = nil, nil, noHole
			out[i] = h
			continue
		}
		h.Uses, h.Fetches = a[k].Uses, rewritten(h.Fetches, a[k].Fetches)
		if h.Render != nil {
			h.Render = trackHole(r.wrapPage(pattern+" hole "+h.Name, h.Fetches, costs[h.Name], h.Render))
		}
		out[i] = h
	}
	return out
}

// Layout registers a layout whose render costs cost, and returns its
// declaration as the strategy being run rewrote it: its render must make
// the returned Fetches.
func (r *Registrar) Layout(pattern string, l engine.Layout, cost time.Duration) engine.Layout {
	if r.decl != nil {
		sl := &sitespec.Layout{
			Revalidate: l.Revalidate, Dynamic: l.Dynamic, Uses: l.Uses, Cost: cost, Fetches: specFetches(l.Fetches),
			Holes: specHoles(l.Holes, r.takeHoleCosts()),
		}
		if l.StaticParamsOnly {
			f := false
			sl.DynamicParams = &f
		}
		r.decl.Segments = append(r.decl.Segments, sitespec.Segment{Pattern: pattern, Layout: sl})
		return l
	}
	costs := r.takeHoleCosts()
	seg, ok := r.next(pattern)
	if !ok || seg.Layout == nil {
		r.mismatch(pattern, "layout")
		return l
	}
	a := seg.Layout
	l.Revalidate, l.Dynamic, l.Uses, l.Fetches = a.Revalidate, a.Dynamic, a.Uses, rewritten(l.Fetches, a.Fetches)
	l.Holes = r.applyHoles(pattern, l.Holes, a.Holes, costs)
	out := l
	if l.Render != nil {
		m := r.marker(pattern, withFolded(l.Fetches, a.Fetches), a.Cost)
		inner := l.Render
		out.Render = render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			var b bytes.Buffer
			if err := inner.Render(ctx, s, &b, child); err != nil {
				return err
			}
			return m.finish(ctx, s, w, &b)
		})
	}
	r.site.Layout(pattern, out)
	return l
}

// Page registers a page whose render costs cost, and returns its
// declaration as the strategy being run rewrote it: its render must make
// the returned Fetches.
func (r *Registrar) Page(pattern string, p engine.Page, cost time.Duration) engine.Page {
	if r.decl != nil {
		sp := &sitespec.Page{
			Revalidate: p.Revalidate, Dynamic: p.Dynamic, Uses: p.Uses, Cost: cost, Fetches: specFetches(p.Fetches),
			StaticParams: p.StaticParams, Holes: specHoles(p.Holes, r.takeHoleCosts()),
		}
		if p.StaticParamsOnly {
			f := false
			sp.DynamicParams = &f
		}
		r.decl.Segments = append(r.decl.Segments, sitespec.Segment{Pattern: pattern, Page: sp})
		return p
	}
	costs := r.takeHoleCosts()
	seg, ok := r.next(pattern)
	if !ok || seg.Page == nil {
		r.mismatch(pattern, "page")
		return p
	}
	a := seg.Page
	p.Revalidate, p.Dynamic, p.Uses, p.Fetches = a.Revalidate, a.Dynamic, a.Uses, rewritten(p.Fetches, a.Fetches)
	p.Holes = r.applyHoles(pattern, p.Holes, a.Holes, costs)
	out := p
	if p.Render != nil {
		out.Render = r.wrapPage(pattern, withFolded(p.Fetches, a.Fetches), a.Cost, p.Render)
	}
	r.site.Page(pattern, out)
	return p
}

// Handler registers a route handler whose render costs cost, and returns
// its declaration as the strategy being run rewrote it: its render must
// make the returned Fetches.
func (r *Registrar) Handler(pattern string, h engine.Handler, cost time.Duration) engine.Handler {
	if r.decl != nil {
		sh := &sitespec.Handler{
			Revalidate: h.Revalidate, Dynamic: h.Dynamic, Uses: h.Uses, Cost: cost, Fetches: specFetches(h.Fetches),
			StaticParams: h.StaticParams, ContentType: h.ContentType,
		}
		if h.StaticParamsOnly {
			f := false
			sh.DynamicParams = &f
		}
		r.decl.Segments = append(r.decl.Segments, sitespec.Segment{Pattern: pattern, Handler: sh})
		return h
	}
	seg, ok := r.next(pattern)
	if !ok || seg.Handler == nil {
		r.mismatch(pattern, "handler")
		return h
	}
	a := seg.Handler
	h.Revalidate, h.Dynamic, h.Uses, h.Fetches = a.Revalidate, a.Dynamic, a.Uses, rewritten(h.Fetches, a.Fetches)
	out := h
	if h.Render != nil {
		out.Render = r.wrapPage(pattern, h.Fetches, cost, h.Render)
	}
	r.site.Handler(pattern, out)
	return h
}

// wrapPage wraps the render of a page or handler with its marker.
func (r *Registrar) wrapPage(pattern string, fetches []engine.Fetch, cost time.Duration, inner render.Page) render.Page {
	m := r.marker(pattern, fetches, cost)
	return render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		var b bytes.Buffer
		if err := inner.Render(ctx, s, &b); err != nil {
			return err
		}
		return m.finish(ctx, s, w, &b)
	})
}

// next returns the strategy's declarations for the registration being made.
func (r *Registrar) next(pattern string) (sitespec.Segment, bool) {
	i := r.calls
	r.calls++
	if i >= len(r.applied.Segments) || r.applied.Segments[i].Pattern != pattern {
		return sitespec.Segment{}, false
	}
	return r.applied.Segments[i], true
}

func (r *Registrar) mismatch(pattern, kind string) {
	if r.err == nil {
		r.err = fmt.Errorf("bench: GoSite.Register: registration %d is %s %q, not what its first call registered there (register the same segments in the same order on every call)", r.calls, kind, pattern)
	}
}

// marker is what a GoSite's render is wrapped with: it shows the versions
// of the data the render fetched, then spends the render's cost.
type marker struct {
	r       *Registrar
	pattern string
	fetches []engine.Fetch
	cost    time.Duration
}

func (r *Registrar) marker(pattern string, fetches []engine.Fetch, cost time.Duration) *marker {
	return &marker{r: r, pattern: pattern, fetches: fetches, cost: cost}
}

// finish writes the render's output b to w, followed by a comment per
// declared fetch with the version of the data the render got. Each
// fetch is made again through the render's scope, which answers it from
// the render's own call of it: in discovery (strict), one that reaches the
// origin was not made by the render as declared.
func (m *marker) finish(ctx context.Context, s *render.Scope, w io.Writer, b *bytes.Buffer) error {
	for _, f := range m.fetches {
		req := &fetchcache.Request{URL: sitespec.FillURL(f.URL, s.Params()), Revalidate: f.Revalidate, Cache: f.Cache}
		before := m.r.origin.Calls()
		resp, err := s.Fetch(ctx, req)
		if err != nil {
			return err
		}
		if m.r.strict && m.r.origin.Calls() != before {
			return m.r.origin.fail(fmt.Errorf("bench: %q: its render did not make its declared fetch %q with revalidate %v and cache %v (make the fetches of the declaration the Registrar returns, {param} placeholders filled in path-escaped)",
				m.pattern, req.URL, f.Revalidate, f.Cache))
		}
		v, _ := strconv.ParseInt(resp.Header.Get(versionHeader), 10, 64)
		j, err := json.Marshal(struct {
			URL     string `json:"url"`
			Version int64  `json:"version"`
		}{req.URL, v})
		if err != nil {
			return err
		}
		b.WriteString("<!-- ")
		b.Write(j)
		b.WriteString(" -->\n")
	}
	if err := clock.SleepVia(ctx, m.r.sleep, m.cost); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

func specFetches(fs []engine.Fetch) []sitespec.Fetch {
	if len(fs) == 0 {
		return nil
	}
	out := make([]sitespec.Fetch, len(fs))
	for i, f := range fs {
		out[i] = sitespec.Fetch{URL: f.URL, Revalidate: f.Revalidate, Cache: f.Cache, Tags: f.Tags}
	}
	return out
}

// withFolded returns fs followed by the fetches of a beyond them: those of
// the holes a strategy folded into the segment (SSR), which its marker
// makes in the segment's render in their place. A folded hole's cost is in
// the declaration's Cost.
func withFolded(fs []engine.Fetch, a []sitespec.Fetch) []engine.Fetch {
	if len(a) <= len(fs) {
		return fs
	}
	out := slices.Clip(fs)
	for _, f := range a[len(fs):] {
		out = append(out, engine.Fetch{URL: f.URL, Revalidate: f.Revalidate, Cache: f.Cache, Tags: f.Tags})
	}
	return out
}

// rewritten returns fs with the Revalidate and Cache of the strategy's
// declarations a, fetch by fetch.
func rewritten(fs []engine.Fetch, a []sitespec.Fetch) []engine.Fetch {
	out := make([]engine.Fetch, len(fs))
	copy(out, fs)
	for i := range out {
		if i < len(a) {
			out[i].Revalidate, out[i].Cache = a[i].Revalidate, a[i].Cache
		}
	}
	return out
}

// declare reads the site's declarations, as a spec: one segment per
// registration, in order.
func (g *GoSite) declare() (*sitespec.Spec, error) {
	if g.Register == nil {
		return nil, fmt.Errorf("bench: GoSite %q: no Register", g.Name)
	}
	r := &Registrar{decl: &sitespec.Spec{Name: g.Name, Origin: sitespec.OriginConfig{Latency: g.Latency}}}
	g.Register(r)
	return r.decl, nil
}

// build registers the site with the declarations of spec (the site's, as
// a strategy rewrote them) and points o at its fetcher.
func (g *GoSite) build(spec *sitespec.Spec, sleep func(context.Context, time.Duration) error, o *goOrigin, strict bool) (*engine.Site, error) {
	r := &Registrar{site: new(engine.Site), applied: spec, sleep: sleep, origin: o, strict: strict}
	f := g.Register(r)
	if r.err == nil && r.calls != len(spec.Segments) {
		r.err = fmt.Errorf("bench: GoSite.Register: %d registrations, not the %d of its first call (register the same segments in the same order on every call)", r.calls, len(spec.Segments))
	}
	if r.err != nil {
		return nil, r.err
	}
	if f == nil {
		return nil, fmt.Errorf("bench: GoSite %q: Register returned no fetcher", g.Name)
	}
	o.next.Store(&f)
	return r.site, nil
}

// versionHeader carries, on the responses of a goOrigin, the version of the
// URL's content it answered.
const versionHeader = "X-Bench-Version"

// origin is where a run's fetches go and its content changes are made.
type origin interface {
	fetchcache.Fetcher
	PublishURL(url string)
	Calls() int64
}

var (
	_ origin = (*sitespec.Origin)(nil)
	_ origin = (*goOrigin)(nil)
)

// goOrigin is a GoSite's fetcher as the bench sees it: it waits the
// latency, counts calls and keeps a version per URL, which it adds to each
// response's header. It is safe for concurrent use.
type goOrigin struct {
	latency time.Duration
	sleep   func(context.Context, time.Duration) error
	next    atomic.Pointer[fetchcache.Fetcher] // the fetcher of the latest build
	calls   atomic.Int64

	mu       sync.Mutex       // protects the fields below
	versions map[string]int64 // URL → PublishURL calls that named it
	failed   error            // the first render found not making its declared fetches
}

// fail records err as the first render found not making its declared
// fetches, and returns it.
func (o *goOrigin) fail(err error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failed == nil {
		o.failed = err
	}
	return err
}

// failure returns the error fail recorded first, or nil.
func (o *goOrigin) failure() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.failed
}

func (o *goOrigin) Fetch(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	o.calls.Add(1)
	if err := clock.SleepVia(ctx, o.sleep, o.latency); err != nil {
		return nil, err
	}
	next := o.next.Load()
	if next == nil {
		return nil, fmt.Errorf("bench: fetch %q: no site built", req.URL)
	}
	resp, err := (*next).Fetch(ctx, req)
	if err != nil || resp == nil {
		return resp, err
	}
	o.mu.Lock()
	v := 1 + o.versions[req.URL]
	o.mu.Unlock()
	out := *resp
	out.Header = resp.Header.Clone()
	if out.Header == nil {
		out.Header = http.Header{}
	}
	out.Header.Set(versionHeader, strconv.FormatInt(v, 10))
	return &out, nil
}

func (o *goOrigin) PublishURL(url string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.versions == nil {
		o.versions = map[string]int64{}
	}
	o.versions[url]++
}

func (o *goOrigin) Calls() int64 { return o.calls.Load() }

// newOrigin returns the origin of a run of w: the spec's synthetic one, or
// the GoSite's fetcher as the bench sees it.
func (w *Workload) newOrigin(latency time.Duration, sleep func(context.Context, time.Duration) error) origin {
	if w.GoSite != nil {
		return &goOrigin{latency: latency, sleep: sleep}
	}
	return &sitespec.Origin{Latency: latency, Sleep: sleep}
}

// build registers w's site with the declarations of spec, a strategy's
// rewrite of w.Site, its renders spending their costs through sleep.
// Fetches go to o, made by newOrigin. strict makes a GoSite's render that
// does not make its declared fetches fail.
func (w *Workload) build(spec *sitespec.Spec, sleep func(context.Context, time.Duration) error, o origin, strict bool) (*engine.Site, error) {
	if w.GoSite != nil {
		return w.GoSite.build(spec, sleep, o.(*goOrigin), strict)
	}
	site := new(engine.Site)
	spec.Register(trackedRegistrar{site}, sitespec.Options{Sleep: sleep})
	return site, nil
}
