// Package render runs one route's layouts and page and records what the render reveals.
package render

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
)

// Params are the values of a route's dynamic segments. A catch-all's value is
// its parts joined with "/" ("a/b"); an empty optional catch-all is absent.
type Params map[string]string

// Page renders a page's content.
type Page interface {
	Render(ctx context.Context, s *Scope, w io.Writer) error
}

// PageFunc adapts a function to a Page.
type PageFunc func(ctx context.Context, s *Scope, w io.Writer) error

// Render calls f(ctx, s, w).
func (f PageFunc) Render(ctx context.Context, s *Scope, w io.Writer) error { return f(ctx, s, w) }

// Layout renders a layout around its child, the already rendered output of
// everything below it.
type Layout interface {
	Render(ctx context.Context, s *Scope, w io.Writer, child []byte) error
}

// LayoutFunc adapts a function to a Layout.
type LayoutFunc func(ctx context.Context, s *Scope, w io.Writer, child []byte) error

// Render calls f(ctx, s, w, child).
func (f LayoutFunc) Render(ctx context.Context, s *Scope, w io.Writer, child []byte) error {
	return f(ctx, s, w, child)
}

// SegmentKind tells layouts from pages.
type SegmentKind uint8

const (
	LayoutSegment SegmentKind = iota + 1
	PageSegment
)

// Segment is one renderer of a route, with the pattern path it is registered at.
type Segment struct {
	Kind   SegmentKind
	Path   string // the segment's pattern path: "/", "/blog", "/blog/[slug]", "/(shop)"
	Layout Layout // set when Kind is LayoutSegment
	Page   Page   // set when Kind is PageSegment
}

// String names the segment as messages do: `layout "/blog"`, `page "/blog/[slug]"`.
func (s Segment) String() string { panic("TODO") }

// Job is one render of one path.
type Job struct {
	Route    string        // the route pattern, for messages: "/blog/[slug]"
	Path     string        // the concrete path: "/blog/hello"
	Params   Params        // the path's params
	Segments []Segment     // layouts root first, then the page, last
	Mode     regen.Dynamic // the route's effective dynamic mode
	Request  *http.Request // the request being served; nil when prerendering
	Data     *fetchcache.Cache
	Call     fetchcache.Call // passed to every fetch: now, implicit tags, default revalidate
}

// Result is a complete render.
type Result struct {
	Status int    // http.StatusOK, or http.StatusNotFound when a segment returned ErrNotFound
	Body   []byte // the page wrapped in its layouts
	Record Record
}

// Record is what a render revealed about its route's policy.
type Record struct {
	Reads   []Read  // dynamic API reads, in the order made
	Fetches []Fetch // fetches and Memoize calls, one per key, in the order made
}

// Read is one dynamic API read.
type Read struct {
	Segment string // Segment.String() of the reader
	API     regen.API
}

// Fetch is one fetch or Memoize call.
type Fetch struct {
	Segment    string           // Segment.String() of the caller
	URL        string           // the URL, or "memoize:" + the key parts joined by ","
	Key        string           // the Data Cache key
	Status     regen.Status     // how the Data Cache answered
	Revalidate regen.Revalidate // effective: Never when uncached
	Cache      regen.CacheMode  // as requested
	Declared   regen.Revalidate // as requested (NotDeclared when not)
	Tags       []string
	Uncached   bool // the fetch was not stored (no-store, revalidate 0, or default Never)
}

// ErrNotFound is returned by a segment to answer 404 (Next.js's notFound()).
var ErrNotFound = errors.New("render: not found")

// ModeError is returned when a render breaks its route's `dynamic = 'error'`:
// it read a dynamic API or made an uncached fetch.
type ModeError struct {
	Route   string
	Segment string // Segment.String()
	API     string // "cookies", "headers", "searchParams", or "uncached fetch <url>"
}

func (e *ModeError) Error() string { panic("TODO") }

// PanicError is returned when a segment panics.
type PanicError struct {
	Segment string
	Value   any
	Stack   []byte
}

func (e *PanicError) Error() string { panic("TODO") }

// Render runs the job's page, then each layout from the deepest to the root
// around it, each into a buffer. Only a complete render is returned: on any
// error (a segment's error, a failed fetch, a panic, a ModeError) Result is
// nil and err says which segment failed.
func Render(ctx context.Context, job *Job) (res *Result, err error) { panic("TODO") }

// Scope is what one segment sees while rendering: the path's params, the
// dynamic APIs and the Data Cache. It is safe for concurrent use by the
// goroutines a segment starts, and is valid only during the render.
type Scope struct {
	// TODO: implement.
}

// Route returns the route pattern.
func (s *Scope) Route() string { panic("TODO") }

// Path returns the concrete path being rendered.
func (s *Scope) Path() string { panic("TODO") }

// Params returns the path's params. Not a dynamic API: reading them is free.
func (s *Scope) Params() Params { panic("TODO") }

// Param returns one param.
func (s *Scope) Param(name string) string { panic("TODO") }

// Segment returns the segment being rendered.
func (s *Scope) Segment() Segment { panic("TODO") }

// Cookies reads the request's cookies: a dynamic API. In force-static mode it
// returns nil; in error mode it fails the render.
func (s *Scope) Cookies() []*http.Cookie { panic("TODO") }

// Cookie reads one cookie: a dynamic API, as Cookies.
func (s *Scope) Cookie(name string) (string, bool) { panic("TODO") }

// Headers reads the request's headers: a dynamic API.
func (s *Scope) Headers() http.Header { panic("TODO") }

// Header reads one request header: a dynamic API.
func (s *Scope) Header(name string) string { panic("TODO") }

// SearchParams reads the request's query: a dynamic API.
func (s *Scope) SearchParams() url.Values { panic("TODO") }

// Fetch makes a fetch through the Data Cache. Identical fetches within one
// render share one call, even when uncached (request memoization).
func (s *Scope) Fetch(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	panic("TODO")
}

// Memoize caches fn through the Data Cache under keyParts, like Fetch.
func (s *Scope) Memoize(ctx context.Context, keyParts []string, opts fetchcache.MemoOptions, fn func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	panic("TODO")
}
