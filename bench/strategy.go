package bench

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/sitespec"
)

// Kind is a rendering strategy.
type Kind uint8

const (
	// SSG prerenders every path at build and never regenerates; each content
	// change triggers a full rebuild.
	SSG Kind = iota + 1
	// SSR renders every request and sends every fetch to the origin.
	SSR
	// SSRData renders every request; fetches go through the Data Cache, each
	// by its own revalidate.
	SSRData
	// ISR caches pages and regenerates them in the background every
	// Strategy.Interval, with on-demand revalidation if Strategy.OnDemand.
	ISR
	// Declared serves the site as its spec declares it.
	Declared
	// PPR is partial prerendering: the site's holes render per request
	// while the rest of each page, its shell, is cached as ISR caches
	// pages every Strategy.Interval, or as the site declares when Interval
	// is zero.
	PPR
)

// Strategy is one way of serving the workload's site.
type Strategy struct {
	Kind Kind
	// Interval is ISR's revalidate interval, a whole number of seconds,
	// and PPR's shell's (zero: as declared).
	Interval time.Duration
	// OnDemand adds a webhook that calls RevalidateTag on every content
	// change (ISR, PPR and Declared).
	OnDemand bool
	// Mode is how the webhook revalidates: regen.RevalidateStale (the next
	// request is served the old page once while it regenerates) or
	// regen.RevalidateExpire (the next request waits for a fresh render).
	Mode regen.RevalidateMode
}

// ParseStrategy reads a strategy as flags and workloads write it:
//
//	ssg
//	ssr
//	ssr+data                     SSR with the Data Cache
//	isr:60s                      ISR, every 60 seconds (a Go duration or seconds)
//	isr:60s+on-demand            ISR plus a webhook (also "+od")
//	isr:60s+on-demand:expire     ... whose revalidations expire pages
//	declared                     the site as its spec declares it
//	declared+on-demand           ... plus the webhook
//	ppr                          partial prerendering: the site's holes per request, its shell as declared
//	ppr:60s                      ... the shell as ISR(60s) caches pages (also +on-demand)
func ParseStrategy(s string) (Strategy, error) {
	in := s
	s = strings.ToLower(strings.TrimSpace(s))
	var st Strategy
	base, od, hasOD := strings.Cut(s, "+")
	if base == "ssr" && hasOD && (od == "data" || od == "datacache" || od == "data-cache") {
		return Strategy{Kind: SSRData}, nil
	}
	if hasOD {
		mode, m, hasMode := strings.Cut(od, ":")
		if mode != "on-demand" && mode != "od" {
			return st, fmt.Errorf("strategy %q: unknown %q (want +on-demand or +on-demand:expire)", in, "+"+od)
		}
		st.OnDemand = true
		if hasMode {
			rm, err := regen.ParseRevalidateMode(m)
			if err != nil {
				return st, fmt.Errorf("strategy %q: %w", in, err)
			}
			st.Mode = rm
		}
	}
	name, arg, hasArg := strings.Cut(base, ":")
	switch name {
	case "ssg":
		st.Kind = SSG
	case "ssr":
		st.Kind = SSR
	case "isr", "ppr":
		st.Kind = ISR
		if name == "ppr" {
			st.Kind = PPR
			if !hasArg {
				break
			}
		}
		if !hasArg {
			return st, fmt.Errorf("strategy %q: ISR needs an interval (isr:60s)", in)
		}
		d, err := parseDuration(arg)
		if err != nil {
			return st, fmt.Errorf("strategy %q: %w", in, err)
		}
		if d < time.Second || d%time.Second != 0 {
			return st, fmt.Errorf("strategy %q: interval %v (must be whole seconds, at least 1s)", in, d)
		}
		st.Interval = d
	case "declared", "spec":
		st.Kind = Declared
	default:
		return st, fmt.Errorf("strategy %q: unknown (want ssg, ssr, ssr+data, isr:60s, isr:60s+on-demand, ppr, ppr:60s or declared)", in)
	}
	if name != "isr" && name != "ppr" && hasArg {
		return st, fmt.Errorf("strategy %q: %s takes no interval", in, name)
	}
	if st.OnDemand && st.Kind != ISR && st.Kind != PPR && st.Kind != Declared {
		return st, fmt.Errorf("strategy %q: on-demand revalidation applies to isr, ppr and declared only", in)
	}
	return st, nil
}

// Name is how reports name the strategy: "SSG", "SSR", "SSR+DataCache",
// "ISR(60s)", "ISR(60s)+on-demand", "ISR(60s)+on-demand(expire)",
// "declared", "PPR", "PPR(60s)".
func (s Strategy) Name() string {
	var n string
	switch s.Kind {
	case SSG:
		n = "SSG"
	case SSR:
		n = "SSR"
	case SSRData:
		n = "SSR+DataCache"
	case ISR:
		n = "ISR(" + shortDuration(s.Interval) + ")"
	case Declared:
		n = "declared"
	case PPR:
		n = "PPR"
		if s.Interval > 0 {
			n += "(" + shortDuration(s.Interval) + ")"
		}
	default:
		n = fmt.Sprintf("strategy(%d)", s.Kind)
	}
	if s.OnDemand {
		n += "+on-demand"
		if s.Mode == regen.RevalidateExpire {
			n += "(expire)"
		}
	}
	return n
}

func (s Strategy) String() string { return s.Name() }

// shortDuration writes 60s, 5m, 1h, 1h30m: no zero units.
func shortDuration(d time.Duration) string {
	str := d.String()
	if strings.HasSuffix(str, "m0s") {
		str = str[:len(str)-2]
	}
	if strings.HasSuffix(str, "h0m") {
		str = str[:len(str)-2]
	}
	return str
}

// apply returns a copy of spec rewritten for the strategy. The rules, also
// in the package documentation:
//
//   - SSG: every page is force-static with revalidate false; layouts and
//     fetches declare nothing, so all data is cached until the next build.
//   - ISR(N): every page is force-static with revalidate N; layouts and
//     fetches declare nothing, so fetches are cached for N too.
//   - SSR: every page is force-dynamic; every fetch is no-store.
//   - SSR+DataCache: every page reads a request header (dynamic in auto
//     mode, as a layout reading cookies makes it); declared modes are
//     dropped; revalidates stay as declared, so each fetch is cached by its
//     own revalidate, or its route's (Next.js 14's default).
//   - PPR(N): as ISR(N), but the holes are kept, their fetches as
//     declared (a hole's uncached fetch is made per request, its cached
//     ones go through the Data Cache). PPR: unchanged, as Declared.
//   - Declared: unchanged.
//
// Route handlers are rewritten as pages are.
//
// Holes (partial prerendering) are dropped under SSG and ISR: those serve
// the site without its personalisation. Under SSR and SSR+DataCache they
// are folded into the segment that declares them, as a site without
// partial prerendering is written (Next.js 15's): its Uses gain the
// hole's, its Cost the hole's cost, its Fetches the hole's fetches after
// its own, rewritten with them; every route is dynamic, and the segment
// reads, fetches and spends what the hole did.
//
// Under SSG, ISR and PPR(N), segments that read a dynamic API (cookies,
// headers, search params) outside a hole, and pages below such a layout,
// keep their declarations: per-user pages are rendered per request whatever
// the strategy. PPR does not turn such a read into a hole: the bench cannot
// tell which part of a segment's output depends on it. Declare the hole in
// the spec (holes:) to measure it.
func (s Strategy) apply(spec *sitespec.Spec) *sitespec.Spec {
	out := cloneSpec(spec)
	if s.Kind == Declared || s.Kind == PPR && s.Interval == 0 {
		return out
	}
	switch s.Kind {
	case SSG, ISR:
		dropHoles(out)
	case SSR, SSRData:
		foldHoles(out)
	}
	perUser := perUserSegments(out)
	cached := s.Kind == SSG || s.Kind == ISR || s.Kind == PPR
	for i := range out.Segments {
		seg := &out.Segments[i]
		if l := seg.Layout; l != nil && !(perUser[seg.Pattern] && cached) {
			switch s.Kind {
			case SSG, ISR, PPR, SSR:
				l.Revalidate, l.CacheLife, l.Dynamic = regen.NotDeclared, "", regen.DynamicNotDeclared
			case SSRData:
				l.Dynamic = regen.DynamicNotDeclared
				if l.Revalidate == regen.Never {
					l.Revalidate = regen.NotDeclared
				}
			}
			rewriteFetches(s.Kind, l.Fetches)
		}
		if p := seg.Page; p != nil && !(perUser["page:"+seg.Pattern] && cached) {
			s.rewriteRoute(&p.Revalidate, &p.CacheLife, &p.Dynamic, &p.Uses, p.Fetches)
		}
		// No layout wraps a handler: it is per-user when it reads an API.
		if h := seg.Handler; h != nil && !(len(h.Uses) > 0 && cached) {
			s.rewriteRoute(&h.Revalidate, &h.CacheLife, &h.Dynamic, &h.Uses, h.Fetches)
		}
	}
	return out
}

// dropHoles removes the holes of spec's layouts and pages.
func dropHoles(spec *sitespec.Spec) {
	for i := range spec.Segments {
		if l := spec.Segments[i].Layout; l != nil {
			l.Holes = nil
		}
		if p := spec.Segments[i].Page; p != nil {
			p.Holes = nil
		}
	}
}

// rewriteRoute rewrites the declarations of a page or route handler.
// A cache profile (cacheLife) is dropped where the strategy sets the
// revalidate, which it stands for.
func (s Strategy) rewriteRoute(rev *regen.Revalidate, life *string, dyn *regen.Dynamic, uses *[]regen.API, fetches []sitespec.Fetch) {
	switch s.Kind {
	case SSG:
		*rev, *life, *dyn = regen.Forever, "", regen.ForceStatic
	case ISR, PPR:
		*rev, *life, *dyn = regen.Seconds(int64(s.Interval/time.Second)), "", regen.ForceStatic
	case SSR:
		*rev, *life, *dyn = regen.NotDeclared, "", regen.ForceDynamic
	case SSRData:
		*dyn = regen.DynamicNotDeclared
		if *rev == regen.Never {
			*rev = regen.NotDeclared
		}
		if !slices.Contains(*uses, regen.Headers) {
			*uses = append(*uses, regen.Headers)
		}
	}
	rewriteFetches(s.Kind, fetches)
}

// foldHoles folds each hole of spec's layouts and pages into its segment:
// the segment reads what the hole reads, fetches what it fetches (after its
// own fetches) and costs what it costs, and has no holes.
func foldHoles(spec *sitespec.Spec) {
	fold := func(uses *[]regen.API, cost *time.Duration, fetches *[]sitespec.Fetch, holes *[]sitespec.Hole) {
		for _, h := range *holes {
			for _, u := range h.Uses {
				if !slices.Contains(*uses, u) {
					*uses = append(*uses, u)
				}
			}
			*cost += h.Cost
			*fetches = append(*fetches, h.Fetches...)
		}
		*holes = nil
	}
	for i := range spec.Segments {
		if l := spec.Segments[i].Layout; l != nil {
			fold(&l.Uses, &l.Cost, &l.Fetches, &l.Holes)
		}
		if p := spec.Segments[i].Page; p != nil {
			fold(&p.Uses, &p.Cost, &p.Fetches, &p.Holes)
		}
	}
}

func rewriteFetches(k Kind, fs []sitespec.Fetch) {
	for i := range fs {
		f := &fs[i]
		switch k {
		case SSG, ISR, PPR:
			f.Revalidate, f.CacheLife, f.Cache = regen.NotDeclared, "", regen.CacheDefault
		case SSR:
			f.Revalidate, f.CacheLife, f.Cache = regen.NotDeclared, "", regen.NoStore
		case SSRData:
			if f.Revalidate == regen.Never {
				f.Revalidate, f.Cache = regen.NotDeclared, regen.NoStore
			}
		}
	}
}

// perUserSegments returns the layout patterns that read a dynamic API, and
// "page:"+pattern for each page that does or lies below such a layout.
func perUserSegments(spec *sitespec.Spec) map[string]bool {
	m := map[string]bool{}
	var layouts []string
	for _, seg := range spec.Segments {
		if seg.Layout != nil && len(seg.Layout.Uses) > 0 {
			m[seg.Pattern] = true
			layouts = append(layouts, seg.Pattern)
		}
	}
	for _, seg := range spec.Segments {
		if seg.Page == nil {
			continue
		}
		per := len(seg.Page.Uses) > 0
		for _, l := range layouts {
			if encloses(l, seg.Pattern) {
				per = true
			}
		}
		if per {
			m["page:"+seg.Pattern] = true
		}
	}
	return m
}

// encloses reports whether the layout at pattern l wraps the page at p.
func encloses(l, p string) bool {
	return l == "/" || l == p || strings.HasPrefix(p, strings.TrimSuffix(l, "/")+"/")
}

// cloneSpec copies spec deeply enough that apply's rewrites leave it alone.
func cloneSpec(spec *sitespec.Spec) *sitespec.Spec {
	out := *spec
	out.Segments = make([]sitespec.Segment, len(spec.Segments))
	for i, seg := range spec.Segments {
		if seg.Layout != nil {
			l := *seg.Layout
			l.Uses = slices.Clone(l.Uses)
			l.Fetches = cloneFetches(l.Fetches)
			l.Holes = cloneHoles(l.Holes)
			seg.Layout = &l
		}
		if seg.Page != nil {
			p := *seg.Page
			p.Uses = slices.Clone(p.Uses)
			p.Fetches = cloneFetches(p.Fetches)
			p.Holes = cloneHoles(p.Holes)
			p.StaticParams = cloneParams(p.StaticParams)
			seg.Page = &p
		}
		if seg.Handler != nil {
			h := *seg.Handler
			h.Uses = slices.Clone(h.Uses)
			h.Fetches = cloneFetches(h.Fetches)
			h.StaticParams = cloneParams(h.StaticParams)
			seg.Handler = &h
		}
		out.Segments[i] = seg
	}
	return &out
}

func cloneParams(ps []render.Params) []render.Params {
	out := slices.Clone(ps)
	for i, p := range out {
		out[i] = maps.Clone(p)
	}
	return out
}

func cloneHoles(hs []sitespec.Hole) []sitespec.Hole {
	out := slices.Clone(hs)
	for i := range out {
		out[i].Uses = slices.Clone(out[i].Uses)
		out[i].Fetches = cloneFetches(out[i].Fetches)
	}
	return out
}

func cloneFetches(fs []sitespec.Fetch) []sitespec.Fetch {
	out := slices.Clone(fs)
	for i := range out {
		out[i].Tags = slices.Clone(out[i].Tags)
	}
	return out
}
