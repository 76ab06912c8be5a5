package engine

import (
	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
)

// Site is a route tree under construction: layouts and pages registered at
// segment patterns. New validates the whole tree at once and reports every
// problem. The zero value is an empty site. A Site is not safe for
// concurrent use.
//
// A pattern is a path of segments: static names, "[param]", "[...param]"
// (catch-all), "[[...param]]" (optional catch-all) and "(group)" (no URL
// part). "/" is the root.
type Site struct {
	layouts   []layoutReg
	pages     []pageReg
	handlers  []pageReg
	notFounds []notFoundReg
	lives     map[string]regen.CacheLife // CacheLife's profiles
}

type layoutReg struct {
	pattern string
	layout  Layout
}

type pageReg struct {
	pattern string
	page    Page
	// handler: registered by Site.Handler, with its content type.
	handler     bool
	contentType string
}

type notFoundReg struct {
	pattern string
	page    render.Page
}

// Layout registers a layout at pattern: it wraps every page at or below it.
func (s *Site) Layout(pattern string, l Layout) {
	s.layouts = append(s.layouts, layoutReg{pattern, l})
}

// Page registers a page at pattern, making its paths routable.
func (s *Site) Page(pattern string, p Page) {
	s.pages = append(s.pages, pageReg{pattern: pattern, page: p})
}

// Handler registers a route handler at pattern, Next.js's route.js GET:
// its render writes the whole response body, of any content type, and is
// not wrapped in the layouts above pattern, whose segment config does not
// apply to it either (Next.js reads a route handler's config from its own
// module only: build/segment-config/app/app-segments.ts,
// collectAppRouteSegments). Otherwise it is a route like a page's: the same
// policy rules, ISR, revalidation by tag and path, static params, and
// dynamic when its render reads a request API. A page and a handler at the
// same path conflict.
func (s *Site) Handler(pattern string, h Handler) {
	s.handlers = append(s.handlers, pageReg{pattern: pattern, handler: true, contentType: h.ContentType, page: Page{
		Revalidate: h.Revalidate, CacheLife: h.CacheLife, Dynamic: h.Dynamic, Render: h.Render, StaticParams: h.StaticParams,
		StaticParamsOnly: h.StaticParamsOnly, Uses: h.Uses, Fetches: h.Fetches,
	}})
}

// CacheLife registers a cache profile of the site under name, as Next.js's
// cacheLife config does: layouts, pages, handlers and fetches of the site
// name it in their CacheLife field. It adds to the built-ins
// (regen.BuiltinCacheLife) or replaces one; Options.CacheLife, given to
// New, wins over a profile of the same name registered here. New checks
// the name and the profile.
func (s *Site) CacheLife(name string, life regen.CacheLife) {
	if s.lives == nil {
		s.lives = map[string]regen.CacheLife{}
	}
	s.lives[name] = life
}

// NotFound registers the not-found page of the segment at pattern, Next.js's
// not-found.js: it is rendered, inside the layouts at and above pattern, in
// place of the segments below them when one of them returns ErrNotFound
// (notFound()), and the 404 is cached with the route's policy. The nearest
// not-found page above the segment that returned ErrNotFound is used: one at
// a page's own pattern catches the page's notFound(), not its layout's.
//
// The not-found page at "/" also answers every path no route matches, as
// the route "/_not-found" (as in Next.js): a 404 wrapped in the layouts at
// "/", cached like any route (static unless they say otherwise), and listed
// and prerendered with the others. Options.NotFound, if set, answers those
// paths instead. Without any not-found page, a segment's notFound() writes
// render.NotFoundBody inside all the layouts above it.
func (s *Site) NotFound(pattern string, p render.Page) {
	s.notFounds = append(s.notFounds, notFoundReg{pattern, p})
}

// Layout is the configuration and renderer of a layout segment.
type Layout struct {
	// Revalidate is the layout's `revalidate`; the zero value is not declared.
	Revalidate regen.Revalidate
	// CacheLife names the cache profile the layout uses in place of
	// Revalidate (Next.js 16's cacheLife): a built-in ("hours", ...) or one
	// of Options.CacheLife. Declaring both is a configuration error.
	CacheLife string
	// Dynamic is the layout's `dynamic` mode; the zero value is not declared.
	Dynamic regen.Dynamic
	// Render renders the layout around its child. If nil, the child is
	// written as is.
	Render render.Layout
	// Uses declares the dynamic APIs the layout's render reads, so its policy
	// is known before any render (site specs declare them).
	Uses []regen.API
	// Fetches declares the fetches the layout's render makes.
	Fetches []Fetch
	// Holes are the parts of the layout's output rendered per request
	// (partial prerendering); the layout places each with Scope.Hole.
	Holes []Hole
	// StaticParamsOnly is Next.js's `dynamicParams: false` on a layout: it
	// applies to every route below the layout, as if each page declared
	// it. A path of a route with params answers 404 without rendering
	// unless its params are in its page's StaticParams; a route below with
	// no StaticParams answers 404 for every path. As in Next.js, false on
	// any segment of a route wins: nothing below can serve other params
	// again. Routes without params are unaffected.
	StaticParamsOnly bool
}

// Page is the configuration and renderer of a page segment.
type Page struct {
	// Revalidate is the page's `revalidate`; the zero value is not declared.
	Revalidate regen.Revalidate
	// CacheLife names the cache profile the page uses in place of
	// Revalidate, as Layout.CacheLife.
	CacheLife string
	// Dynamic is the page's `dynamic` mode; the zero value is not declared.
	Dynamic regen.Dynamic
	// Render renders the page. Required.
	Render render.Page
	// StaticParams lists the params to prerender (generateStaticParams).
	StaticParams []render.Params
	// StaticParamsOnly is Next.js's `dynamicParams: false`: paths whose
	// params are not in StaticParams answer 404 without rendering. A layout
	// above the page declaring Layout.StaticParamsOnly has the same effect,
	// whatever the page declares.
	StaticParamsOnly bool
	// Uses declares the dynamic APIs the page's render reads.
	Uses []regen.API
	// Fetches declares the fetches the page's render makes.
	Fetches []Fetch
	// Holes are the parts of the page's output rendered per request
	// (partial prerendering); the page places each with Scope.Hole.
	Holes []Hole
}

// Handler is the configuration and renderer of a route handler segment
// (Site.Handler). Its policy fields mean what Page's do.
type Handler struct {
	// Revalidate is the handler's `revalidate`; the zero value is not declared.
	Revalidate regen.Revalidate
	// CacheLife names the cache profile the handler uses in place of
	// Revalidate, as Layout.CacheLife.
	CacheLife string
	// Dynamic is the handler's `dynamic` mode; the zero value is not declared.
	Dynamic regen.Dynamic
	// Render writes the response body. Required. It may set the status and
	// headers through its Scope (a Content-Type it sets wins over
	// ContentType), redirect, or return ErrNotFound.
	Render render.Page
	// ContentType is the response's Content-Type unless Render sets one. If
	// empty, DefaultHandlerContentType is used, as Next.js answers a route
	// handler returning a string body.
	ContentType string
	// StaticParams lists the params to prerender (generateStaticParams).
	StaticParams []render.Params
	// StaticParamsOnly is Next.js's `dynamicParams: false`.
	StaticParamsOnly bool
	// Uses declares the dynamic APIs the handler's render reads.
	Uses []regen.API
	// Fetches declares the fetches the handler's render makes.
	Fetches []Fetch
}

// DefaultHandlerContentType is the Content-Type of a handler that declares
// none and whose render sets none.
const DefaultHandlerContentType = "text/plain; charset=utf-8"

// Fetch declares a fetch a segment's render makes. URL may hold {param}
// placeholders; Tags too.
type Fetch struct {
	URL        string
	Revalidate regen.Revalidate
	Cache      regen.CacheMode
	Tags       []string
	// CacheLife names the cache profile of the fetch, in place of
	// Revalidate, as Layout.CacheLife.
	CacheLife string
}
