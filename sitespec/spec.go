package sitespec

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
)

// Spec is a site spec: a route tree with its segment configs, declared
// fetches and synthetic costs.
type Spec struct {
	// Name names the site.
	Name string
	// Origin configures the synthetic origin that answers relative fetch URLs.
	Origin OriginConfig
	// Segments are the spec's segments in the order the file lists them.
	Segments []Segment
	// CacheLife are the spec's own cache profiles (`cacheLife`), by name:
	// they add to the built-ins (regen.BuiltinCacheLife) or replace one.
	CacheLife map[string]regen.CacheLife
}

// OriginConfig is the spec's `origin`.
type OriginConfig struct {
	// Latency is how long the origin takes to answer a fetch.
	Latency time.Duration
}

// Segment is one entry of the spec's `segments`: a layout, a page or a
// handler, or a layout with either, at one pattern.
type Segment struct {
	// Pattern is the segment's pattern: "/", "/products/[slug]",
	// "/(marketing)/about".
	Pattern string
	// Layout is the segment's layout, or nil.
	Layout *Layout
	// Page is the segment's page, or nil.
	Page *Page
	// Handler is the segment's route handler, or nil; a segment with a
	// handler has no page.
	Handler *Handler
}

// Layout is a layout's config in a spec.
type Layout struct {
	// Revalidate is `revalidate`: regen.NotDeclared when omitted,
	// regen.Forever for false, regen.Never for 0.
	Revalidate regen.Revalidate
	// CacheLife is `cacheLife`, the name of a cache profile given instead
	// of revalidate; "" when omitted.
	CacheLife string
	// Dynamic is `dynamic`: regen.DynamicNotDeclared when omitted.
	Dynamic regen.Dynamic
	// Uses lists the dynamic APIs the render reads (`uses`).
	Uses []regen.API
	// Cost is the synthetic render's cost (`cost`).
	Cost time.Duration
	// Fetches are the fetches the render makes, in order (`fetches`).
	Fetches []Fetch
	// DynamicParams is `dynamicParams`; nil when omitted, which means true.
	// False applies to every route below the layout, as a page's does to
	// its own route (engine.Layout.StaticParamsOnly).
	DynamicParams *bool
	// Holes are `holes`: parts of the output rendered per request
	// (engine.Hole), in the order the synthetic render places them.
	Holes []Hole
}

// Page is a page's config in a spec.
type Page struct {
	// Revalidate is `revalidate`: regen.NotDeclared when omitted,
	// regen.Forever for false, regen.Never for 0.
	Revalidate regen.Revalidate
	// CacheLife is `cacheLife`: see Layout.CacheLife.
	CacheLife string
	// Dynamic is `dynamic`: regen.DynamicNotDeclared when omitted.
	Dynamic regen.Dynamic
	// Uses lists the dynamic APIs the render reads (`uses`).
	Uses []regen.API
	// Cost is the synthetic render's cost (`cost`).
	Cost time.Duration
	// Fetches are the fetches the render makes, in order (`fetches`).
	Fetches []Fetch
	// DynamicParams is `dynamicParams`; nil when omitted, which means true.
	DynamicParams *bool
	// StaticParams are the params to prerender (`staticParams`).
	StaticParams []render.Params
	// NotFound are the params whose render answers not found (`notFound`):
	// the synthetic page returns render.ErrNotFound for them.
	NotFound []render.Params
	// Redirect is `redirect`: a path or an absolute URL, with {param}
	// placeholders, the synthetic page redirects to (307); "" for none.
	Redirect string
	// Permanent is `permanent`: the redirect is a 308.
	Permanent bool
	// Headers are `headers`: response headers the synthetic page sets,
	// by name as written.
	Headers map[string]string
	// Holes are `holes`: see Layout.Holes.
	Holes []Hole
}

// Hole is one entry of a layout's or page's `holes` (partial
// prerendering): a part of its output rendered per request, which the
// synthetic render places after its own fetches (a layout's before its
// child). Its reads and fetches do not make the route dynamic.
type Hole struct {
	Name    string        // `name`: letters, digits, - and _; unique in a route
	Uses    []regen.API   // `uses`: the request APIs it reads
	Cost    time.Duration // `cost`: its synthetic render's cost
	Fetches []Fetch       // `fetches`: the fetches it makes
}

// Handler is a route handler's config in a spec (`handler`): a page's
// policy fields and the Content-Type of its body. It is not wrapped in
// layouts, and the layouts above it do not configure it.
type Handler struct {
	// Revalidate is `revalidate`: regen.NotDeclared when omitted,
	// regen.Forever for false, regen.Never for 0.
	Revalidate regen.Revalidate
	// CacheLife is `cacheLife`: see Layout.CacheLife.
	CacheLife string
	// Dynamic is `dynamic`: regen.DynamicNotDeclared when omitted.
	Dynamic regen.Dynamic
	// Uses lists the dynamic APIs the render reads (`uses`).
	Uses []regen.API
	// Cost is the synthetic render's cost (`cost`).
	Cost time.Duration
	// Fetches are the fetches the render makes, in order (`fetches`).
	Fetches []Fetch
	// DynamicParams is `dynamicParams`; nil when omitted, which means true.
	DynamicParams *bool
	// StaticParams are the params to prerender (`staticParams`).
	StaticParams []render.Params
	// ContentType is `contentType`, the Content-Type of the response; ""
	// when omitted, which means engine.DefaultHandlerContentType.
	ContentType string
}

// Fetch is one entry of a segment's `fetches`.
type Fetch struct {
	// URL is relative ("/api/products/{slug}", answered by the synthetic
	// origin) or absolute http:// or https://. {param} placeholders are
	// filled in from the path's params when rendering.
	URL string
	// Revalidate is the fetch's `revalidate`; NotDeclared means the route's.
	Revalidate regen.Revalidate
	// CacheLife is the fetch's `cacheLife`: see Layout.CacheLife.
	CacheLife string
	// Tags are the fetch's tags; they may hold {param} placeholders.
	Tags []string
	// Cache is the fetch's `cache` mode.
	Cache regen.CacheMode
}

// Load reads and parses the spec in the file at path.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Error is one problem in a spec. Parse returns every problem it finds,
// joined with errors.Join, in file order; errors.As finds the first. Format
// reports the values it cannot write as Errors without a file or line.
type Error struct {
	File    string // as given to Parse
	Line    int    // 1-based; 0 when the problem has no line (an empty file)
	Segment string // the segment's pattern; "" outside segments
	Field   string // the field: "page.fetches[0].url"; "" for the whole segment or spec
	Err     error  // the problem and its fix
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File + ":" + strconv.Itoa(e.Line) + ": ")
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		b.WriteString("line " + strconv.Itoa(e.Line) + ": ")
	}
	if e.Segment != "" {
		b.WriteString("segment " + strconv.Quote(e.Segment) + ": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns e.Err, so errors.Is(err, regen.ErrTag) finds broken tag
// limits.
func (e *Error) Unwrap() error { return e.Err }

// param is one dynamic segment of a pattern.
type param struct {
	name string
	kind paramKind
}

type paramKind uint8

const (
	single        paramKind = iota // [name]
	catchAll                       // [...name]
	optionalCatch                  // [[...name]]
)

// routeParams returns the params of pattern, in order. Malformed parts are
// engine.New's to report; they are taken as static here.
func routeParams(pattern string) []param {
	var ps []param
	for part := range strings.SplitSeq(pattern, "/") {
		switch {
		case strings.HasPrefix(part, "[[...") && strings.HasSuffix(part, "]]") && len(part) > 7:
			ps = append(ps, param{part[5 : len(part)-2], optionalCatch})
		case strings.HasPrefix(part, "[...") && strings.HasSuffix(part, "]") && len(part) > 5:
			ps = append(ps, param{part[4 : len(part)-1], catchAll})
		case strings.HasPrefix(part, "[") && strings.HasSuffix(part, "]") && len(part) > 2 && !strings.HasPrefix(part, "[["):
			ps = append(ps, param{part[1 : len(part)-1], single})
		}
	}
	return ps
}

// placeholders calls f with each {name} placeholder in s. It reports a
// malformed placeholder: an unclosed "{" or an empty "{}".
func placeholders(s string, f func(name string)) error {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return errors.New("unclosed { (write a placeholder as {param})")
		}
		name := s[i+1 : i+j]
		if name == "" {
			return errors.New("empty {} (write a placeholder as {param})")
		}
		if strings.IndexByte(name, '{') >= 0 {
			return errors.New("unclosed { (write a placeholder as {param})")
		}
		f(name)
		s = s[i+j+1:]
	}
}

// substitute fills in the {name} placeholders of s with params, each value
// passed through escape.
func substitute(s string, params render.Params, escape func(string) string) string {
	if strings.IndexByte(s, '{') < 0 {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteString(escape(params[s[i+1:i+j]]))
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}
