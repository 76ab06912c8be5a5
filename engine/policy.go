package engine

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
)

// Kind is how a route is served.
type Kind uint8

const (
	// Static: cached until revalidated on demand (○ in the route table).
	Static Kind = iota + 1
	// ISR: cached, regenerated in the background after its revalidate.
	ISR
	// Dynamic: rendered on every request (ƒ).
	Dynamic
)

var kindNames = [...]string{"", "static", "isr", "dynamic"}

// String returns "static", "isr" or "dynamic".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Policy is how a route is cached, and why (rule 8 of the design).
type Policy struct {
	Route string
	Kind  Kind
	// Revalidate is the effective interval: Forever for Static, Never for
	// Dynamic, a number of seconds for ISR.
	Revalidate regen.Revalidate
	// Expire is the age at which a stale entry is dropped: the lowest
	// expire of the cache profiles the route uses, else Options.Expire.
	Expire time.Duration
	// Stale is the lowest stale of the cache profiles the route uses: how
	// long a client may keep the page without asking (Next.js sends it to
	// its client router, not in Cache-Control); 0 when none sets it.
	Stale time.Duration
	// Mode is the effective dynamic mode (Auto when none is declared).
	Mode regen.Dynamic
	// DynamicParams is false when only the static params are served: the
	// page or a layout above it declares StaticParamsOnly (Next.js's
	// `dynamicParams: false`; false on any segment wins).
	DynamicParams bool
	// Prerender lists the paths built ahead of time, sorted; empty for
	// dynamic routes.
	Prerender []string
	// Reasons say which segment or fetch decided the kind and interval.
	Reasons []string
	// Holes name the route's holes, in document order of their segments,
	// when the route is partial: a Static or ISR shell, cached, with holes
	// rendered per request (Hole). Empty for a dynamic route, whose holes
	// render with it for each request.
	Holes []string
}

// Partial reports whether the route is partial: a cached shell with holes.
func (p *Policy) Partial() bool { return len(p.Holes) > 0 }

// String joins the reasons: "revalidate 60 from layout /shop".
func (p *Policy) String() string { return strings.Join(p.Reasons, "; ") }

// route is one page with its layouts, compiled.
type route struct {
	pattern          string
	parts            []part // as registered, groups included
	url              []part // what the URL sees
	params           []part // the dynamic parts
	segs             []*segment
	page             Page
	staticParamsOnly bool
	staticPaths      map[string]render.Params
	prerender        []string
	renderSegs       []render.Segment
	holes            []*hole          // in segment order: rendered per request
	tags             []string         // the implicit tags every path of the route carries
	base             regen.Revalidate // the declared interval, before any render

	mu  sync.Mutex // protects obs
	obs observed

	policy       atomic.Pointer[Policy]
	fetchDefault atomic.Int64 // regen.Revalidate for fetches that declare none
}

// observed is what renders of a route revealed. Fetches are kept once per
// segment and caching behavior (not per URL), so the set stays small
// however many paths a route renders.
type observed struct {
	reads   []render.Read
	fetches []render.Fetch
}

// observe merges what a render revealed, reporting whether it is new.
func (o *observed) observe(rec *render.Record) bool {
	changed := false
	for _, rd := range rec.Reads {
		found := false
		for _, x := range o.reads {
			if x == rd {
				found = true
				break
			}
		}
		if !found {
			o.reads = append(o.reads, rd)
			changed = true
		}
	}
	for _, f := range rec.Fetches {
		found := false
		for _, x := range o.fetches {
			if x.Segment == f.Segment && x.Declared == f.Declared && x.Expire == f.Expire && x.Cache == f.Cache && x.Uncached == f.Uncached && x.Revalidate == f.Revalidate {
				found = true
				break
			}
		}
		if !found {
			o.fetches = append(o.fetches, render.Fetch{Segment: f.Segment, URL: f.URL, Declared: f.Declared,
				Expire: f.Expire, Cache: f.Cache, Uncached: f.Uncached, Revalidate: f.Revalidate})
			changed = true
		}
	}
	return changed
}

// policyInput is what derive needs besides the route.
type policyInput struct {
	expire          time.Duration
	uncachedDefault bool                       // fetches without revalidate or cache mode are not cached
	lives           map[string]regen.CacheLife // Options.CacheLife
}

// derive computes a route's policy from its declarations and what its
// renders revealed (rules 1-8). It also returns the violations of rule 5
// that the declarations show, and the default revalidate of fetches that
// declare none.
func derive(r *route, in policyInput, obs *observed) (*Policy, regen.Revalidate, []error) {
	p := &Policy{Route: r.pattern, Expire: in.expire, DynamicParams: !r.staticParamsOnly}
	mode, modeSeg := routeMode(r)
	p.Mode = mode
	c := fetchRules{mode: mode, fetchDefault: fetchDefault(r, mode, in), next15: in.uncachedDefault}
	dyn, errs := dynamicReasons(r, obs, modeSeg, c)
	if len(dyn) > 0 {
		p.Kind, p.Revalidate, p.Reasons = Dynamic, regen.Never, dyn
		return p, c.fetchDefault, errs
	}
	p.Prerender = r.prerender
	expire, stale, why := routeLife(r, obs, c)
	p.Stale = stale
	if expire > 0 {
		p.Expire = expire
	}
	errs = append(errs, p.setRevalidate(r, obs, c, p.Expire)...)
	if expire > 0 && p.Kind == ISR {
		p.Reasons = append(p.Reasons, fmt.Sprintf("expire %d from %s", int64(expire/time.Second), why))
	}
	if mode == regen.ForceStatic {
		p.Reasons = append(p.Reasons, "force-static from "+modeSeg.name()+" (dynamic APIs return empty values)")
	}
	if len(r.holes) > 0 {
		for _, h := range r.holes {
			p.Holes = append(p.Holes, h.Name)
		}
		p.Reasons = append(p.Reasons, r.holesReason())
	}
	return p, c.fetchDefault, errs
}

// routeMode is rule 3: modes are read root to page, the deepest declared
// wins, but force-dynamic cannot be undone deeper. It returns the mode and
// the segment that declares it (nil for auto by default).
func routeMode(r *route) (regen.Dynamic, *segment) {
	mode, modeSeg := regen.Auto, (*segment)(nil)
	for _, s := range r.segs {
		if s.dynamic == regen.DynamicNotDeclared || (modeSeg != nil && modeSeg.dynamic == regen.ForceDynamic) {
			continue
		}
		mode, modeSeg = s.dynamic, s
	}
	return mode, modeSeg
}

// fetchDefault is the revalidate of the route's fetches that declare none:
// the lowest its segments declare; Never (uncached) in force-dynamic routes
// and, with Options.UncachedFetchDefault, outside force-static ones, which
// cache fetches by default (rule 4).
func fetchDefault(r *route, mode regen.Dynamic, in policyInput) regen.Revalidate {
	if mode == regen.ForceDynamic || (in.uncachedDefault && mode != regen.ForceStatic) {
		return regen.Never
	}
	def := regen.NotDeclared
	for _, s := range r.segs {
		def = def.Min(s.revalidate)
	}
	return def
}

// fetchRules classifies a route's fetches.
type fetchRules struct {
	mode         regen.Dynamic
	fetchDefault regen.Revalidate
	next15       bool // Options.UncachedFetchDefault: Next.js 15's defaults
}

// noStore: the fetch declares no-store or revalidate 0, which makes an auto
// route dynamic (rule 2).
func noStore(f Fetch) bool { return f.Cache == regen.NoStore || f.Revalidate == regen.Never }

// uncached: no-store, revalidate 0, or no declaration where fetches default
// to uncached. Like Next.js 15's "auto no cache", a fetch uncached by
// default is made at each render of a static or ISR page without making it
// dynamic.
func (c fetchRules) uncached(f Fetch) bool {
	return noStore(f) ||
		(f.Cache == regen.CacheDefault && !f.Revalidate.Declared() && c.fetchDefault == regen.Never && c.mode != regen.ForceStatic)
}

// dynamicReasons is rule 2: why the route is dynamic, if it is, in the
// order declarations then renders; in error mode, the declarations that
// break it instead.
func dynamicReasons(r *route, obs *observed, modeSeg *segment, c fetchRules) (dyn []string, errs []error) {
	add := func(s string) {
		if !slices.Contains(dyn, s) {
			dyn = append(dyn, s)
		}
	}
	if c.mode == regen.ForceDynamic {
		add("dynamic because " + modeSeg.name() + " declares dynamic force-dynamic")
	}
	for _, s := range r.segs {
		if s.revalidate == regen.Never {
			add("dynamic because " + s.name() + " declares revalidate 0")
		}
	}
	// Route handlers that declare neither revalidate nor dynamic are not
	// cached in Next.js 15 and later (GET handlers lost their static
	// default); with Next.js 15's defaults, regen follows it.
	if h := r.segs[len(r.segs)-1]; c.next15 && h.handler && !h.revalidate.Declared() && h.dynamic == regen.DynamicNotDeclared {
		add("dynamic because " + h.name() + " declares neither revalidate nor dynamic (a route handler's default with Next.js 15's defaults)")
	}
	switch c.mode {
	case regen.Auto:
		for _, s := range r.segs {
			for _, a := range s.uses {
				add("dynamic because " + s.name() + " reads " + a.String())
			}
		}
		for _, rd := range obs.reads {
			add("dynamic because " + rd.Segment + " reads " + rd.API.String())
		}
		for _, s := range r.segs {
			for _, f := range s.fetches {
				if noStore(f) {
					add("dynamic because " + s.name() + " fetches " + f.URL + " " + uncachedWhy(f))
				}
			}
		}
		for _, f := range obs.fetches {
			if decl := (Fetch{Revalidate: f.Declared, Cache: f.Cache}); f.Uncached && noStore(decl) {
				add("dynamic because " + f.Segment + " fetches " + f.URL + " " + uncachedWhy(decl))
			}
		}
	case regen.DynamicError:
		for _, s := range r.segs {
			for _, a := range s.uses {
				errs = append(errs, modeViolation(r, s, a.String()))
			}
			for _, f := range s.fetches {
				if c.uncached(f) {
					errs = append(errs, modeViolation(r, s, "uncached fetch "+f.URL))
				}
			}
		}
	}
	return dyn, errs
}

// setRevalidate is rule 1: the lowest declared revalidate wins; false and
// "not declared" count as infinity. Segments first, root first, then
// fetches declared, then fetches renders made.
func (p *Policy) setRevalidate(r *route, obs *observed, c fetchRules, expire time.Duration) []error {
	best, why := regen.NotDeclared, ""
	consider := func(v regen.Revalidate, from string) {
		if v.Declared() && v != regen.Never && (!best.Declared() || v.Less(best)) {
			best, why = v, from
		}
	}
	for _, s := range r.segs {
		consider(s.revalidate, s.name())
	}
	for _, s := range r.segs {
		for _, f := range s.fetches {
			if !c.uncached(f) {
				consider(f.Revalidate, "fetch "+f.URL+" in "+s.name())
			}
		}
	}
	for _, f := range obs.fetches {
		if !f.Uncached {
			consider(f.Declared, "fetch "+f.URL+" in "+f.Segment)
		}
	}
	switch {
	case best.Declared() && best != regen.Forever:
		p.Kind, p.Revalidate = ISR, best
		p.Reasons = append(p.Reasons, fmt.Sprintf("revalidate %d from %s", best.Raw(), why))
		if d, _ := best.Interval(); d >= expire {
			return []error{&ConfigError{Route: r.pattern, Field: "revalidate", Rule: ErrExpire,
				Msg: fmt.Sprintf("revalidate %d from %s is not below expire %d (lower revalidate or raise Options.Expire)", best.Raw(), why, int64(expire/time.Second))}}
		}
	case best == regen.Forever:
		p.Kind, p.Revalidate = Static, regen.Forever
		p.Reasons = append(p.Reasons, "revalidate false from "+why)
	default:
		p.Kind, p.Revalidate = Static, regen.Forever
		p.Reasons = append(p.Reasons, "static: no revalidate declared (cached until revalidated on demand)")
	}
	return nil
}

func uncachedWhy(f Fetch) string {
	if f.Cache == regen.NoStore {
		return "with no-store"
	}
	return "with revalidate 0"
}

// modeViolation is the error of rule 5 for a declared read or fetch.
func modeViolation(r *route, s *segment, api string) error {
	return &ConfigError{Route: r.pattern, Segment: s.name(), Field: "dynamic", Rule: ErrDynamicError,
		Msg: fmt.Sprintf(`dynamic = "error" but the render reads %s (remove the read, or declare force-static or force-dynamic)`, api)}
}

// refine merges what a render revealed and re-derives the policy when
// something is new (rule 7). It returns the policy in force.
func (r *route) refine(rec *render.Record, in policyInput) *Policy {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.obs.observe(rec) {
		return r.policy.Load()
	}
	p, fd, _ := derive(r, in, &r.obs)
	r.policy.Store(p)
	r.fetchDefault.Store(fd.Raw())
	return p
}
