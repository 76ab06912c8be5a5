package engine

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"slices"

	"github.com/regen-dev/regen/render"
)

// Not-found pages (Site.NotFound), placed as Next.js's app router places
// not-found.js. Each segment of a route is wrapped, inside its layout, in a
// boundary that catches notFound() from everything below it
// (layout-router.tsx: the segment's <NotFoundBoundary> sits inside its
// layout, around its page and deeper layouts; app-render's
// create-component-tree.tsx gives it the segment's not-found.js). So the
// nearest not-found page at or above the page, or strictly above a layout,
// catches that segment's notFound(), and the layouts between the boundary and
// the segment are not rendered. A URL no route matches renders the root
// not-found.js inside the root layout as the route "/_not-found"
// (build/entries.ts, UNDERSCORE_NOT_FOUND_ROUTE).
//
// In a render, a boundary is a layout segment placed just inside the layouts
// of its pattern, with no renderer of its own and the not-found page as its
// render.Segment.NotFound: render catches a notFound() below it there,
// drops the output of everything below, and renders the page in its place.

// notFoundPath is the route of the root not-found page, which answers the
// paths no route matches.
const notFoundPath = "/_not-found"

// addNotFound checks the site's not-found pages and adds each one's
// boundary to layouts, which stay sorted root first: a boundary comes after
// the layout of its own pattern.
func addNotFound(layouts []*layoutInfo, site *Site) ([]*layoutInfo, []error) {
	var errs []error
	seen := map[string]bool{}
	var bounds []*layoutInfo
	for _, nf := range site.notFounds {
		parts, err := checkPattern("not-found", nf.pattern, seen)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if nf.page == nil {
			errs = append(errs, &ConfigError{Route: nf.pattern, Segment: "not-found " + nf.pattern, Field: "Render", Rule: ErrRender,
				Msg: "not-found page has no renderer (pass a render.Page to Site.NotFound)"})
			continue
		}
		if nf.pattern == "/" && slices.ContainsFunc(site.pages, func(p pageReg) bool { return p.pattern == notFoundPath }) {
			errs = append(errs, &ConfigError{Route: notFoundPath, Segment: "page " + notFoundPath, Field: "pattern", Rule: ErrConflict,
				Msg: "the route is the root not-found page's (rename the page)"})
		}
		bounds = append(bounds, &layoutInfo{parts: parts, seg: &segment{
			kind: render.LayoutSegment, pattern: nf.pattern, notFound: true, notFoundPage: nf.page,
		}})
	}
	layouts = append(layouts, bounds...)
	slices.SortStableFunc(layouts, func(a, b *layoutInfo) int {
		if c := cmp.Compare(len(a.parts), len(b.parts)); c != 0 {
			return c
		}
		return cmp.Compare(btoi(a.seg.notFound), btoi(b.seg.notFound))
	})
	return layouts, errs
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// withNotFoundRoute returns the site's pages, with the route "/_not-found"
// when the site has a not-found page at "/": a page that always returns
// ErrNotFound, so its root boundary renders the not-found page.
func withNotFoundRoute(site *Site) []pageReg {
	if !slices.ContainsFunc(site.notFounds, func(nf notFoundReg) bool { return nf.pattern == "/" && nf.page != nil }) ||
		slices.ContainsFunc(site.pages, func(p pageReg) bool { return p.pattern == notFoundPath }) {
		return site.pages
	}
	return append(slices.Clip(site.pages), pageReg{pattern: notFoundPath, page: Page{Render: notFoundPage}})
}

// notFoundPage is the page of the route "/_not-found".
var notFoundPage = render.PageFunc(func(context.Context, *render.Scope, io.Writer) error { return ErrNotFound })

// serveNotFoundPage answers a path no route matches with the route
// "/_not-found", from the cache as any path is: HIT, STALE (regenerated in
// the background), MISS, or BYPASS when its layouts make it dynamic.
func (e *Engine) serveNotFoundPage(w http.ResponseWriter, r *http.Request) {
	note := ""
	if e.debug {
		note = "no route matches " + r.URL.Path + ": not-found page; "
	}
	e.servePath(w, r, notFoundPath, e.now(), note)
}
