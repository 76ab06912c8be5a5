package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

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

// Layout renders a layout around its child, the rest of the route below it.
// A layout renders its child exactly once, where the child goes, by calling
// child.Render with the writer it was given (or another writer, which then
// receives the child's output whole), like templ's children. What the layout
// writes before that leaves while the page is still rendering, when the
// render streams (see Job.Stream).
type Layout interface {
	Render(ctx context.Context, s *Scope, w io.Writer, child Child) error
}

// LayoutFunc adapts a function to a Layout.
type LayoutFunc func(ctx context.Context, s *Scope, w io.Writer, child Child) error

// Render calls f(ctx, s, w, child).
func (f LayoutFunc) Render(ctx context.Context, s *Scope, w io.Writer, child Child) error {
	return f(ctx, s, w, child)
}

// Child is what a layout wraps: the segments below it. Its method set is
// templ.Component's, so a templ layout can take it as its children.
//
// Render renders them into w and returns their error, already naming the
// route and segment, which the layout should return. The error is the
// render's even if the layout does not return it: a layout cannot hide a
// failure, a notFound() or a redirect below it. Render may be called once,
// and only while the layout's own Render runs.
type Child interface {
	Render(ctx context.Context, w io.Writer) error
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
	Layout Layout // set when Kind is LayoutSegment; nil passes the child through
	Page   Page   // set when Kind is PageSegment
	// NotFound, on a layout segment, is its not-found page (Next.js's
	// not-found.js): rendered in place of the layout's child when a segment
	// below calls notFound(). See ErrNotFound.
	NotFound Page
	// Name, if set, is what String returns, and so what records and errors
	// call the segment: the engine sets it once per route, in its own
	// messages' form ("page /blog/[slug]").
	Name string
}

// String names the segment as messages do: `layout "/blog"`, `page "/blog/[slug]"`.
func (s Segment) String() string {
	if s.Name != "" {
		return s.Name
	}
	switch s.Kind {
	case LayoutSegment:
		return fmt.Sprintf("layout %q", s.Path)
	case PageSegment:
		return fmt.Sprintf("page %q", s.Path)
	}
	return fmt.Sprintf("segment %q", s.Path)
}

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
	// Stream, if set, receives the output while the render runs; see Stream.
	Stream Stream
}

// Result is a complete render.
type Result struct {
	// Status is http.StatusOK unless a segment set another (Scope.SetStatus),
	// returned ErrNotFound (404) or returned a Redirect (307 or 308).
	Status int
	// Header holds the headers the segments set (Scope.SetHeader), and a
	// redirect's Location; nil when none. The engine adds its own.
	Header http.Header
	Body   []byte // the page wrapped in its layouts, or RedirectBody
	Record Record
	// Streamed says what Job.Stream received of this Result.
	Streamed Streamed
	// Holes are the holes the segments placed (Scope.Hole), in Body order.
	Holes []HoleAt
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
	Declared   regen.Revalidate // as requested (NotDeclared when not); a cacheLife's revalidate
	Expire     time.Duration    // the declared cacheLife's expire; 0: none
	Tags       []string
	Uncached   bool // the fetch was not stored (no-store, revalidate 0, or default Never)
}

// ErrNotFound is returned by a segment to answer 404 (Next.js's notFound()).
// The nearest not-found page above the segment (Segment.NotFound of a layout
// above it, or of the segment itself for a page) replaces the output of
// everything below that layout, inside the layouts above it, as Next.js's
// not-found boundaries do. Without one, NotFoundBody replaces the segment's
// own output and every layout above it still wraps it. The Result has
// status 404.
var ErrNotFound = errors.New("render: not found")

// NotFoundBody replaces the output of a segment that returned ErrNotFound
// when no not-found page is above it.
const NotFoundBody = "<h1>404</h1><p>This page could not be found.</p>"

// ModeError is returned when a render breaks its route's `dynamic = 'error'`:
// it read a dynamic API or made an uncached fetch.
type ModeError struct {
	Route   string
	Segment string // Segment.String()
	API     string // "cookies", "headers", "searchParams", or "uncached fetch <url>"
}

func (e *ModeError) Error() string {
	what, fix := "read "+e.API, "remove the read"
	if strings.HasPrefix(e.API, "uncached ") {
		what, fix = "made an "+e.API, "give it a revalidate or force-cache"
	}
	return fmt.Sprintf("render: route %q: %s: dynamic = %q but the render %s (%s, or use force-static or force-dynamic)",
		e.Route, e.Segment, regen.DynamicError, what, fix)
}

// PanicError is returned when a segment panics, wrapped with the route and
// the segment like other segment errors. A panic in a goroutine the segment
// starts cannot be recovered and crashes the program, as with net/http.
type PanicError struct {
	Segment string // Segment.String()
	Value   any    // the value passed to panic
	Stack   []byte // the panicking goroutine's stack
}

// Error returns "panic: " and the value; Render's wrapping names the route
// and segment, and the stack is in Stack.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Render runs the job's segments root first: each layout renders its child
// where it calls it (Child), the page last. Only a complete render is
// returned: on any error (a segment's error, a failed fetch, a panic, a
// ModeError) Result is nil and err says which segment failed.
//
// A segment's error is wrapped once with the route and the segment. A
// ModeError is returned as is, and takes precedence over the failing
// segment's own error or panic, which is often its consequence (an uncached
// fetch in error mode returns the ModeError to the segment; a read in error
// mode returns empty values). A segment that returns ErrNotFound makes the
// status 404 (see ErrNotFound); one that returns a Redirect ends the render
// with a redirect (see RedirectError). Render checks ctx before each segment.
func Render(ctx context.Context, job *Job) (res *Result, err error) {
	if job == nil {
		return nil, errors.New("render: nil job")
	}
	if err := checkSegments(job); err != nil {
		return nil, err
	}
	rec := newRecorder(job)
	defer rec.end()
	st := newState(job, rec)
	err = st.run(ctx, 0)
	if v := rec.violation(); v != nil {
		return nil, v
	}
	if re := (*RedirectError)(nil); errors.As(err, &re) {
		if err := checkRedirect(re); err != nil {
			return nil, fmt.Errorf("render: route %q: %s: %w", job.Route, st.redirectBy, err)
		}
		st.breakStream()
		return rec.result(re.Status, re, RedirectBody(re.URL, re.Status), st.streamed())
	}
	if errors.Is(err, ErrNotFound) {
		// No layout above the segment: its output is the whole body.
		st.rewind(0)
		st.out.WriteString(NotFoundBody)
		st.notFound, err = true, nil
	}
	if err != nil {
		return nil, err
	}
	status := 0
	if st.notFound {
		status = http.StatusNotFound
	}
	body, holes := rec.cutHoles(st.out.Bytes())
	if cap(body)-len(body) > len(body)/4 {
		body = bytes.Clone(body) // a cached body should not pin its growth
	}
	res, err = rec.result(status, nil, body, NotStreamed)
	if err != nil {
		return nil, err
	}
	res.Holes = holes
	res.Streamed = st.finish()
	return res, nil
}

// result ends the render and returns its Result: status, or the one a
// segment set (200 when none), redirect's Location if a segment
// redirected, and body.
func (r *recorder) result(status int, redirect *RedirectError, body []byte, streamed Streamed) (*Result, error) {
	r.end() // from here on, the scopes answer nothing: the record is final
	if v := r.violation(); v != nil {
		return nil, v // made by a goroutine that outlived its segment
	}
	record := r.record()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.badHeader != nil {
		return nil, r.badHeader
	}
	if status == 0 {
		status = http.StatusOK
		if r.status != 0 {
			if r.status < 200 || r.status > 599 {
				return nil, fmt.Errorf("render: route %q: %s: status %d (must be 200 to 599)", r.job.Route, r.statusBy, r.status)
			}
			status = r.status
		}
	}
	h := r.header
	if redirect != nil {
		if h == nil {
			h = http.Header{}
		}
		h["Location"] = []string{redirect.URL}
	}
	return &Result{Status: status, Header: h, Body: body, Record: record, Streamed: streamed}, nil
}

// checkSegments reports a job whose segments are not layouts then one page,
// or whose page has no renderer.
func checkSegments(job *Job) error {
	n := len(job.Segments)
	if n == 0 {
		return fmt.Errorf("render: route %q: no segments (want layouts, then a page)", job.Route)
	}
	for i, seg := range job.Segments {
		switch {
		case i < n-1 && seg.Kind != LayoutSegment:
			return fmt.Errorf("render: route %q: %s before the last segment (only layouts may wrap the page)", job.Route, seg)
		case i == n-1 && seg.Kind != PageSegment:
			return fmt.Errorf("render: route %q: last segment is %s (must be a page)", job.Route, seg)
		case i == n-1 && seg.Page == nil:
			return fmt.Errorf("render: route %q: %s has no renderer", job.Route, seg)
		}
	}
	return nil
}
