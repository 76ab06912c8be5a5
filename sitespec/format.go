package sitespec

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
)

// Format writes s as YAML in the layout of docs/site-spec.md's example. For a spec
// that Parse returned, Parse(Format()) gives an equal Spec.
//
// Format reports, joined, the values a spec cannot write: revalidate values
// that are not valid, unknown dynamic modes, APIs and cache modes, negative
// durations and strings that are not UTF-8. It does not validate what Parse
// would reject in a well-formed spec (unknown params, tag limits).
func (s *Spec) Format() ([]byte, error) {
	f := &formatter{}
	root := mappingNode()
	if s.Name != "" {
		add(root, "name", f.str(s.Name, loc{field: "name"}))
	}
	if s.Origin.Latency != 0 {
		add(root, "origin", mappingNode("latency", f.duration(s.Origin.Latency, loc{field: "origin.latency"})))
	}
	if len(s.CacheLife) > 0 {
		lives := mappingNode()
		for _, name := range slices.Sorted(maps.Keys(s.CacheLife)) {
			lives.Content = append(lives.Content, scalar("!!str", name), f.life(s.CacheLife[name], loc{field: "cacheLife." + name}))
		}
		add(root, "cacheLife", lives)
	}
	segs := mappingNode()
	for _, seg := range s.Segments {
		l := loc{seg: seg.Pattern}
		n := mappingNode()
		if seg.Layout != nil {
			p := &Page{
				Revalidate:    seg.Layout.Revalidate,
				CacheLife:     seg.Layout.CacheLife,
				Dynamic:       seg.Layout.Dynamic,
				Uses:          seg.Layout.Uses,
				Cost:          seg.Layout.Cost,
				Fetches:       seg.Layout.Fetches,
				DynamicParams: seg.Layout.DynamicParams,
				Holes:         seg.Layout.Holes,
			}
			add(n, "layout", f.config(p, l.dot("layout")))
		}
		if seg.Page != nil {
			add(n, "page", f.config(seg.Page, l.dot("page")))
		}
		if h := seg.Handler; h != nil {
			p := &Page{
				Revalidate:    h.Revalidate,
				CacheLife:     h.CacheLife,
				Dynamic:       h.Dynamic,
				Uses:          h.Uses,
				Cost:          h.Cost,
				Fetches:       h.Fetches,
				DynamicParams: h.DynamicParams,
				StaticParams:  h.StaticParams,
			}
			hn := f.config(p, l.dot("handler"))
			if h.ContentType != "" {
				hn.Style = 0
				add(hn, "contentType", f.str(h.ContentType, l.dot("handler.contentType")))
			}
			add(n, "handler", hn)
		}
		if len(n.Content) == 0 {
			n.Style = yaml.FlowStyle
		}
		add(segs, seg.Pattern, n)
		f.checkUTF8(seg.Pattern, l)
	}
	add(root, "segments", segs)
	if len(f.errs) > 0 {
		return nil, errors.Join(f.errs...)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// formatter builds the node tree of a spec, gathering the values it cannot
// write.
type formatter struct {
	errs []error
}

func (f *formatter) fail(l loc, err error) {
	f.errs = append(f.errs, &Error{Segment: l.seg, Field: l.field, Err: err})
}

func (f *formatter) config(p *Page, l loc) *yaml.Node {
	n := mappingNode()
	if p.Revalidate.Declared() {
		add(n, "revalidate", f.revalidate(p.Revalidate, l.dot("revalidate")))
	}
	if p.CacheLife != "" {
		add(n, "cacheLife", f.str(p.CacheLife, l.dot("cacheLife")))
	}
	if p.Dynamic != regen.DynamicNotDeclared {
		if err := p.Dynamic.Valid(); err != nil {
			f.fail(l.dot("dynamic"), err)
		}
		add(n, "dynamic", scalar("!!str", p.Dynamic.String()))
	}
	if len(p.Uses) > 0 {
		uses := flowSequence()
		for i, a := range p.Uses {
			if _, err := regen.ParseAPI(a.String()); err != nil {
				f.fail(l.dot("uses").index(i), fmt.Errorf("unknown dynamic API %d (must be regen.Cookies, Headers or SearchParams)", a))
			}
			uses.Content = append(uses.Content, scalar("!!str", a.String()))
		}
		add(n, "uses", uses)
	}
	if p.Cost != 0 {
		add(n, "cost", f.duration(p.Cost, l.dot("cost")))
	}
	if p.DynamicParams != nil {
		add(n, "dynamicParams", scalar("!!bool", strconv.FormatBool(*p.DynamicParams)))
	}
	if len(p.StaticParams) > 0 {
		sp := flowSequence()
		for i, ps := range p.StaticParams {
			sp.Content = append(sp.Content, f.params(ps, l.dot("staticParams").index(i)))
		}
		add(n, "staticParams", sp)
	}
	if len(p.NotFound) > 0 {
		nf := flowSequence()
		for i, ps := range p.NotFound {
			nf.Content = append(nf.Content, f.params(ps, l.dot("notFound").index(i)))
		}
		add(n, "notFound", nf)
	}
	if p.Redirect != "" {
		add(n, "redirect", f.str(p.Redirect, l.dot("redirect")))
	}
	if p.Permanent {
		add(n, "permanent", scalar("!!bool", "true"))
	}
	if len(p.Headers) > 0 {
		h := mappingNode()
		h.Style = yaml.FlowStyle
		for _, kv := range sortedHeaders(p.Headers) {
			f.checkUTF8(kv[0], l.dot("headers"))
			add(h, kv[0], f.str(kv[1], l.dot("headers").dot(kv[0])))
		}
		add(n, "headers", h)
	}
	if len(p.Fetches) > 0 {
		fetches := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i, fe := range p.Fetches {
			fetches.Content = append(fetches.Content, f.fetch(fe, l.dot("fetches").index(i)))
		}
		add(n, "fetches", fetches)
	}
	if len(p.Holes) > 0 {
		holes := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i, h := range p.Holes {
			hl := l.dot("holes").index(i)
			hc := f.config(&Page{Uses: h.Uses, Cost: h.Cost, Fetches: h.Fetches}, hl)
			hc.Style = 0
			hc.Content = append([]*yaml.Node{scalar("!!str", "name"), f.str(h.Name, hl.dot("name"))}, hc.Content...)
			holes.Content = append(holes.Content, hc)
		}
		add(n, "holes", holes)
	}
	if len(n.Content) == 0 {
		n.Style = yaml.FlowStyle
	}
	return n
}

// life formats a cache profile as {stale: s, revalidate: r, expire: e}.
func (f *formatter) life(c regen.CacheLife, l loc) *yaml.Node {
	if err := c.Valid(); err != nil {
		f.fail(l, err)
	}
	n := flowMapping()
	if c.Stale > 0 {
		add(n, "stale", scalar("!!int", strconv.FormatInt(int64(c.Stale/time.Second), 10)))
	}
	add(n, "revalidate", f.revalidate(c.Revalidate, l.dot("revalidate")))
	if c.Expire > 0 {
		add(n, "expire", scalar("!!int", strconv.FormatInt(int64(c.Expire/time.Second), 10)))
	}
	return n
}

func (f *formatter) fetch(fe Fetch, l loc) *yaml.Node {
	n := mappingNode("url", f.str(fe.URL, l.dot("url")))
	if fe.Revalidate.Declared() {
		add(n, "revalidate", f.revalidate(fe.Revalidate, l.dot("revalidate")))
	}
	if fe.CacheLife != "" {
		add(n, "cacheLife", f.str(fe.CacheLife, l.dot("cacheLife")))
	}
	if len(fe.Tags) > 0 {
		tags := flowSequence()
		for i, t := range fe.Tags {
			tags.Content = append(tags.Content, f.str(t, l.dot("tags").index(i)))
		}
		add(n, "tags", tags)
	}
	if fe.Cache != regen.CacheDefault {
		if _, err := regen.ParseCacheMode(fe.Cache.String()); err != nil {
			f.fail(l.dot("cache"), fmt.Errorf("unknown cache mode %d (must be regen.CacheDefault, ForceCache or NoStore)", fe.Cache))
		}
		add(n, "cache", scalar("!!str", fe.Cache.String()))
	}
	return n
}

func (f *formatter) params(ps render.Params, l loc) *yaml.Node {
	n := mappingNode()
	n.Style = yaml.FlowStyle
	keys := make([]string, 0, len(ps))
	for k := range ps {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		add(n, k, f.str(ps[k], l.dot(k)))
		f.checkUTF8(k, l)
	}
	return n
}

func (f *formatter) revalidate(r regen.Revalidate, l loc) *yaml.Node {
	switch {
	case r == regen.Forever:
		return scalar("!!bool", "false")
	case r.Valid() != nil:
		f.fail(l, r.Valid())
	case r != regen.Never && r.Raw() > maxSeconds:
		f.fail(l, fmt.Errorf("revalidate %d is too large (at most %d seconds; use regen.Forever)", r.Raw(), maxSeconds))
	}
	return scalar("!!int", r.String())
}

func (f *formatter) duration(d time.Duration, l loc) *yaml.Node {
	if d < 0 {
		f.fail(l, fmt.Errorf("%v is negative (must be 0 or more)", d))
	}
	return scalar("!!str", d.String())
}

func (f *formatter) str(s string, l loc) *yaml.Node {
	f.checkUTF8(s, l)
	return scalar("!!str", s)
}

func (f *formatter) checkUTF8(s string, l loc) {
	if !utf8.ValidString(s) {
		f.fail(l, fmt.Errorf("%q is not valid UTF-8", s))
	}
}

func scalar(tag, value string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	if tag == "!!str" && value == "<<" {
		// yaml.v3 quotes strings that would read as another type, but
		// not "<<", which reads as a merge key.
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func flowMapping() *yaml.Node {
	n := mappingNode()
	n.Style = yaml.FlowStyle
	return n
}

func flowSequence() *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
}

// mappingNode returns a mapping of the given string keys and values.
func mappingNode(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		add(n, kv[i].(string), kv[i+1].(*yaml.Node))
	}
	return n
}

func add(m *yaml.Node, key string, val *yaml.Node) {
	m.Content = append(m.Content, scalar("!!str", key), val)
}
