package regentest

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
)

// Problem is one thing a render did that its route's declarations do not
// say: Next.js finds these at build time; regen learns them from renders
// and refines the route's policy, so a route declared ISR can turn out
// dynamic in production. CheckDeclarations finds them in a test instead.
type Problem struct {
	Route string // the route pattern
	Path  string // the path rendered
	What  string // what the render did
	Fix   string // the declaration to add
}

func (p Problem) String() string {
	if p.Path == "" {
		return fmt.Sprintf("route %s: %s (%s)", p.Route, p.What, p.Fix)
	}
	return fmt.Sprintf("route %s (GET %s): %s (%s)", p.Route, p.Path, p.What, p.Fix)
}

// CheckOptions configure CheckDeclarations.
type CheckOptions struct {
	// Options configure the engine of each render. With neither an
	// Engine.Fetcher nor an Origin, every fetch is answered 200 "{}".
	Options
	// Paths gives, by route pattern, the path to render for a route with
	// params and no static params. Other routes render their first static
	// path.
	Paths map[string]string
	// Header holds name-value pairs sent with every render's request (a
	// Cookie, say), so renders read what they would in production.
	Header []string
}

// CheckDeclarations renders every route of site once, each in an engine of
// its own, and returns what the renders did that the routes' declarations
// do not say: a dynamic API read without Uses, a fetch not listed in
// Fetches, a fetch whose revalidate or cache mode changes the route's
// policy. Each Problem names the route, the segment and the field to add.
// A route it cannot render (params without static params or a path in
// CheckOptions.Paths) is a Problem too.
//
// ExpectDeclared fails a test with the problems.
func CheckDeclarations(t T, site *engine.Site, opts CheckOptions) []Problem {
	t.Helper()
	decl, err := engine.New(site, engine.Options{Logger: opts.Engine.Logger})
	if err != nil {
		t.Fatalf("regentest: engine.New: %v", err)
		return nil
	}
	defer decl.Close()
	var problems []Problem
	for _, before := range decl.Routes() {
		path, ok := samplePath(before, opts.Paths)
		if !ok {
			problems = append(problems, Problem{Route: before.Route, What: "not rendered: the route has params and no static params",
				Fix: "give a path for it in CheckOptions.Paths"})
			continue
		}
		problems = append(problems, checkRoute(t, site, opts, decl, before, path)...)
	}
	return problems
}

// ExpectDeclared fails the test with every problem CheckDeclarations
// finds.
func ExpectDeclared(t T, site *engine.Site, opts CheckOptions) {
	t.Helper()
	for _, p := range CheckDeclarations(t, site, opts) {
		t.Errorf("%s", p)
	}
}

// samplePath is the path CheckDeclarations renders for a route.
func samplePath(p engine.Policy, paths map[string]string) (string, bool) {
	if path, ok := paths[p.Route]; ok {
		return path, true
	}
	if len(p.Prerender) > 0 {
		return p.Prerender[0], true
	}
	if strings.Contains(p.Route, "[") {
		return "", false
	}
	// A dynamic route without params: its URL is its pattern without
	// route groups.
	var b strings.Builder
	for seg := range strings.SplitSeq(strings.TrimPrefix(p.Route, "/"), "/") {
		if seg == "" || (strings.HasPrefix(seg, "(") && strings.HasSuffix(seg, ")")) {
			continue
		}
		b.WriteString("/" + seg)
	}
	if b.Len() == 0 {
		return "/", true
	}
	return b.String(), true
}

// checkRoute renders path in an engine of its own, so that every fetch
// reaches the origin, and compares with the declarations.
func checkRoute(t T, site *engine.Site, opts CheckOptions, decl *engine.Engine, before engine.Policy, path string) []Problem {
	rec := &fetchRecorder{next: opts.Engine.Fetcher}
	if rec.next == nil && opts.Origin != nil {
		rec.next = opts.Origin
	}
	o := opts.Options
	o.Engine.Fetcher = rec
	h := New(t, site, o)
	h.Get(path, opts.Header...)
	after := h.Policy(before.Route)

	var problems []Problem
	for _, r := range after.Reasons {
		if !slices.Contains(before.Reasons, r) {
			what, fix := explainReason(r)
			problems = append(problems, Problem{Route: before.Route, Path: path, What: what, Fix: fix})
		}
	}
	declared := decl.DeclaredFetches(before.Route)
	for _, url := range rec.urls() {
		if !slices.ContainsFunc(declared, func(f engine.Fetch) bool { return urlMatches(f.URL, url) }) {
			problems = append(problems, Problem{Route: before.Route, Path: path,
				What: "the render fetched " + url + ", which no declaration lists",
				Fix:  "add it to the Fetches of the layout or page that makes it, {param} for its params"})
		}
	}
	return problems
}

// explainReason turns a reason a render added to a route's policy into
// what the render did and the declaration to add. Reasons are the engine's
// (Policy.Reasons).
func explainReason(r string) (what, fix string) {
	if rest, ok := strings.CutPrefix(r, "dynamic because "); ok {
		if seg, api, ok := strings.Cut(rest, " reads "); ok {
			return seg + " reads " + api, "add regen." + apiName(api) + " to the Uses of " + seg
		}
		if seg, f, ok := strings.Cut(rest, " fetches "); ok {
			return seg + " fetches " + f, "list the fetch in the Fetches of " + seg + ", with its cache mode or revalidate"
		}
	}
	if rest, ok := strings.CutPrefix(r, "revalidate "); ok {
		if n, f, ok := strings.Cut(rest, " from fetch "); ok {
			url, seg, _ := strings.Cut(f, " in ")
			return "the render fetched " + url + " with revalidate " + n + ", lowering the route's",
				"list the fetch in the Fetches of " + seg + " with Revalidate: regen.Seconds(" + n + ")"
		}
	}
	return "the render made the route's policy " + r, "declare what the render does"
}

// apiName is the Go name of a dynamic API as reasons write it: cookies
// is regen.Cookies.
func apiName(api string) string {
	if api == "" {
		return api
	}
	return strings.ToUpper(api[:1]) + api[1:]
}

var placeholder = regexp.MustCompile(`\\\{[^{}]+\}`)

// urlMatches reports whether url is an instance of the declared pattern,
// whose {param} placeholders stand for any non-empty text.
func urlMatches(pattern, url string) bool {
	if pattern == url {
		return true
	}
	re := "^" + placeholder.ReplaceAllString(regexp.QuoteMeta(pattern), ".+") + "$"
	ok, err := regexp.MatchString(re, url)
	return err == nil && ok
}

// fetchRecorder records the URLs of the fetches that reach the origin and
// answers them with next, or 200 "{}".
type fetchRecorder struct {
	next fetchcache.Fetcher

	mu   sync.Mutex
	seen []string
}

func (r *fetchRecorder) Fetch(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	r.mu.Lock()
	if !slices.Contains(r.seen, req.URL) {
		r.seen = append(r.seen, req.URL)
	}
	r.mu.Unlock()
	if r.next == nil {
		return &fetchcache.Response{Status: 200, Body: []byte("{}")}, nil
	}
	return r.next.Fetch(ctx, req)
}

func (r *fetchRecorder) urls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}
