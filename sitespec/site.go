package sitespec

import (
	"bytes"
	"context"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/internal/clock"
	"github.com/regen-dev/regen/render"
)

// Options configure Build and Register. The zero value means all defaults.
type Options struct {
	// Sleep waits out the origin's latency and each render's cost. If nil,
	// a timer that honors ctx is used. A simulation passes one that runs on
	// virtual time; unit tests may pass one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Client makes the requests for absolute fetch URLs. If nil,
	// http.DefaultClient is used.
	Client *http.Client
}

// Built is what Build makes of a spec: a site to pass to engine.New, and the
// origin and fetcher its renders' fetches go to (pass Fetcher to the engine's
// Data Cache).
type Built struct {
	Site    *engine.Site
	Origin  *Origin
	Fetcher fetchcache.Fetcher
}

// Build registers the spec's segments with a new engine.Site and makes its
// synthetic origin (with the spec's latency) and a Fetcher over it. The
// site's route tree is checked by engine.New.
func (s *Spec) Build(opts Options) *Built {
	site := new(engine.Site)
	s.Register(site, opts)
	origin := &Origin{Latency: s.Origin.Latency, Sleep: opts.Sleep}
	return &Built{
		Site:    site,
		Origin:  origin,
		Fetcher: &Fetcher{Origin: origin, Client: opts.Client},
	}
}

// Registrar takes layouts, pages and route handlers at patterns;
// *engine.Site is one.
type Registrar interface {
	Layout(pattern string, l engine.Layout)
	Page(pattern string, p engine.Page)
	Handler(pattern string, h engine.Handler)
}

var _ Registrar = (*engine.Site)(nil)

// Register registers each segment of the spec with r, in the spec's order,
// layout before page: its config, its declarations (Uses, and Fetches with
// their {param} placeholders left in) and a synthetic renderer.
//
// A synthetic render reads each declared dynamic API through its
// render.Scope, makes each declared fetch in order through Scope.Fetch with
// the placeholders of its URL and tags filled in from the path's params,
// waits out its cost through opts.Sleep, and writes its HTML. A fetch that
// fails or answers a non-2xx status fails the render.
//
// A layout writes
//
//	<div data-layout="/shop">
//	<pre data-fetch="/api/nav">{"url":"/api/nav","version":1}</pre>
//	(its child)
//	</div>
//
// and a page
//
//	<main data-page="/products/[slug]">
//	<p data-param="slug">shoe</p>
//	<pre data-fetch="/api/products/shoe">{"url":"/api/products/shoe","version":1}</pre>
//	</main>
//
// with params sorted by name, and &, < and > escaped in param values and
// fetch bodies.
//
// Before its fetches, a layout or page writes the values of the request
// APIs it declares in Uses, in the order of Uses, one element per value, so
// that what a per-request render read shows in its output:
//
//	<p data-cookie="session">ada</p>
//	<p data-header="Accept-Language">fr</p>
//	<p data-search="q">hat</p>
//
// cookies by name (a name given twice in request order), headers by
// canonical name and search params by name, each name's values in request
// order; names are escaped as attributes, values as param values are.
// Nothing is written for an API that reads empty (a prerender, force-static).
//
// A handler writes the bodies of its fetches as they are, one after the
// other, each ending in a newline, with no HTML around them; its
// ContentType is the response's. It reads its Uses but does not write them.
//
// A page then sets its Headers (render.Scope.SetHeader), answers not found
// (render.ErrNotFound) when the path's params are one of its NotFound, and
// otherwise, when it has a Redirect, redirects there (render.Redirect, 308
// when Permanent) with the placeholders filled in as FillURL does.
//
// The spec's own cache profiles are registered first, when r has a
// CacheLife method as engine.Site does; a synthetic fetch with a cacheLife
// is made with the profile (fetchcache.Request.CacheLife).
func (s *Spec) Register(r Registrar, opts Options) {
	if lr, ok := r.(interface {
		CacheLife(name string, life regen.CacheLife)
	}); ok {
		for _, name := range slices.Sorted(maps.Keys(s.CacheLife)) {
			lr.CacheLife(name, s.CacheLife[name])
		}
	}
	for _, seg := range s.Segments {
		if l := seg.Layout; l != nil {
			sy := synthetic{pattern: seg.Pattern, lives: s.CacheLife, uses: l.Uses, cost: l.Cost, fetches: l.Fetches, sleep: opts.Sleep, holes: holeNames(l.Holes)}
			r.Layout(seg.Pattern, engine.Layout{
				Holes:            engineHoles(seg.Pattern, l.Holes, opts),
				Revalidate:       l.Revalidate,
				CacheLife:        l.CacheLife,
				Dynamic:          l.Dynamic,
				Render:           render.LayoutFunc(sy.layout),
				Uses:             slices.Clone(l.Uses),
				Fetches:          engineFetches(l.Fetches),
				StaticParamsOnly: l.DynamicParams != nil && !*l.DynamicParams,
			})
		}
		if p := seg.Page; p != nil {
			sy := synthetic{pattern: seg.Pattern, lives: s.CacheLife, uses: p.Uses, cost: p.Cost, fetches: p.Fetches, sleep: opts.Sleep,
				notFound: cloneParams(p.NotFound), redirect: p.Redirect, permanent: p.Permanent, headers: sortedHeaders(p.Headers),
				holes: holeNames(p.Holes)}
			r.Page(seg.Pattern, engine.Page{
				Holes:            engineHoles(seg.Pattern, p.Holes, opts),
				Revalidate:       p.Revalidate,
				CacheLife:        p.CacheLife,
				Dynamic:          p.Dynamic,
				Render:           render.PageFunc(sy.page),
				StaticParams:     cloneParams(p.StaticParams),
				StaticParamsOnly: p.DynamicParams != nil && !*p.DynamicParams,
				Uses:             slices.Clone(p.Uses),
				Fetches:          engineFetches(p.Fetches),
			})
		}
		if h := seg.Handler; h != nil {
			sy := synthetic{pattern: seg.Pattern, lives: s.CacheLife, uses: h.Uses, cost: h.Cost, fetches: h.Fetches, sleep: opts.Sleep}
			r.Handler(seg.Pattern, engine.Handler{
				Revalidate:       h.Revalidate,
				CacheLife:        h.CacheLife,
				Dynamic:          h.Dynamic,
				Render:           render.PageFunc(sy.handler),
				ContentType:      h.ContentType,
				StaticParams:     cloneParams(h.StaticParams),
				StaticParamsOnly: h.DynamicParams != nil && !*h.DynamicParams,
				Uses:             slices.Clone(h.Uses),
				Fetches:          engineFetches(h.Fetches),
			})
		}
	}
}

// engineHoles returns the engine's holes of a segment's spec holes, each
// rendered by a synthetic render of its own.
func engineHoles(pattern string, hs []Hole, opts Options) []engine.Hole {
	if len(hs) == 0 {
		return nil
	}
	out := make([]engine.Hole, len(hs))
	for i, h := range hs {
		sy := synthetic{pattern: pattern, uses: h.Uses, cost: h.Cost, fetches: h.Fetches, sleep: opts.Sleep}
		name := h.Name
		out[i] = engine.Hole{
			Name:    h.Name,
			Uses:    slices.Clone(h.Uses),
			Fetches: engineFetches(h.Fetches),
			Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
				return sy.hole(ctx, s, w, name)
			}),
		}
	}
	return out
}

func holeNames(hs []Hole) []string {
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
	}
	return names
}

func engineFetches(fs []Fetch) []engine.Fetch {
	if len(fs) == 0 {
		return nil
	}
	out := make([]engine.Fetch, len(fs))
	for i, f := range fs {
		out[i] = engine.Fetch{
			URL:        f.URL,
			Revalidate: f.Revalidate,
			CacheLife:  f.CacheLife,
			Cache:      f.Cache,
			Tags:       slices.Clone(f.Tags),
		}
	}
	return out
}

func cloneParams(ps []render.Params) []render.Params {
	if len(ps) == 0 {
		return nil
	}
	out := make([]render.Params, len(ps))
	for i, p := range ps {
		out[i] = make(render.Params, len(p))
		for k, v := range p {
			out[i][k] = v
		}
	}
	return out
}

// synthetic is the renderer of one layout or page. Its fields are copies
// taken at registration and never change.
type synthetic struct {
	pattern string
	uses    []regen.API
	cost    time.Duration
	fetches []Fetch
	sleep   func(context.Context, time.Duration) error

	// A page's response: see Page.
	notFound  []render.Params
	redirect  string
	permanent bool
	headers   [][2]string // sorted by name

	holes []string // the holes the segment places, in order

	lives map[string]regen.CacheLife // the spec's cache profiles
}

func sortedHeaders(h map[string]string) [][2]string {
	var out [][2]string
	for k, v := range h {
		out = append(out, [2]string{k, v})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

func (sy synthetic) layout(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
	var b bytes.Buffer
	b.WriteString(`<div data-layout="` + html.EscapeString(sy.pattern) + `">` + "\n")
	if err := sy.run(ctx, s, &b); err != nil {
		return err
	}
	for _, h := range sy.holes {
		s.Hole(&b, h)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	if err := child.Render(ctx, w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</div>\n")
	return err
}

// hole renders the hole name: its reads and fetches, as a segment writes
// them, in <div data-hole="NAME">.
func (sy synthetic) hole(ctx context.Context, s *render.Scope, w io.Writer, name string) error {
	var b bytes.Buffer
	b.WriteString(`<div data-hole="` + html.EscapeString(name) + `">` + "\n")
	if err := sy.run(ctx, s, &b); err != nil {
		return err
	}
	b.WriteString("</div>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func (sy synthetic) page(ctx context.Context, s *render.Scope, w io.Writer) error {
	var b bytes.Buffer
	b.WriteString(`<main data-page="` + html.EscapeString(sy.pattern) + `">` + "\n")
	params := s.Params()
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		b.WriteString(`<p data-param="` + html.EscapeString(k) + `">` + textEscaper.Replace(params[k]) + "</p>\n")
	}
	if err := sy.run(ctx, s, &b); err != nil {
		return err
	}
	for _, h := range sy.headers {
		s.SetHeader(h[0], h[1])
	}
	for _, p := range sy.notFound {
		if maps.Equal(p, params) {
			return render.ErrNotFound
		}
	}
	if sy.redirect != "" {
		return render.Redirect(FillURL(sy.redirect, params), sy.permanent)
	}
	for _, h := range sy.holes {
		s.Hole(&b, h)
	}
	b.WriteString("</main>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func (sy synthetic) handler(ctx context.Context, s *render.Scope, w io.Writer) error {
	var b bytes.Buffer
	if err := sy.fetch(ctx, s, &b, true); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// run reads the declared dynamic APIs, makes the declared fetches, writing
// their bodies to b, and spends the cost.
func (sy synthetic) run(ctx context.Context, s *render.Scope, b *bytes.Buffer) error {
	return sy.fetch(ctx, s, b, false)
}

// fetch is run: the bodies are written raw, each ending in a newline, or
// in HTML after the values of the request APIs read.
func (sy synthetic) fetch(ctx context.Context, s *render.Scope, b *bytes.Buffer, raw bool) error {
	for _, a := range sy.uses {
		var attr string
		var values [][2]string // name, value: in the order written
		switch a {
		case regen.Cookies:
			attr = "data-cookie"
			cs := s.Cookies()
			slices.SortStableFunc(cs, func(x, y *http.Cookie) int { return strings.Compare(x.Name, y.Name) })
			for _, c := range cs {
				values = append(values, [2]string{c.Name, c.Value})
			}
		case regen.Headers:
			attr, values = "data-header", sortedValues(s.Headers())
		case regen.SearchParams:
			attr, values = "data-search", sortedValues(s.SearchParams())
		}
		if raw {
			continue
		}
		for _, v := range values {
			b.WriteString(`<p ` + attr + `="` + html.EscapeString(v[0]) + `">` + textEscaper.Replace(v[1]) + "</p>\n")
		}
	}
	params := s.Params()
	for _, f := range sy.fetches {
		req := &fetchcache.Request{
			URL:        FillURL(f.URL, params),
			Revalidate: f.Revalidate,
			Cache:      f.Cache,
		}
		if f.CacheLife != "" {
			req.CacheLife, _ = regen.LookupCacheLife(f.CacheLife, sy.lives) // Parse checked the name
		}
		if len(f.Tags) > 0 {
			req.Tags = make([]string, len(f.Tags))
			for i, t := range f.Tags {
				req.Tags[i] = substitute(t, params, identity)
			}
		}
		resp, err := s.Fetch(ctx, req)
		if err != nil {
			return err
		}
		if resp.Status < 200 || resp.Status > 299 {
			return &fetchcache.StatusError{URL: req.URL, Status: resp.Status}
		}
		if raw {
			b.Write(resp.Body)
			if !bytes.HasSuffix(resp.Body, []byte("\n")) {
				b.WriteByte('\n')
			}
			continue
		}
		b.WriteString(`<pre data-fetch="` + html.EscapeString(req.URL) + `">`)
		textEscaper.WriteString(b, string(resp.Body))
		b.WriteString("</pre>\n")
	}
	return clock.SleepVia(ctx, sy.sleep, sy.cost)
}

// sortedValues returns the values of m (request headers, whose names are
// canonical, or a query), by name, then in the order given.
func sortedValues(m map[string][]string) [][2]string {
	var out [][2]string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		for _, v := range m[k] {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// textEscaper escapes text content: the synthetic origin's JSON bodies have
// none of these characters and show as they are.
var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func identity(s string) string { return s }

// FillURL fills in the {param} placeholders of a fetch URL as a spec's
// synthetic renders do: path-escaped before the query (each part of a
// catch-all on its own), query-escaped in it.
func FillURL(u string, params render.Params) string {
	path, query, hasQuery := strings.Cut(u, "?")
	path = substitute(path, params, escapePath)
	if !hasQuery {
		return path
	}
	return path + "?" + substitute(query, params, url.QueryEscape)
}

func escapePath(v string) string {
	parts := strings.Split(v, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
