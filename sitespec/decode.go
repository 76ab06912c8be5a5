package sitespec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"gopkg.in/yaml.v3"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/internal/yamlmsg"
	"github.com/regen-dev/regen/render"
)

// Parse parses a spec written in YAML or JSON. filename names the data in
// errors. Parse reports every problem it finds, joined with errors.Join, each
// an *Error; it returns a nil Spec when there is any.
//
// Parse does not check the route tree as a whole (conflicting patterns, a
// catch-all that is not last, a param named twice on one path): engine.New
// reports those for the site Build registers.
func Parse(filename string, data []byte) (*Spec, error) {
	d := &decoder{file: filename, reported: map[string]bool{}}
	var spec *Spec
	if root := d.document(data); root != nil {
		spec = d.spec(root)
	}
	if len(d.errs) > 0 {
		// In file order; problems found through merge keys and aliases
		// would come out of it otherwise.
		slices.SortStableFunc(d.errs, func(a, b error) int {
			return a.(*Error).Line - b.(*Error).Line
		})
		return nil, errors.Join(d.errs...)
	}
	return spec, nil
}

// maxNodes bounds the nodes of a document with its aliases expanded, so that
// a few lines of nested aliases cannot make Parse walk billions of nodes.
const maxNodes = 1_000_000

// maxSeconds is the largest revalidate: the longest time.Duration.
const maxSeconds = int64(math.MaxInt64 / int64(time.Second))

const mustRevalidate = "must be false, 0 or a positive number of seconds"

var (
	specFields    = []string{"name", "origin", "cacheLife", "segments"}
	lifeFields    = []string{"stale", "revalidate", "expire"}
	originFields  = []string{"latency"}
	segmentFields = []string{"layout", "page", "handler"}
	layoutFields  = []string{"revalidate", "cacheLife", "dynamic", "uses", "cost", "fetches", "dynamicParams", "holes"}
	pageFields    = []string{"revalidate", "cacheLife", "dynamic", "uses", "cost", "fetches", "dynamicParams", "staticParams",
		"notFound", "redirect", "permanent", "headers", "holes"}
	handlerFields = []string{"revalidate", "cacheLife", "dynamic", "uses", "cost", "fetches", "dynamicParams", "staticParams",
		"contentType"}
	holeFields  = []string{"name", "uses", "cost", "fetches"}
	fetchFields = []string{"url", "revalidate", "cacheLife", "tags", "cache"}
)

// decoder walks a YAML node tree into a Spec, gathering every problem.
// It is not safe for concurrent use.
type decoder struct {
	file     string
	errs     []error         // each an *Error
	reported map[string]bool // messages already in errs: an aliased node's problem is reported once
	lifeRefs []lifeRef       // the cacheLife names used, checked once the spec's profiles are known
}

// lifeRef is a cacheLife name a segment or fetch uses.
type lifeRef struct {
	name string
	n    *yaml.Node
	l    loc
}

// loc is where a node sits in the spec: its segment and its field path.
type loc struct {
	seg   string
	field string
}

func (l loc) dot(name string) loc {
	if l.field == "" {
		return loc{l.seg, name}
	}
	return loc{l.seg, l.field + "." + name}
}

func (l loc) index(i int) loc { return loc{l.seg, l.field + "[" + strconv.Itoa(i) + "]"} }

func (d *decoder) fail(n *yaml.Node, l loc, err error) {
	e := &Error{File: d.file, Segment: l.seg, Field: l.field, Err: err}
	if n != nil {
		e.Line = n.Line
	}
	msg := e.Error()
	if d.reported[msg] {
		return
	}
	d.reported[msg] = true
	d.errs = append(d.errs, e)
}

func (d *decoder) failf(n *yaml.Node, l loc, format string, args ...any) {
	d.fail(n, l, fmt.Errorf(format, args...))
}

// ruleError is a message that matches a sentinel with errors.Is without
// repeating its text.
type ruleError struct {
	msg  string
	rule error
}

func (e *ruleError) Error() string { return e.msg }
func (e *ruleError) Unwrap() error { return e.rule }

func tagErrorf(format string, args ...any) error {
	return &ruleError{fmt.Sprintf(format, args...), regen.ErrTag}
}

// document parses data into its root node, or reports why it cannot.
func (d *decoder) document(data []byte) (root *yaml.Node) {
	defer func() {
		// yaml.v3 turns its own failures into errors; this catches a bug
		// in it, so that Parse never panics.
		if r := recover(); r != nil {
			d.fail(nil, loc{}, fmt.Errorf("not valid YAML or JSON: the YAML parser failed: %v", r))
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.fail(nil, loc{}, errors.New("empty spec (a spec needs segments)"))
		} else {
			d.syntax(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		at := &next
		if len(next.Content) > 0 {
			at = next.Content[0]
		}
		d.fail(at, loc{}, errors.New("a second YAML document (a spec is one document: remove the ---)"))
	case !errors.Is(err, io.EOF):
		d.syntax(err)
		return nil
	}
	if len(doc.Content) == 0 {
		d.fail(nil, loc{}, errors.New("empty spec (a spec needs segments)"))
		return nil
	}
	root = doc.Content[0]
	if expandedSize(root, map[*yaml.Node]int{}) > maxNodes {
		d.failf(root, loc{}, "aliases expand to more than %d nodes, or into themselves (write the spec out)", maxNodes)
		return nil
	}
	return root
}

func (d *decoder) syntax(err error) {
	line, msg := yamlmsg.Syntax(err)
	if strings.HasPrefix(msg, "did not find expected ',' or") {
		// The likeliest cause in a spec: {param} in a flow collection.
		msg += ` (inside [...] and {...}, quote values holding {param}: "/api/{slug}")`
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Err: fmt.Errorf("not valid YAML or JSON: %s", msg)})
}

// expandedSize returns the number of nodes under n with aliases expanded,
// saturating past maxNodes. An alias inside its own anchor counts as too
// many.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int) int {
	if v, ok := memo[n]; ok {
		if v < 0 {
			return maxNodes + 1
		}
		return v
	}
	memo[n] = -1
	size := 1
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		size += expandedSize(n.Alias, memo)
	}
	for _, c := range n.Content {
		if size > maxNodes {
			break
		}
		size += expandedSize(c, memo)
	}
	size = min(size, maxNodes+1)
	memo[n] = size
	return size
}

// field is one key-value pair of a mapping; val is resolved.
type field struct {
	name     string
	key, val *yaml.Node
}

// fields returns the pairs of mapping n in order, with merge keys (<<)
// applied: explicit keys first, then merged ones not given explicitly. It
// reports keys that are not scalars and keys given twice, through dup when
// not nil.
func (d *decoder) fields(n *yaml.Node, l loc, dup func(f field, first *yaml.Node)) []field {
	var out []field
	first := map[string]*yaml.Node{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := yamlmsg.Resolve(n.Content[i]), yamlmsg.Resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.failf(k, l, "%s as a key (keys are names)", yamlmsg.Describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		f := field{k.Value, k, v}
		if prev, ok := first[f.name]; ok {
			if dup != nil {
				dup(f, prev)
			} else {
				d.failf(k, l.dot(f.name), "given twice (first at line %d; remove one)", prev.Line)
			}
			continue
		}
		first[f.name] = k
		out = append(out, f)
	}
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = srcs[:0]
			for _, c := range m.Content {
				srcs = append(srcs, yamlmsg.Resolve(c))
			}
		}
		for _, src := range srcs {
			if src.Kind != yaml.MappingNode {
				d.failf(src, l.dot("<<"), "%s is not a mapping (merge a mapping, or a list of mappings)", yamlmsg.Describe(src))
				continue
			}
			for _, f := range d.fields(src, l, dup) {
				if _, ok := first[f.name]; ok {
					continue
				}
				first[f.name] = f.key
				out = append(out, f)
			}
		}
	}
	return out
}

// unknown reports a field that is not in known.
func (d *decoder) unknown(f field, l loc, known []string, what string) {
	if s := yamlmsg.Suggest(f.name, known); s != "" {
		d.failf(f.key, l.dot(f.name), "unknown field (did you mean %s?)", s)
		return
	}
	d.failf(f.key, l.dot(f.name), "unknown field (%s has %s)", what, yamlmsg.AndList(known))
}

// mapping reports whether n is a mapping to walk. An empty value is an empty
// mapping when emptyOK; anything else is reported with want.
func (d *decoder) mapping(n *yaml.Node, l loc, emptyOK bool, want string) bool {
	switch {
	case n.Kind == yaml.MappingNode:
		return true
	case emptyOK && yamlmsg.IsNull(n):
		return false
	}
	d.failf(n, l, "%s is not %s", yamlmsg.Describe(n), want)
	return false
}

// text returns the text of a scalar, reporting anything else with want.
func (d *decoder) text(n *yaml.Node, l loc, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || yamlmsg.IsNull(n) {
		d.failf(n, l, "%s is not %s", yamlmsg.Describe(n), want)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) spec(n *yaml.Node) *Spec {
	s := &Spec{}
	n = yamlmsg.Resolve(n)
	if !d.mapping(n, loc{}, false, "a spec (a spec is a mapping with name, origin and segments)") {
		return s
	}
	var hasSegments, unknown bool
	for _, f := range d.fields(n, loc{}, nil) {
		l := loc{field: f.name}
		switch f.name {
		case "name":
			s.Name, _ = d.text(f.val, l, "a name (give the site's name, like name: shop)")
		case "origin":
			s.Origin = d.origin(f.val, l)
		case "segments":
			hasSegments = true
			s.Segments = d.segments(f.val, l)
		case "cacheLife":
			s.CacheLife = d.cacheLives(f.val, l)
		default:
			unknown = true
			d.unknown(f, loc{}, specFields, "a spec")
		}
	}
	d.checkLifeRefs(s.CacheLife)
	if !hasSegments && !unknown {
		d.fail(n, loc{}, errors.New("no segments (a spec needs segments: a mapping of patterns to layouts and pages)"))
	}
	return s
}

func (d *decoder) origin(n *yaml.Node, l loc) OriginConfig {
	var o OriginConfig
	if !d.mapping(n, l, true, "an origin (write origin: {latency: 30ms})") {
		return o
	}
	for _, f := range d.fields(n, l, nil) {
		switch f.name {
		case "latency":
			o.Latency = d.duration(f.val, l.dot(f.name))
		default:
			d.unknown(f, l, originFields, "origin")
		}
	}
	return o
}

func (d *decoder) segments(n *yaml.Node, l loc) []Segment {
	if !d.mapping(n, l, true, "a mapping of patterns to segments (write segments: {/: {page: {}}})") {
		if yamlmsg.IsNull(n) {
			d.fail(n, l, errors.New("empty (a spec needs segments: a mapping of patterns to layouts and pages)"))
		}
		return nil
	}
	dup := func(f field, first *yaml.Node) {
		d.failf(f.key, loc{seg: f.name}, "defined twice (first at line %d; merge them)", first.Line)
	}
	var segs []Segment
	for _, f := range d.fields(n, l, dup) {
		segs = append(segs, d.segment(f))
	}
	if len(segs) == 0 {
		d.fail(n, l, errors.New("empty (a spec needs segments: a mapping of patterns to layouts and pages)"))
	}
	return segs
}

const neither = "has neither layout, page nor handler (add page: {} to route its path, or a layout)"

func (d *decoder) segment(f field) Segment {
	l := loc{seg: f.name}
	seg := Segment{Pattern: f.name}
	if yamlmsg.IsNull(f.val) {
		d.fail(f.key, l, errors.New(neither))
		return seg
	}
	if !d.mapping(f.val, l, false, "a segment (a segment is a mapping with a layout, a page or both)") {
		return seg
	}
	ps := routeParams(f.name)
	var unknown bool
	var page, handler *yaml.Node
	for _, g := range d.fields(f.val, l, nil) {
		switch g.name {
		case "layout":
			p, _ := d.config(g.val, l.dot(g.name), ps, "layout")
			seg.Layout = &Layout{
				Revalidate:    p.Revalidate,
				CacheLife:     p.CacheLife,
				Dynamic:       p.Dynamic,
				Uses:          p.Uses,
				Cost:          p.Cost,
				Fetches:       p.Fetches,
				DynamicParams: p.DynamicParams,
				Holes:         p.Holes,
			}
		case "page":
			page = g.key
			seg.Page, _ = d.config(g.val, l.dot(g.name), ps, "page")
		case "handler":
			handler = g.key
			p, ct := d.config(g.val, l.dot(g.name), ps, "handler")
			seg.Handler = &Handler{
				Revalidate:    p.Revalidate,
				CacheLife:     p.CacheLife,
				Dynamic:       p.Dynamic,
				Uses:          p.Uses,
				Cost:          p.Cost,
				Fetches:       p.Fetches,
				DynamicParams: p.DynamicParams,
				StaticParams:  p.StaticParams,
				ContentType:   ct,
			}
		default:
			unknown = true
			d.unknown(g, l, segmentFields, "a segment")
		}
	}
	if page != nil && handler != nil {
		d.failf(handler, l, "has both page (line %d) and handler (a segment has one or the other: keep page for HTML inside the layouts, or handler for a route handler's own body)", page.Line)
	}
	if seg.Layout == nil && seg.Page == nil && seg.Handler == nil && !unknown {
		d.fail(f.key, l, errors.New(neither))
	}
	return seg
}

// config decodes the config of a "layout", "page" or "handler" (kind),
// and a handler's contentType.
func (d *decoder) config(n *yaml.Node, l loc, ps []param, kind string) (p *Page, contentType string) {
	p = &Page{}
	isPage := kind == "page"
	what, known := "a layout", layoutFields
	switch kind {
	case "page":
		what, known = "a page", pageFields
	case "handler":
		what, known = "a handler", handlerFields
	}
	if !d.mapping(n, l, true, fmt.Sprintf("%s (write %s config as a mapping, or {})", what, l.field)) {
		return p, ""
	}
	var permanent, life field
	for _, f := range d.fields(n, l, nil) {
		fl := l.dot(f.name)
		switch f.name {
		case "revalidate":
			p.Revalidate = d.revalidate(f.val, fl)
		case "cacheLife":
			life = f
			p.CacheLife = d.lifeName(f.val, fl)
		case "dynamic":
			p.Dynamic = d.dynamic(f.val, fl)
		case "uses":
			p.Uses = d.uses(f.val, fl)
		case "cost":
			p.Cost = d.duration(f.val, fl)
		case "fetches":
			p.Fetches = d.fetches(f.val, fl, ps)
		case "dynamicParams":
			p.DynamicParams = d.boolean(f.val, fl)
		case "staticParams":
			if kind == "layout" {
				d.failf(f.key, fl, "only pages and handlers have staticParams (move it to the segment's page)")
				continue
			}
			p.StaticParams = d.staticParams(f.val, fl, ps)
		case "holes":
			if kind == "handler" {
				d.failf(f.key, fl, "a handler has no holes (its body is not HTML inside layouts: give the holes to a page)")
				continue
			}
			p.Holes = d.holes(f.val, fl, ps)
		case "contentType":
			if kind != "handler" {
				d.failf(f.key, fl, "only handlers have contentType (a page is text/html: set headers: {Content-Type: ...} on a page, or make the segment a handler)")
				continue
			}
			contentType = d.contentType(f.val, fl)
		case "notFound", "redirect", "permanent", "headers":
			if kind == "handler" {
				d.unknown(f, l, known, what)
				continue
			}
			if !isPage {
				d.failf(f.key, fl, "only pages have %s (move it to the segment's page)", f.name)
				continue
			}
			switch f.name {
			case "notFound":
				p.NotFound = d.staticParams(f.val, fl, ps)
			case "redirect":
				p.Redirect = d.redirect(f.val, fl, ps)
			case "permanent":
				permanent = f
				if b := d.boolean(f.val, fl); b != nil {
					p.Permanent = *b
				}
			case "headers":
				p.Headers = d.headers(f.val, fl)
			}
		default:
			d.unknown(f, l, known, what)
		}
	}
	if permanent.key != nil && p.Redirect == "" && p.Permanent {
		d.fail(permanent.key, l.dot("permanent"), errors.New("permanent without redirect (add redirect, or remove permanent)"))
	}
	d.lifeConflict(life, p.Revalidate, l)
	return p, contentType
}

// contentType decodes a handler's contentType: a media type such as
// application/rss+xml, with parameters if any.
func (d *decoder) contentType(n *yaml.Node, l loc) string {
	v, ok := d.text(n, l, "a media type (give one like application/rss+xml)")
	if !ok {
		return ""
	}
	if _, _, err := mime.ParseMediaType(v); err != nil || !httpguts.ValidHeaderFieldValue(v) {
		d.failf(n, l, "%q is not a media type (give one like application/rss+xml or text/plain; charset=utf-8)", v)
		return ""
	}
	return v
}

func (d *decoder) revalidate(n *yaml.Node, l loc) regen.Revalidate {
	if n.Kind != yaml.ScalarNode {
		d.failf(n, l, "%s is not a revalidate value (%s)", yamlmsg.Describe(n), mustRevalidate)
		return regen.NotDeclared
	}
	switch n.ShortTag() {
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil && !b {
			return regen.Forever
		}
		d.failf(n, l, "%s is not a revalidate value (%s)", n.Value, mustRevalidate)
	case "!!int":
		var v int64
		if err := n.Decode(&v); err != nil {
			_, ferr := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
			switch {
			case ferr != nil:
				d.failf(n, l, "%s is not a number (%s)", n.Value, mustRevalidate)
			case strings.HasPrefix(n.Value, "-"):
				d.failf(n, l, "%s is negative (%s)", n.Value, mustRevalidate)
			default:
				d.failf(n, l, "%s is too large (at most %d seconds; write false to cache forever)", n.Value, maxSeconds)
			}
			return regen.NotDeclared
		}
		return d.seconds(n, l, float64(v), v)
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			d.failf(n, l, "%s is not a number (%s)", n.Value, mustRevalidate)
			return regen.NotDeclared
		}
		if math.IsNaN(v) || (!math.IsInf(v, 0) && v != math.Trunc(v)) {
			d.failf(n, l, "%s is not a whole number of seconds (%s)", n.Value, mustRevalidate)
			return regen.NotDeclared
		}
		var i int64
		if v >= 0 && v <= float64(maxSeconds) {
			i = int64(v)
		}
		return d.seconds(n, l, v, i)
	case "!!null":
		d.failf(n, l, "empty (%s; or remove the field)", mustRevalidate)
	case "!!str":
		d.failf(n, l, "%q is a string (%s)", n.Value, mustRevalidate)
	default:
		d.failf(n, l, "%s is not a revalidate value (%s)", n.Value, mustRevalidate)
	}
	return regen.NotDeclared
}

// seconds checks a whole number of seconds v (i when it fits).
func (d *decoder) seconds(n *yaml.Node, l loc, v float64, i int64) regen.Revalidate {
	switch {
	case v < 0:
		d.failf(n, l, "%s is negative (%s)", n.Value, mustRevalidate)
	case v > float64(maxSeconds) || i > maxSeconds:
		d.failf(n, l, "%s is too large (at most %d seconds; write false to cache forever)", n.Value, maxSeconds)
	default:
		return regen.Seconds(i)
	}
	return regen.NotDeclared
}

func (d *decoder) dynamic(n *yaml.Node, l loc) regen.Dynamic {
	s, ok := d.text(n, l, "a dynamic mode (must be auto, force-dynamic, force-static or error)")
	if !ok {
		return regen.DynamicNotDeclared
	}
	m, err := regen.ParseDynamic(s)
	if err != nil {
		d.fail(n, l, err)
	}
	return m
}

func (d *decoder) uses(n *yaml.Node, l loc) []regen.API {
	if n.Kind != yaml.SequenceNode {
		d.failf(n, l, "%s is not a list (list the dynamic APIs the render reads, like [cookies, headers])", yamlmsg.Describe(n))
		return nil
	}
	var apis []regen.API
	for i, c := range n.Content {
		c := yamlmsg.Resolve(c)
		s, ok := d.text(c, l.index(i), "a dynamic API (must be cookies, headers or searchParams)")
		if !ok {
			continue
		}
		a, err := regen.ParseAPI(s)
		if err != nil {
			d.fail(c, l.index(i), err)
			continue
		}
		apis = append(apis, a)
	}
	return apis
}

func (d *decoder) duration(n *yaml.Node, l loc) time.Duration {
	const like = "write a duration like 2ms or 1.5s"
	if n.Kind != yaml.ScalarNode || yamlmsg.IsNull(n) {
		d.failf(n, l, "%s is not a duration (%s)", yamlmsg.Describe(n), like)
		return 0
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		if _, nerr := strconv.ParseFloat(n.Value, 64); nerr == nil {
			d.failf(n, l, "%s has no unit (%s)", n.Value, like)
		} else {
			d.failf(n, l, "%s is not a duration (%s)", yamlmsg.Describe(n), like)
		}
		return 0
	}
	if v < 0 {
		d.failf(n, l, "%s is negative (must be 0 or more)", n.Value)
		return 0
	}
	return v
}

func (d *decoder) boolean(n *yaml.Node, l loc) *bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.failf(n, l, "%s is not true or false (must be true or false)", yamlmsg.Describe(n))
		return nil
	}
	return &b
}

func (d *decoder) holes(n *yaml.Node, l loc, ps []param) []Hole {
	if n.Kind != yaml.SequenceNode {
		d.failf(n, l, "%s is not a list (list the holes, like [{name: user-menu, uses: [cookies]}])", yamlmsg.Describe(n))
		return nil
	}
	var hs []Hole
	seen := map[string]int{}
	for i, c := range n.Content {
		c = yamlmsg.Resolve(c)
		hl := l.index(i)
		if !d.mapping(c, hl, false, "a hole (write {name: user-menu, uses: [cookies]})") {
			continue
		}
		var h Hole
		var named bool
		for _, f := range d.fields(c, hl, nil) {
			fl := hl.dot(f.name)
			switch f.name {
			case "name":
				named = true
				name, ok := d.text(f.val, fl, "a name (like name: user-menu)")
				switch {
				case !ok:
				case !engine.ValidHoleName(name):
					d.failf(f.val, fl, "%q is not a hole name (use letters, digits, - and _)", name)
				case seen[name] != 0:
					d.failf(f.val, fl, "hole %q is listed twice (first at line %d; give each hole its own name)", name, seen[name])
				default:
					seen[name] = f.val.Line
					h.Name = name
				}
			case "uses":
				h.Uses = d.uses(f.val, fl)
			case "cost":
				h.Cost = d.duration(f.val, fl)
			case "fetches":
				h.Fetches = d.fetches(f.val, fl, ps)
			default:
				d.unknown(f, hl, holeFields, "a hole")
			}
		}
		if !named {
			d.failf(c, hl, "has no name (give the hole a name, like name: user-menu)")
		}
		hs = append(hs, h)
	}
	return hs
}

func (d *decoder) fetches(n *yaml.Node, l loc, ps []param) []Fetch {
	if n.Kind != yaml.SequenceNode {
		d.failf(n, l, "%s is not a list (list the fetches the render makes, like [{url: /api/nav}])", yamlmsg.Describe(n))
		return nil
	}
	var fs []Fetch
	for i, c := range n.Content {
		fs = append(fs, d.fetch(yamlmsg.Resolve(c), l.index(i), ps))
	}
	return fs
}

func (d *decoder) fetch(n *yaml.Node, l loc, ps []param) Fetch {
	var f Fetch
	if !d.mapping(n, l, false, "a fetch (a fetch is a mapping with url, revalidate, tags and cache)") {
		return f
	}
	var hasURL bool
	var cache *yaml.Node
	var life field
	for _, g := range d.fields(n, l, nil) {
		fl := l.dot(g.name)
		switch g.name {
		case "url":
			hasURL = true
			f.URL = d.url(g.val, fl, ps)
		case "revalidate":
			f.Revalidate = d.revalidate(g.val, fl)
		case "cacheLife":
			life = g
			f.CacheLife = d.lifeName(g.val, fl)
		case "tags":
			f.Tags = d.tags(g.val, fl, ps)
		case "cache":
			cache = g.val
			if s, ok := d.text(g.val, fl, "a cache mode (must be default, force-cache or no-store)"); ok {
				m, err := regen.ParseCacheMode(s)
				if err != nil {
					d.fail(g.val, fl, err)
				}
				f.Cache = m
			}
		default:
			d.unknown(g, l, fetchFields, "a fetch")
		}
	}
	if !hasURL {
		d.fail(n, l, errors.New("no url (every fetch needs one, like url: /api/nav)"))
	}
	d.lifeConflict(life, f.Revalidate, l)
	if f.CacheLife != "" && f.Cache == regen.NoStore {
		d.failf(cache, l.dot("cache"), "no-store conflicts with cacheLife %s (give one of them)", f.CacheLife)
	}
	switch {
	case f.Cache == regen.NoStore && f.Revalidate.Declared() && f.Revalidate != regen.Never:
		d.failf(cache, l.dot("cache"), "no-store conflicts with revalidate %s (give one of them)", f.Revalidate)
	case f.Cache == regen.ForceCache && f.Revalidate == regen.Never:
		d.fail(cache, l.dot("cache"), errors.New("force-cache conflicts with revalidate 0 (give one of them)"))
	}
	return f
}

func (d *decoder) url(n *yaml.Node, l loc, ps []param) string {
	const want = "a relative URL like /api/nav or an absolute http:// or https:// URL"
	s, ok := d.text(n, l, want)
	if !ok {
		return ""
	}
	lower := strings.ToLower(s)
	switch {
	case s == "":
		d.failf(n, l, "empty (give %s)", want)
		return s
	case strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
		u, err := url.Parse(s)
		if err != nil {
			d.failf(n, l, "%q is not a URL: %v (give %s)", s, errors.Unwrap(err), want)
			return s
		}
		if u.Host == "" {
			d.failf(n, l, "%q has no host (give %s)", s, want)
			return s
		}
	default:
		d.failf(n, l, "%q is neither relative nor http:// or https:// (give %s)", s, want)
		return s
	}
	d.placeholders(n, l, s, ps)
	return s
}

// placeholders reports {param} placeholders in s that are malformed or name
// no param of the route.
func (d *decoder) placeholders(n *yaml.Node, l loc, s string, ps []param) {
	err := placeholders(s, func(name string) {
		if _, ok := findParam(ps, name); !ok {
			d.failf(n, l, "{%s} is not a param of the route (%s)", name, describeParams(ps))
		}
	})
	if err != nil {
		d.fail(n, l, err)
	}
}

func findParam(ps []param, name string) (param, bool) {
	for _, p := range ps {
		if p.name == name {
			return p, true
		}
	}
	return param{}, false
}

func describeParams(ps []param) string {
	if len(ps) == 0 {
		return "the route has no params"
	}
	if len(ps) == 1 {
		return "the route's only param is " + ps[0].name
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.name
	}
	return "the route's params are " + yamlmsg.AndList(names)
}

func (d *decoder) tags(n *yaml.Node, l loc, ps []param) []string {
	if n.Kind != yaml.SequenceNode {
		d.failf(n, l, "%s is not a list (write tags like [posts, \"post-{slug}\"])", yamlmsg.Describe(n))
		return nil
	}
	if len(n.Content) > regen.MaxTags {
		d.fail(n, l, tagErrorf("%d tags (at most %d per fetch; drop some)", len(n.Content), regen.MaxTags))
	}
	var tags []string
	for i, c := range n.Content {
		c := yamlmsg.Resolve(c)
		li := l.index(i)
		s, ok := d.text(c, li, "a tag (a tag is a string)")
		if !ok {
			continue
		}
		switch {
		case s == "":
			d.fail(c, li, tagErrorf("empty tag (remove it)"))
		case len(s) > regen.MaxTagLen:
			d.fail(c, li, tagErrorf("tag is %d bytes (at most %d; shorten it)", len(s), regen.MaxTagLen))
		default:
			d.placeholders(c, li, s, ps)
		}
		tags = append(tags, s)
	}
	return tags
}

// staticParams decodes a list of params: a page's staticParams or notFound.
func (d *decoder) staticParams(n *yaml.Node, l loc, ps []param) []render.Params {
	name := l.field[strings.LastIndexByte(l.field, '.')+1:]
	if n.Kind != yaml.SequenceNode {
		what := "the params to prerender, like [{slug: shoe}, {slug: hat}]"
		if name == "notFound" {
			what = "the params whose render calls notFound(), like [{slug: gone}]"
		}
		d.failf(n, l, "%s is not a list (list %s)", yamlmsg.Describe(n), what)
		return nil
	}
	if len(ps) == 0 && len(n.Content) > 0 {
		d.failf(n, l, "the route has no params (remove %s)", name)
		return nil
	}
	var out []render.Params
	for i, c := range n.Content {
		c := yamlmsg.Resolve(c)
		li := l.index(i)
		if !d.mapping(c, li, false, "a map of params (write one like {slug: shoe})") {
			continue
		}
		p := render.Params{}
		given := map[string]bool{}
		for _, f := range d.fields(c, li, nil) {
			pm, ok := findParam(ps, f.name)
			if !ok {
				d.failf(f.key, li.dot(f.name), "not a param of the route (%s)", describeParams(ps))
				continue
			}
			given[f.name] = true
			if v, ok := d.paramValue(f.val, li.dot(f.name), pm); ok && (v != "" || pm.kind != optionalCatch) {
				p[f.name] = v
			}
		}
		for _, pm := range ps {
			if !given[pm.name] && pm.kind != optionalCatch {
				d.failf(c, li, "no %s (give every param of the route)", pm.name)
			}
		}
		out = append(out, p)
	}
	return out
}

// paramValue decodes a static param's value: a string, or for a catch-all a
// string "a/b" or a list [a, b]. The empty value of an optional catch-all is
// "".
func (d *decoder) paramValue(n *yaml.Node, l loc, pm param) (string, bool) {
	if n.Kind == yaml.SequenceNode {
		if pm.kind == single {
			d.fail(n, l, errors.New("a list is not a param value (only a catch-all takes a list of parts; give one string)"))
			return "", false
		}
		if len(n.Content) == 0 {
			if pm.kind == optionalCatch {
				return "", true
			}
			d.fail(n, l, errors.New("an empty list (a catch-all needs one or more parts)"))
			return "", false
		}
		parts := make([]string, 0, len(n.Content))
		for i, c := range n.Content {
			c := yamlmsg.Resolve(c)
			s, ok := d.text(c, l.index(i), "a path part (give a string)")
			switch {
			case !ok:
				return "", false
			case s == "":
				d.fail(c, l.index(i), errors.New("empty part (give a non-empty string)"))
				return "", false
			case strings.Contains(s, "/"):
				d.failf(c, l.index(i), "%q has a / (give each part separately)", s)
				return "", false
			case s == "." || s == "..":
				d.failf(c, l.index(i), "%q is not a path part (give a name)", s)
				return "", false
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "/"), true
	}
	s, ok := d.text(n, l, "a param value (give a string, or a list of parts for a catch-all)")
	if !ok {
		return "", false
	}
	switch pm.kind {
	case single:
		switch {
		case s == "":
			d.fail(n, l, errors.New("empty (give a value)"))
			return "", false
		case strings.Contains(s, "/"):
			d.failf(n, l, "%q has a / (only a catch-all param spans path parts)", s)
			return "", false
		case s == "." || s == "..":
			d.failf(n, l, "%q is not a path part (give a name)", s)
			return "", false
		}
	default:
		if s == "" && pm.kind == optionalCatch {
			return "", true
		}
		parts := strings.Split(s, "/")
		if slices.Contains(parts, "") {
			d.failf(n, l, "%q has an empty part (a catch-all needs one or more parts, like a/b)", s)
			return "", false
		}
		if slices.Contains(parts, ".") || slices.Contains(parts, "..") {
			d.failf(n, l, "%q has a . or .. part (give names)", s)
			return "", false
		}
	}
	return s, true
}

// redirect decodes a page's redirect: a path or an absolute URL, with
// {param} placeholders.
func (d *decoder) redirect(n *yaml.Node, l loc, ps []param) string {
	const want = "a path like /blog/{slug} or an absolute http:// or https:// URL"
	s, ok := d.text(n, l, want)
	if !ok {
		return ""
	}
	lower := strings.ToLower(s)
	switch {
	case s == "":
		d.failf(n, l, "empty (give %s)", want)
		return s
	case strings.IndexFunc(s, func(c rune) bool { return c < ' ' || c == 0x7f }) >= 0:
		d.failf(n, l, "%q has a control character (give %s)", s, want)
		return s
	case strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, "/\\"):
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
		if u, err := url.Parse(s); err != nil || u.Host == "" {
			d.failf(n, l, "%q is not a URL with a host (give %s)", s, want)
			return s
		}
	default:
		d.failf(n, l, "%q is neither a path nor an http:// or https:// URL (give %s)", s, want)
		return s
	}
	d.placeholders(n, l, s, ps)
	return s
}

// engineHeaders are the headers the engine sets on every response: a spec
// cannot give them.
var engineHeaders = []string{"Cache-Control", "Etag", "Content-Length", "X-Cache-Status", "Cache-Status"}

// headers decodes a page's headers: a mapping of header names to values.
func (d *decoder) headers(n *yaml.Node, l loc) map[string]string {
	if !d.mapping(n, l, true, "a mapping of header names to values (write one like {X-Robots-Tag: noindex})") {
		return nil
	}
	var h map[string]string
	seen := map[string]bool{}
	for _, f := range d.fields(n, l, nil) {
		fl := l.dot(f.name)
		canon := http.CanonicalHeaderKey(f.name)
		switch {
		case !httpguts.ValidHeaderFieldName(f.name):
			d.failf(f.key, fl, "%q is not a header name (use letters, digits and -)", f.name)
			continue
		case slices.Contains(engineHeaders, canon):
			d.failf(f.key, fl, "%s is set by the engine (remove it)", canon)
			continue
		case canon == "Set-Cookie":
			d.failf(f.key, fl, "a cached page cannot set cookies (remove it)")
			continue
		case canon == "Location":
			d.failf(f.key, fl, "Location is the redirect's (use redirect)")
			continue
		case seen[canon]:
			d.failf(f.key, fl, "%s is given twice, ignoring case (keep one)", canon)
			continue
		}
		seen[canon] = true
		v, ok := d.text(f.val, fl, "a header value (give a string)")
		if !ok {
			continue
		}
		if !httpguts.ValidHeaderFieldValue(v) {
			d.failf(f.val, fl, "%q has a control character (remove it)", v)
			continue
		}
		if h == nil {
			h = map[string]string{}
		}
		h[f.name] = v
	}
	return h
}

// cacheLives decodes the spec's `cacheLife`: a mapping of profile names to
// {stale, revalidate, expire}, in seconds.
func (d *decoder) cacheLives(n *yaml.Node, l loc) map[string]regen.CacheLife {
	if !d.mapping(n, l, true, "a mapping of cache profiles (write cacheLife: {editorial: {stale: 300, revalidate: 600, expire: 86400}})") {
		return nil
	}
	dup := func(f field, first *yaml.Node) {
		d.failf(f.key, l.dot(f.name), "defined twice (first at line %d; merge them)", first.Line)
	}
	lives := map[string]regen.CacheLife{}
	for _, f := range d.fields(n, l, dup) {
		fl := l.dot(f.name)
		if err := regen.CheckCacheLifeName(f.name); err != nil {
			d.fail(f.key, fl, err)
			continue
		}
		var c regen.CacheLife
		if !d.mapping(f.val, fl, false, "a cache profile (write {stale: 300, revalidate: 600, expire: 86400})") {
			continue
		}
		ok := true
		for _, g := range d.fields(f.val, fl, nil) {
			gl := fl.dot(g.name)
			switch g.name {
			case "stale":
				c.Stale = d.lifeSeconds(g.val, gl)
			case "revalidate":
				c.Revalidate = d.revalidate(g.val, gl)
				if c.Revalidate == regen.Never {
					d.fail(g.val, gl, errors.New("0 is not a profile's revalidate (a profile caches: give a positive number of seconds or false; for no caching declare revalidate: 0 on the segment)"))
					ok = false
				}
			case "expire":
				c.Expire = d.lifeSeconds(g.val, gl)
			default:
				ok = false
				d.unknown(g, fl, lifeFields, "a cache profile")
			}
		}
		if !c.Revalidate.Declared() {
			if ok {
				d.fail(f.key, fl, errors.New("no revalidate (a profile needs one, like revalidate: 600)"))
			}
			continue
		}
		if err := c.Valid(); err != nil && ok {
			d.fail(f.key, fl, err)
			continue
		}
		lives[f.name] = c
	}
	return lives
}

// lifeSeconds decodes a profile's stale or expire: a whole number of
// seconds, more than 0.
func (d *decoder) lifeSeconds(n *yaml.Node, l loc) time.Duration {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil || v <= 0 || v > maxSeconds {
		d.failf(n, l, "%s is not a number of seconds (give a whole number more than 0, like 3600)", yamlmsg.Describe(n))
		return 0
	}
	return time.Duration(v) * time.Second
}

// lifeName decodes a cacheLife reference, checked against the profiles by
// checkLifeRefs once the spec is read.
func (d *decoder) lifeName(n *yaml.Node, l loc) string {
	s, ok := d.text(n, l, "a cache profile name (like cacheLife: hours)")
	if !ok {
		return ""
	}
	if err := regen.CheckCacheLifeName(s); err != nil {
		d.fail(n, l, err)
		return ""
	}
	d.lifeRefs = append(d.lifeRefs, lifeRef{s, n, l})
	return s
}

// lifeConflict reports a cacheLife given beside a revalidate.
func (d *decoder) lifeConflict(life field, rev regen.Revalidate, l loc) {
	if life.key != nil && rev.Declared() {
		d.failf(life.key, l.dot("cacheLife"), "revalidate %s and cacheLife %s both declared (give one: the profile sets the revalidate)", rev, life.val.Value)
	}
}

// checkLifeRefs reports the cacheLife names that are neither the spec's
// profiles nor built-ins.
func (d *decoder) checkLifeRefs(lives map[string]regen.CacheLife) {
	known := regen.CacheLifeNames(lives)
	for _, r := range d.lifeRefs {
		if _, err := regen.LookupCacheLife(r.name, lives); err == nil {
			continue
		}
		if s := yamlmsg.Suggest(r.name, known); s != "" {
			d.failf(r.n, r.l, "unknown cache profile %q (did you mean %s? known: %s)", r.name, s, strings.Join(known, ", "))
		} else {
			d.failf(r.n, r.l, "unknown cache profile %q (known: %s; or define it under cacheLife)", r.name, strings.Join(known, ", "))
		}
	}
}
