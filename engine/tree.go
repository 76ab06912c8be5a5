package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
	"golang.org/x/net/http/httpguts"
)

// segment is one layout or page of a route, with its configuration.
type segment struct {
	kind       render.SegmentKind
	pattern    string
	revalidate regen.Revalidate
	cacheLife  string        // the declared cache profile; its revalidate is put in revalidate
	expire     time.Duration // the cache profile's expire; 0: none
	stale      time.Duration // the cache profile's stale; 0: none
	// fetchExpire[i] is the expire of the cache profile of fetches[i]; nil
	// when no fetch names one.
	fetchExpire []time.Duration
	dynamic     regen.Dynamic
	// staticParamsOnly is the segment's `dynamicParams: false`.
	staticParamsOnly bool
	uses             []regen.API
	fetches          []Fetch
	layout           render.Layout
	page             render.Page
	// notFound: the segment is the not-found boundary of its pattern (see
	// notfound.go), a layout in the render that declares nothing and
	// renders notFoundPage in place of a child that called notFound().
	notFound     bool
	notFoundPage render.Page
	// handler: the page segment is a route handler's (Site.Handler).
	handler bool
	holes   []Hole
}

// name is how reasons and messages name the segment: "layout /blog".
func (s *segment) name() string {
	if s.notFound {
		return "not-found " + s.pattern
	}
	if s.kind == render.LayoutSegment {
		return "layout " + s.pattern
	}
	if s.handler {
		return "handler " + s.pattern
	}
	return "page " + s.pattern
}

// node is one level of the URL trie. Not safe for concurrent use while
// being built; read-only afterwards.
type node struct {
	static      map[string]*node
	param       *node
	paramName   string
	paramRoute  *route // the route that first put the param here, for messages
	catchAll    *route
	optCatchAll *route
	page        *route
}

// insert adds r to the trie, or reports the route it conflicts with.
func (n *node) insert(r *route) *ConfigError {
	conflict := func(other *route, msg string) *ConfigError {
		return &ConfigError{Route: r.pattern, Field: "pattern", Rule: ErrConflict,
			Msg: fmt.Sprintf("conflicts with route %q: %s", other.pattern, msg)}
	}
	for i, p := range r.url {
		last := i == len(r.url)-1
		switch p.kind {
		case partStatic:
			if n.static == nil {
				n.static = make(map[string]*node)
			}
			c := n.static[p.name]
			if c == nil {
				c = &node{}
				n.static[p.name] = c
			}
			n = c
		case partParam:
			if n.param == nil {
				n.param = &node{}
				n.paramName = p.name
				n.paramRoute = r
			} else if n.paramName != p.name {
				return conflict(n.paramRoute, fmt.Sprintf("param %q and %q at the same position (use one name for the same dynamic path)", p.name, n.paramName))
			}
			n = n.param
		case partCatchAll, partOptCatchAll:
			if !last {
				// Reported by the pattern checks.
				return nil
			}
			if o := n.catchAll; o != nil {
				return conflict(o, "both catch all paths below "+quote(joinParts(r.url[:i])))
			}
			if o := n.optCatchAll; o != nil {
				return conflict(o, "both catch all paths below "+quote(joinParts(r.url[:i])))
			}
			if p.kind == partOptCatchAll {
				if o := n.page; o != nil {
					return conflict(o, fmt.Sprintf("both match %q (an optional catch-all also matches its parent path)", joinParts(r.url[:i])))
				}
				n.optCatchAll = r
			} else {
				n.catchAll = r
			}
			return nil
		}
	}
	if o := n.page; o != nil {
		return conflict(o, fmt.Sprintf("both match %q (two routes cannot resolve to the same path)", joinParts(r.url)))
	}
	if o := n.optCatchAll; o != nil {
		return conflict(o, fmt.Sprintf("both match %q (an optional catch-all also matches its parent path)", joinParts(r.url)))
	}
	n.page = r
	return nil
}

// match finds the route for the URL path parts, filling params (which it
// allocates only when the route has some). Static segments beat params,
// params beat catch-alls, as in Next.js.
func (n *node) match(parts []string, params *render.Params) *route {
	if len(parts) == 0 {
		if n.page != nil {
			return n.page
		}
		if n.optCatchAll != nil {
			return n.optCatchAll
		}
		return nil
	}
	if c := n.static[parts[0]]; c != nil {
		if r := c.match(parts[1:], params); r != nil {
			return r
		}
	}
	if n.param != nil {
		if r := n.param.match(parts[1:], params); r != nil {
			setParam(params, n.paramName, parts[0])
			return r
		}
	}
	for _, r := range []*route{n.catchAll, n.optCatchAll} {
		if r != nil {
			setParam(params, r.url[len(r.url)-1].name, strings.Join(parts, "/"))
			return r
		}
	}
	return nil
}

func setParam(params *render.Params, name, value string) {
	if *params == nil {
		*params = make(render.Params, 2)
	}
	(*params)[name] = value
}

// splitPath splits a clean URL path into its parts: "/" has none.
func splitPath(path string) []string {
	if path == "/" || path == "" {
		return nil
	}
	return strings.Split(strings.TrimPrefix(path, "/"), "/")
}

// compile checks every registration and builds the routes and the trie. It
// reports every problem it finds.
func compile(site *Site, lives map[string]regen.CacheLife) (routes []*route, root *node, errs []error) {
	layouts, errs := compileLayouts(site.layouts)
	layouts, nerrs := addNotFound(layouts, site)
	errs = append(errs, nerrs...)
	root = &node{}
	seen, seenHandler := map[string]bool{}, map[string]bool{}
	pages := withNotFoundRoute(site)
	for _, p := range append(slices.Clip(pages), site.handlers...) {
		kind, seenKind := "page", seen
		if p.handler {
			kind, seenKind = "handler", seenHandler
		}
		parts, err := checkPattern(kind, p.pattern, seenKind)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if p.handler && seen[p.pattern] {
			errs = append(errs, &ConfigError{Route: p.pattern, Segment: "handler " + p.pattern, Field: "pattern", Rule: ErrConflict,
				Msg: fmt.Sprintf("conflicts with page %q (a segment has a page or a route handler, not both: remove one, or move the handler to its own path)", p.pattern)})
			continue
		}
		if p.handler && p.contentType != "" && !httpguts.ValidHeaderFieldValue(p.contentType) {
			errs = append(errs, &ConfigError{Route: p.pattern, Segment: "handler " + p.pattern, Field: "ContentType", Rule: ErrRender,
				Msg: fmt.Sprintf("content type %q has a control character (remove it)", p.contentType)})
		}
		r, perrs := newRoute(p, parts, layouts)
		if errs = append(errs, perrs...); len(perrs) > 0 {
			continue
		}
		if cerr := root.insert(r); cerr != nil {
			errs = append(errs, cerr)
			continue
		}
		routes = append(routes, r)
	}

	// Segment configuration: each layout once, naming the first route under it.
	for _, l := range layouts {
		route := l.used
		if route == "" {
			route = l.seg.pattern
		}
		errs = append(errs, resolveLives(route, l.seg, lives)...)
		errs = append(errs, checkSegment(route, l.seg)...)
	}
	for _, r := range routes {
		page := r.segs[len(r.segs)-1]
		if page.page == nil {
			msg := "page has no Render (set Page.Render)"
			if page.handler {
				msg = "handler has no Render (set Handler.Render)"
			}
			errs = append(errs, &ConfigError{Route: r.pattern, Segment: page.name(), Field: "Render", Rule: ErrRender, Msg: msg})
		}
		errs = append(errs, resolveLives(r.pattern, page, lives)...)
		errs = append(errs, checkSegment(r.pattern, page)...)
		errs = append(errs, r.setStaticParams(r.page)...)
		errs = append(errs, r.compileHoles()...)
	}
	slices.SortFunc(routes, func(a, b *route) int { return strings.Compare(a.pattern, b.pattern) })
	return routes, root, errs
}

// layoutInfo is a registered layout while routes are compiled.
type layoutInfo struct {
	parts []part
	seg   *segment
	used  string // the first route under it, for messages
}

// compileLayouts checks the registered layouts and returns them root first.
func compileLayouts(regs []layoutReg) (layouts []*layoutInfo, errs []error) {
	seen := map[string]bool{}
	for _, l := range regs {
		parts, err := checkPattern("layout", l.pattern, seen)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		layouts = append(layouts, &layoutInfo{parts: parts, seg: &segment{
			kind: render.LayoutSegment, pattern: l.pattern, revalidate: l.layout.Revalidate, cacheLife: l.layout.CacheLife,
			dynamic: l.layout.Dynamic, staticParamsOnly: l.layout.StaticParamsOnly, uses: l.layout.Uses,
			fetches: l.layout.Fetches, layout: l.layout.Render, holes: l.layout.Holes,
		}})
	}
	slices.SortStableFunc(layouts, func(a, b *layoutInfo) int { return len(a.parts) - len(b.parts) })
	return layouts, errs
}

// checkPattern parses the pattern of a layout or page (kind) registered
// once per pattern in seen.
func checkPattern(kind, pattern string, seen map[string]bool) ([]part, error) {
	parts, err := parsePattern(pattern)
	if err != nil {
		return nil, &ConfigError{Route: pattern, Segment: kind + " " + pattern, Field: "pattern", Rule: ErrPattern, Msg: err.Error()}
	}
	if seen[pattern] {
		return nil, &ConfigError{Route: pattern, Segment: kind + " " + pattern, Field: "pattern", Rule: ErrConflict,
			Msg: fmt.Sprintf("%s registered twice (register one %s per segment)", kind, kind)}
	}
	seen[pattern] = true
	return parts, nil
}

// newRoute builds the route of page p, under the layouts that are prefixes
// of it (none for a route handler), and checks its params.
func newRoute(p pageReg, parts []part, layouts []*layoutInfo) (*route, []error) {
	var errs []error
	r := &route{pattern: p.pattern, parts: parts, url: urlParts(parts), page: p.page}
	kind := "page "
	if p.handler {
		kind = "handler "
	}
	names := map[string]bool{}
	for i, pt := range parts {
		if (pt.kind == partCatchAll || pt.kind == partOptCatchAll) && i != len(parts)-1 {
			errs = append(errs, &ConfigError{Route: p.pattern, Segment: kind + p.pattern, Field: "pattern", Rule: ErrPattern,
				Msg: fmt.Sprintf("catch-all %q must be the last segment", pt.raw)})
		}
		if pt.kind == partParam || pt.kind == partCatchAll || pt.kind == partOptCatchAll {
			if names[pt.name] {
				errs = append(errs, &ConfigError{Route: p.pattern, Segment: kind + p.pattern, Field: "pattern", Rule: ErrPattern,
					Msg: fmt.Sprintf("param %q appears twice (give each param its own name)", pt.name)})
			}
			names[pt.name] = true
			r.params = append(r.params, pt)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for _, l := range layouts {
		if !p.handler && isPrefix(l.parts, parts) {
			r.segs = append(r.segs, l.seg)
			if l.used == "" {
				l.used = p.pattern
			}
		}
	}
	r.segs = append(r.segs, &segment{
		kind: render.PageSegment, pattern: p.pattern, revalidate: p.page.Revalidate, cacheLife: p.page.CacheLife, dynamic: p.page.Dynamic,
		staticParamsOnly: p.page.StaticParamsOnly, uses: p.page.Uses, fetches: p.page.Fetches, page: p.page.Render,
		handler: p.handler, holes: p.page.Holes,
	})
	if p.handler && p.page.Render != nil {
		r.segs[len(r.segs)-1].page = handlerRender{cmp.Or(p.contentType, DefaultHandlerContentType), p.page.Render}
	}
	return r, nil
}

// resolveLives resolves the cache profiles a segment and its fetches name
// against lives and the built-ins: a profile's revalidate becomes the
// segment's (or fetch's), beside its expire and stale.
func resolveLives(route string, s *segment, lives map[string]regen.CacheLife) []error {
	var errs []error
	add := func(field string, rule error, msg string) {
		errs = append(errs, &ConfigError{Route: route, Segment: s.name(), Field: field, Rule: rule, Msg: msg})
	}
	// life resolves a cacheLife declared beside rev.
	life := func(field, name string, rev regen.Revalidate) (regen.CacheLife, bool) {
		if rev.Declared() {
			add(field, ErrCacheLife, fmt.Sprintf("revalidate %v and cacheLife %q both declared (remove one: cacheLife gives the revalidate)", rev, name))
			return regen.CacheLife{}, false
		}
		c, err := regen.LookupCacheLife(name, lives)
		if err != nil {
			add(field, ErrCacheLife, err.Error()+" (use one of them, or add it to Options.CacheLife)")
			return regen.CacheLife{}, false
		}
		return c, true
	}
	if s.cacheLife != "" {
		if c, ok := life("cacheLife", s.cacheLife, s.revalidate); ok {
			s.revalidate, s.expire, s.stale = c.Revalidate, c.Expire, c.Stale
		}
	}
	cloned := false
	for i, f := range s.fetches {
		if f.CacheLife == "" {
			continue
		}
		if c, ok := life(fmt.Sprintf("fetches[%d].cacheLife", i), f.CacheLife, f.Revalidate); ok {
			if !cloned { // the user's slice is not ours to change
				s.fetches, cloned = slices.Clone(s.fetches), true
			}
			if s.fetchExpire == nil {
				s.fetchExpire = make([]time.Duration, len(s.fetches))
			}
			s.fetches[i].Revalidate, s.fetchExpire[i] = c.Revalidate, c.Expire
			s.stale = minSet(s.stale, c.Stale)
		}
	}
	return errs
}

// checkSegment checks one segment's fields.
func checkSegment(route string, s *segment) []error {
	var errs []error
	add := func(field string, rule error, msg string) {
		errs = append(errs, &ConfigError{Route: route, Segment: s.name(), Field: field, Rule: rule, Msg: msg})
	}
	if err := s.revalidate.Valid(); err != nil {
		add("revalidate", ErrRevalidate, err.Error())
	}
	if err := s.dynamic.Valid(); err != nil {
		add("dynamic", ErrDynamic, err.Error())
	}
	for _, a := range s.uses {
		if a < regen.Cookies || a > regen.SearchParams {
			add("uses", ErrDynamic, fmt.Sprintf("unknown dynamic API %d (use regen.Cookies, regen.Headers or regen.SearchParams)", a))
		}
	}
	for i, f := range s.fetches {
		field := fmt.Sprintf("fetches[%d]", i)
		if f.URL == "" {
			add(field+".url", ErrFetch, "fetch has no URL (set Fetch.URL)")
		}
		if err := f.Revalidate.Valid(); err != nil {
			add(field+".revalidate", ErrRevalidate, err.Error())
		}
		if f.Cache > regen.NoStore {
			add(field+".cache", ErrFetch, fmt.Sprintf("unknown cache mode %d (use default, force-cache or no-store)", f.Cache))
		}
		if err := regen.ValidateTags(f.Tags); err != nil {
			add(field+".tags", regen.ErrTag, err.Error()+" (use fewer or shorter tags)")
		}
	}
	return errs
}

// setStaticParams checks the page's static params and records the paths
// they give, and whether other params are served.
func (r *route) setStaticParams(p Page) []error {
	var errs []error
	r.staticParamsOnly = staticParamsOnly(r.segs)
	seg := r.segs[len(r.segs)-1].name()
	if len(r.params) == 0 {
		if len(p.StaticParams) > 0 {
			errs = append(errs, &ConfigError{Route: r.pattern, Segment: seg, Field: "staticParams", Rule: ErrStaticParams,
				Msg: "route has no dynamic segments (remove staticParams)"})
		}
		r.staticPaths = map[string]render.Params{joinURL(r.url, nil): nil}
		r.prerender = []string{joinURL(r.url, nil)}
		return nil
	}
	r.staticPaths = make(map[string]render.Params, len(p.StaticParams))
	for i, ps := range p.StaticParams {
		ok := true
		fail := func(msg string) {
			errs = append(errs, &ConfigError{Route: r.pattern, Segment: seg, Field: fmt.Sprintf("staticParams[%d]", i), Rule: ErrStaticParams, Msg: msg})
			ok = false
		}
		for _, pt := range r.params {
			v, has := ps[pt.name]
			switch {
			case !has && pt.kind != partOptCatchAll:
				fail(fmt.Sprintf("missing param %q (every entry needs a value for each of %s)", pt.name, paramList(r.params)))
			case has && v == "" && pt.kind != partOptCatchAll:
				fail(fmt.Sprintf("param %q is empty (give it a value)", pt.name))
			case pt.kind == partParam && strings.Contains(v, "/"):
				fail(fmt.Sprintf("param %q = %q holds a slash (only catch-all params take several parts)", pt.name, v))
			case has && (strings.Contains("/"+v+"/", "/../") || strings.Contains("/"+v+"/", "/./") || strings.Contains("/"+v+"/", "//") && v != ""):
				fail(fmt.Sprintf("param %q = %q is not a clean path", pt.name, v))
			}
		}
		for name := range ps {
			if !slices.ContainsFunc(r.params, func(pt part) bool { return pt.name == name }) {
				fail(fmt.Sprintf("unknown param %q (the route's params are %s)", name, paramList(r.params)))
			}
		}
		if ok {
			path := joinURL(r.url, ps)
			if _, dup := r.staticPaths[path]; !dup {
				r.staticPaths[path] = ps
				r.prerender = append(r.prerender, path)
			}
		}
	}
	slices.Sort(r.prerender)
	return errs
}

// staticParamsOnly reports whether a route serves only its static params:
// whether any of its segments, a layout or the page, declares
// `dynamicParams: false`. Next.js decides it so (build/static-paths/app.ts:
// `dynamicParams = segments.every((segment) => segment.config?.dynamicParams
// !== false)`): false anywhere wins, and a deeper segment cannot undo it.
func staticParamsOnly(segs []*segment) bool {
	return slices.ContainsFunc(segs, func(s *segment) bool { return s.staticParamsOnly })
}

func paramList(ps []part) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = quote(p.name)
	}
	return strings.Join(names, ", ")
}

// joinURL builds the concrete path of url parts with params.
func joinURL(url []part, ps render.Params) string {
	var b strings.Builder
	for _, p := range url {
		switch p.kind {
		case partStatic:
			b.WriteByte('/')
			b.WriteString(p.name)
		case partParam, partCatchAll:
			b.WriteByte('/')
			b.WriteString(ps[p.name])
		case partOptCatchAll:
			if v := ps[p.name]; v != "" {
				b.WriteByte('/')
				b.WriteString(v)
			}
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// minSet returns the lower of a and b, where 0 means not set.
func minSet(a, b time.Duration) time.Duration {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}
