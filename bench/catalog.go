package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/sitespec"
)

// catalog is what a run knows of the site before it starts: the requested
// paths in popularity order, what a render of each costs, and the data URLs
// each fetches with their tags. It is found by rendering every path once on
// the real engine (discover). It is read-only once built.
type catalog struct {
	site    *sitespec.Spec
	latency time.Duration

	paths    []string
	cpu      []time.Duration // per path: the render's cost
	calls    []int           // per path: the fetches of an uncached render
	pageURLs [][]int32       // per path: the URLs its render fetches

	urls     []string
	urlIndex map[string]int32
	urlTags  [][]string // per URL: its tags, placeholders filled in
	urlPaths [][]int32  // per URL: the paths that fetch it
	tagURLs  map[string]int
	targets  []int32 // the URLs content changes pick from

	replay *replayPlan // the requests of a replayed log, or nil
}

// regenCost estimates a regeneration of path i: its render cost plus the
// origin's latency for each of its fetches (an upper bound: fresh data is
// not fetched again).
func (c *catalog) regenCost(i int) (wait, cpu time.Duration) {
	return time.Duration(c.calls[i]) * c.latency, c.cpu[i]
}

// webhookTags are the tags a CMS webhook revalidates when URL u changes:
// its narrowest tags, those carried by the fewest URLs ("product-shoe"
// rather than "products"). Nil when u has no tags.
func (c *catalog) webhookTags(u int32) []string {
	best := 0
	var out []string
	for _, t := range c.urlTags[u] {
		n := c.tagURLs[t]
		switch {
		case best == 0 || n < best:
			best, out = n, []string{t}
		case n == best:
			out = append(out, t)
		}
	}
	return out
}

// quiet is the logger of bench's engines: failures are counted, not logged.
var quiet = slog.New(slog.DiscardHandler)

// noSleep is the Sleep of renders that must not take time.
func noSleep(context.Context, time.Duration) error { return nil }

// discover renders every path of the workload once, uncached, on a
// synthetic origin that answers at once, and records what each render
// fetched and cost.
func discover(ctx context.Context, w *Workload) (*catalog, error) {
	c := &catalog{site: w.Site, latency: w.Site.Origin.Latency, urlIndex: map[string]int32{}, tagURLs: map[string]int{}}

	paths := w.Traffic.Paths
	if len(paths) == 0 {
		var err error
		if paths, err = sitePaths(w); err != nil {
			return nil, err
		}
		if len(paths) == 0 {
			return nil, w.errorf("traffic.paths", "none given, and site %s prerenders none: it has no page, or only dynamic segments without static params (list some paths)", w.SiteFile)
		}
	}
	c.paths = slices.Clone(paths)

	var cpu time.Duration
	var fetched []fetchcache.Request
	// Without its holes: they render per request, apart from the shell
	// whose cost and fetches are the path's (and concurrently, which the
	// counting below is not made for). SSR would fold them in.
	noHoles := cloneSpec(w.Site)
	dropHoles(noHoles)
	spec := Strategy{Kind: SSR}.apply(noHoles)
	origin := w.newOrigin(0, nil)
	record := fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
		fetched = append(fetched, fetchcache.Request{URL: req.URL, Tags: slices.Clone(req.Tags)})
		return origin.Fetch(ctx, req)
	})
	site, err := w.build(spec, func(_ context.Context, d time.Duration) error { cpu += d; return nil }, origin, true)
	if err != nil {
		return nil, err
	}
	e, err := engine.New(site, engine.Options{Fetcher: record, Logger: quiet, Scheduler: regen.SchedulerFunc(func(f func()) { f() })})
	if err != nil {
		return nil, fmt.Errorf("bench: site %s: %w", w.SiteFile, err)
	}
	defer e.Close()
	rw := newWriter()
	for i, p := range c.paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cpu, fetched = 0, fetched[:0]
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://bench.invalid"+p, nil)
		if err != nil {
			return nil, fmt.Errorf("bench: path %q: %w", p, err)
		}
		rw.reset()
		e.ServeHTTP(rw, req)
		if g, ok := origin.(*goOrigin); ok && g.failure() != nil {
			return nil, g.failure()
		}
		if rw.code != http.StatusOK {
			if len(w.Traffic.Paths) > 0 {
				return nil, w.errorf(fmt.Sprintf("traffic.paths[%d]", i), "%q answers %d %s (every requested path must render)", p, rw.code, http.StatusText(rw.code))
			}
			return nil, fmt.Errorf("bench: site %s: path %q answers %d %s (every requested path must render)", w.SiteFile, p, rw.code, http.StatusText(rw.code))
		}
		c.cpu = append(c.cpu, cpu)
		c.calls = append(c.calls, len(fetched))
		var urls []int32
		for _, f := range fetched {
			u, ok := c.urlIndex[f.URL]
			if !ok {
				u = int32(len(c.urls))
				c.urlIndex[f.URL] = u
				c.urls = append(c.urls, f.URL)
				c.urlTags = append(c.urlTags, f.Tags)
				c.urlPaths = append(c.urlPaths, nil)
				for _, t := range f.Tags {
					c.tagURLs[t]++
				}
			}
			if !slices.Contains(urls, u) {
				urls = append(urls, u)
				c.urlPaths[u] = append(c.urlPaths[u], int32(i))
			}
		}
		// The page must show what it fetched, or staleness cannot be read.
		seen := 0
		bad := ""
		scanVersions(rw.body, func(url []byte, _ int64) {
			if _, ok := c.urlIndex[string(url)]; ok {
				seen++
			} else {
				bad = string(url)
			}
		})
		if bad != "" || seen < len(urls) {
			return nil, fmt.Errorf("bench: path %q: its page does not show the versions of the data it fetched (%d of %d; %q)", p, seen, len(urls), bad)
		}
		c.pageURLs = append(c.pageURLs, urls)
	}
	var pages []int32 // indexes in c.paths of the changes' pages
	var errs []error
	for k, p := range w.Changes.Pages {
		i := slices.Index(c.paths, p)
		if i < 0 {
			errs = append(errs, w.errorf(fmt.Sprintf("changes.pages[%d]", k), "%q is not a requested path (list it in traffic.paths)", p))
		}
		pages = append(pages, int32(i))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	all := len(w.Changes.Tags) == 0 && len(pages) == 0
	for u := range c.urls {
		if all || hasAny(c.urlTags[u], w.Changes.Tags) || slices.ContainsFunc(c.urlPaths[u], func(i int32) bool { return slices.Contains(pages, i) }) {
			c.targets = append(c.targets, int32(u))
		}
	}
	if w.Changes.PerHour > 0 && len(c.targets) == 0 {
		field := "changes.tags"
		if len(w.Changes.Tags) == 0 {
			field = "changes.pages"
		}
		return nil, w.errorf(field, "tags %q and pages %q select no data the site fetches (name a tag its fetches carry, or a page that fetches)", w.Changes.Tags, w.Changes.Pages)
	}
	return c, nil
}

func hasAny(have, want []string) bool {
	for _, t := range want {
		if slices.Contains(have, t) {
			return true
		}
	}
	return false
}

// sitePaths returns every path the site prerenders when all its pages are
// static, except per-user pages (those that read cookies, headers or search
// params, or lie below a layout that does) and route handlers (a sitemap or
// a feed is fetched by crawlers and readers, rarely next to page views),
// ranked by depth, then in an order drawn from the seed: "/" first.
func sitePaths(w *Workload) ([]string, error) {
	spec := cloneSpec(w.Site)
	for i := range spec.Segments {
		if p := spec.Segments[i].Page; p != nil {
			p.Dynamic = regen.ForceStatic
			p.Revalidate = regen.Forever
		}
		if l := spec.Segments[i].Layout; l != nil {
			l.Dynamic, l.Revalidate = regen.DynamicNotDeclared, regen.NotDeclared
		}
		for _, f := range fetchesOf(&spec.Segments[i]) {
			f.Revalidate, f.Cache = regen.NotDeclared, regen.CacheDefault
		}
	}
	built := spec.Build(sitespec.Options{Sleep: noSleep})
	e, err := engine.New(built.Site, engine.Options{Logger: quiet})
	if err != nil {
		return nil, fmt.Errorf("bench: site %s: %w", w.SiteFile, err)
	}
	defer e.Close()
	skip := perUserSegments(w.Site) // "page:"+pattern of the routes not requested
	for _, seg := range w.Site.Segments {
		if seg.Handler != nil {
			skip["page:"+seg.Pattern] = true
		}
	}
	var paths []string
	for _, p := range e.Paths() {
		if pattern, _, ok := e.Match(p); ok && !skip["page:"+pattern] {
			paths = append(paths, p)
		}
	}
	rng := rand.New(rand.NewPCG(w.Seed, 0x70a7))
	keys := make(map[string]uint64, len(paths))
	for _, p := range paths { // sorted: the draws do not depend on map order
		keys[p] = rng.Uint64()
	}
	slices.SortStableFunc(paths, func(a, b string) int {
		if da, db := depth(a), depth(b); da != db {
			return da - db
		}
		switch ka, kb := keys[a], keys[b]; {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return strings.Compare(a, b)
	})
	return paths, nil
}

func fetchesOf(seg *sitespec.Segment) []*sitespec.Fetch {
	var out []*sitespec.Fetch
	if seg.Layout != nil {
		for i := range seg.Layout.Fetches {
			out = append(out, &seg.Layout.Fetches[i])
		}
	}
	if seg.Page != nil {
		for i := range seg.Page.Fetches {
			out = append(out, &seg.Page.Fetches[i])
		}
	}
	if seg.Handler != nil {
		for i := range seg.Handler.Fetches {
			out = append(out, &seg.Handler.Fetches[i])
		}
	}
	return out
}

func depth(p string) int { return strings.Count(strings.TrimSuffix(p, "/"), "/") }

var urlOpen = []byte(`{"url":"`)

// scanVersions calls f with each fetch a synthetic page shows: the URL and
// version of each {"url":...,"version":N} body in it.
func scanVersions(body []byte, f func(url []byte, version int64)) {
	for {
		i := bytes.Index(body, urlOpen)
		if i < 0 {
			return
		}
		body = body[i+len(urlOpen):]
		j := bytes.IndexByte(body, '"')
		for j > 0 && body[j-1] == '\\' { // an escaped quote: look further
			k := bytes.IndexByte(body[j+1:], '"')
			if k < 0 {
				return
			}
			j += 1 + k
		}
		if j < 0 {
			return
		}
		url := body[:j]
		rest := body[j+1:]
		const ver = `,"version":`
		if !bytes.HasPrefix(rest, []byte(ver)) {
			continue
		}
		rest = rest[len(ver):]
		k := 0
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			k++
		}
		v, err := strconv.ParseInt(string(rest[:k]), 10, 64)
		if err != nil {
			continue
		}
		if bytes.IndexByte(url, '\\') >= 0 {
			var s string
			if json.Unmarshal(append(append([]byte{'"'}, url...), '"'), &s) == nil {
				url = []byte(s)
			}
		}
		f(url, v)
		body = rest[k:]
	}
}

// writer is a minimal, reused http.ResponseWriter: it keeps the status, the
// header map and the body slice the engine writes (not a copy). It is not
// safe for concurrent use.
type writer struct {
	h    http.Header
	code int
	body []byte
}

func newWriter() *writer { return &writer{h: make(http.Header, 8)} }

func (w *writer) reset() {
	w.code, w.body = 0, nil
	delete(w.h, "X-Cache-Status")
}

func (w *writer) Header() http.Header { return w.h }

func (w *writer) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *writer) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.body == nil {
		w.body = p
	} else {
		w.body = append(slices.Clip(w.body), p...)
	}
	return len(p), nil
}

// Flush does nothing: the body is kept whole. The engine flushes a partial
// route's response before each hole.
func (w *writer) Flush() {}

// status reads the engine's X-Cache-Status.
func (w *writer) status() regen.Status {
	v := w.h["X-Cache-Status"]
	if len(v) == 0 {
		return 0
	}
	switch v[0] {
	case "HIT":
		return regen.Hit
	case "STALE":
		return regen.Stale
	case "MISS":
		return regen.Miss
	case "BYPASS":
		return regen.Bypass
	}
	return 0
}

var _ io.Writer = (*writer)(nil)
