// Package routecache stores the rendered output of each path: the Full Route Cache.
package routecache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

// Entry is one rendered path. Its Created is when the render started, so its
// age counts from the moment its data was read.
type Entry = store.Item

// TagPrefix starts every implicit tag, as in Next.js.
const TagPrefix = "_N_T_"

// implicitTag returns the implicit tag of name (a path, "<path>/layout" or
// "<route>/page"): TagPrefix and name. When that is over regen.MaxTagLen
// bytes (a long path: any path up to the engine's MaxPathLen must be
// cacheable and revalidatable), it returns a tag of at most MaxTagLen bytes
// instead: TagPrefix, "#", 32 hex digits of name's SHA-256 and ":", then the
// start of name for whoever reads the store. Every name reaches its tag
// through here, in entries and in RevalidatePath alike, so both agree. A name
// starts with "/", so no hashed tag equals a short name's tag. (Next.js
// instead skips revalidatePath for a path over its 1024-byte soft-tag limit.)
func implicitTag(name string) string {
	if len(TagPrefix)+len(name) <= regen.MaxTagLen {
		return TagPrefix + name
	}
	sum := sha256.Sum256([]byte(name))
	head := TagPrefix + "#" + hex.EncodeToString(sum[:16]) + ":"
	n := regen.MaxTagLen - len(head)
	for n > 0 && !utf8.RuneStart(name[n]) {
		n-- // cut at a character boundary
	}
	return head + name[:n]
}

// Freshness is the status of e at now, given the state of its tags: a pure
// function of its arguments.
//
//   - Miss when the entry is past its Expire, or one of its tags was
//     revalidated in expire mode after it was made, or by a cache profile
//     whose expire has passed (store.TagState.ExpiredAt);
//   - Stale when it is older than its Revalidate, or one of its tags was
//     revalidated in stale mode or by a profile after it was made;
//   - Hit otherwise.
func Freshness(e *Entry, now time.Time, tags store.TagState) regen.Status {
	st, _ := FreshnessNear(e, now, tags, 0)
	return st
}

// FreshnessNear is Freshness, and also reports whether e, a Hit at now,
// turns stale or expires less than slack after now: for a caller whose
// now may lag the time by up to slack, which judges such an entry again at
// an exact reading.
func FreshnessNear(e *Entry, now time.Time, tags store.TagState, slack time.Duration) (regen.Status, bool) {
	age := now.Sub(e.Created)
	if tags.ExpiredAt(now) || (e.Expire > 0 && age >= e.Expire) {
		return regen.Miss, false
	}
	if tags.Stale {
		return regen.Stale, false
	}
	d, ok := e.Revalidate.Interval()
	if ok && age >= d {
		return regen.Stale, false
	}
	near := ok && d-age < slack || e.Expire > 0 && e.Expire-age < slack
	return regen.Hit, near
}

// Cache is the Full Route Cache over a store. It is safe for concurrent use.
type Cache struct {
	store store.Store

	mu       sync.Mutex          // protects reported
	reported map[string]struct{} // route and reason of the tag drops Tags reported
}

// maxReported bounds the tag drops a Cache remembers having reported.
const maxReported = 1024

// New returns a Cache over s.
func New(s store.Store) *Cache { return &Cache{store: s} }

// Store returns the store under the cache.
func (c *Cache) Store() store.Store { return c.store }

// Get returns the entry for path and its status at now. A Miss returns a nil
// entry. An expired entry is left in the store: the render that follows the
// Miss replaces it, and the store's byte bound evicts it if none does.
// Deleting it here could delete a fresh entry another request stored in
// between. A store error is returned with a Miss.
func (c *Cache) Get(ctx context.Context, path string, now time.Time) (*Entry, regen.Status, error) {
	e, st, _, err := c.GetNear(ctx, path, now, 0)
	return e, st, err
}

// GetNear is Get, and also reports whether a Hit turns stale or expires
// less than slack after now (FreshnessNear).
func (c *Cache) GetNear(ctx context.Context, path string, now time.Time, slack time.Duration) (*Entry, regen.Status, bool, error) {
	e, ts, ok, err := store.GetTagged(ctx, c.store, path)
	if err != nil || !ok {
		return nil, regen.Miss, false, err
	}
	st, near := FreshnessNear(e, now, ts, slack)
	if st == regen.Miss {
		return nil, regen.Miss, false, nil
	}
	return e, st, near, nil
}

// Set stores e for path, replacing the previous entry atomically.
func (c *Cache) Set(ctx context.Context, path string, e *Entry) error {
	return c.store.Set(ctx, path, e)
}

// Delete removes path's entry.
func (c *Cache) Delete(ctx context.Context, path string) error {
	return c.store.Delete(ctx, path)
}

// RevalidateTag marks every entry carrying tag, in this cache and in the Data
// Cache sharing its store, stale (or expired) as of now. It is O(1) in the
// number of entries: only the tag's time is recorded.
func (c *Cache) RevalidateTag(ctx context.Context, tag string, mode regen.RevalidateMode, now time.Time) error {
	return c.store.RevalidateTags(ctx, []string{tag}, mode, now)
}

// PathKind says what a path passed to RevalidatePath names.
type PathKind uint8

const (
	// Page names one concrete path ("/blog/hello"), or one page route
	// ("/blog/[slug]", "/(marketing)/about"), which covers every path it
	// renders. A path with a dynamic segment or a route group names a route.
	Page PathKind = iota
	// Layout names a layout ("/blog", "/(shop)"): every path below it.
	Layout
)

// String is "page" or "layout", as Next.js's revalidatePath(path, type)
// names them.
func (k PathKind) String() string {
	if k == Layout {
		return "layout"
	}
	return "page"
}

// MarshalText is String.
func (k PathKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses "page" (or "") and "layout".
func (k *PathKind) UnmarshalText(b []byte) error {
	switch string(b) {
	case "", "page":
		*k = Page
	case "layout":
		*k = Layout
	default:
		return fmt.Errorf("unknown type %q (must be page or layout)", b)
	}
	return nil
}

// PathTag returns the implicit tag RevalidatePath records for path and kind.
func PathTag(path string, kind PathKind) string {
	path = trimSlash(path)
	if kind == Layout {
		if path == "/" {
			return implicitTag("/layout")
		}
		return implicitTag(path + "/layout")
	}
	if isRoute(path) {
		return implicitTag(path + "/page")
	}
	return implicitTag(path)
}

// isRoute reports whether path is a route pattern rather than a concrete
// path: it has a dynamic segment ("[slug]") or a route group ("(shop)"),
// which no URL path of the route contains.
func isRoute(path string) bool {
	if strings.Contains(path, "[") {
		return true
	}
	for seg := range strings.SplitSeq(path, "/") {
		if len(seg) > 2 && seg[0] == '(' && seg[len(seg)-1] == ')' {
			return true
		}
	}
	return false
}

// RevalidatePath marks the entries of path stale (or expired) as of now: the
// entry of a concrete path, every path of a page route, or every path under a
// layout, and the Data Cache entries fetched while rendering them.
func (c *Cache) RevalidatePath(ctx context.Context, path string, kind PathKind, mode regen.RevalidateMode, now time.Time) error {
	return c.store.RevalidateTags(ctx, []string{PathTag(path, kind)}, mode, now)
}

// ImplicitTags returns the tags a render of path, matched by the route
// pattern route, carries besides those of its fetches, as Next.js derives
// them: one per layout level of the route ("_N_T_/layout",
// "_N_T_/blog/layout"), the page route ("_N_T_/blog/[slug]/page") and the
// path itself ("_N_T_/blog/hello").
func ImplicitTags(route, path string) []string {
	return PathTags(RouteTags(route), path)
}

// RouteTags returns the implicit tags of a route pattern, without the
// path's own: what every path of the route shares. Callers that render a
// route many times compute it once and pass it to PathTags.
func RouteTags(route string) []string {
	route = trimSlash(route)
	tags := []string{implicitTag("/layout")}
	if route != "/" {
		parts := strings.Split(route[1:], "/")
		for i := range parts {
			tags = append(tags, implicitTag("/"+strings.Join(parts[:i+1], "/")+"/layout"))
		}
	}
	if route == "/" {
		tags = append(tags, implicitTag("/page"))
	} else {
		tags = append(tags, implicitTag(route+"/page"))
	}
	return tags
}

// RouteOf returns the route pattern of the entry of path, read from the
// implicit tags it carries (ImplicitTags): the page tag "_N_T_<route>/page".
// The path's own tag ("_N_T_<path>", which ends in "/page" for a path such
// as "/docs/page") is skipped, and so are hashed tags. It returns "" when
// there is no such tag. The disk store records it in its manifest.
func RouteOf(path string, tags []string) string {
	for i := len(tags) - 1; i >= 0; i-- {
		rest, ok := strings.CutPrefix(tags[i], TagPrefix)
		if !ok || rest == path {
			continue
		}
		if r, ok := strings.CutSuffix(rest, "/page"); ok && (r == "" || r[0] == '/') {
			if r == "" {
				return "/"
			}
			return r
		}
	}
	return ""
}

// PathTags returns a new slice: routeTags (from RouteTags) and path's own tag.
func PathTags(routeTags []string, path string) []string {
	tags := make([]string, len(routeTags), len(routeTags)+1)
	copy(tags, routeTags)
	return append(tags, implicitTag(trimSlash(path)))
}

// Tags returns the tags of the entry of path, rendered by the route
// pattern route: declared (the tags its fetches declared) that keep the
// limits, then routeTags (from RouteTags) and path's own tag.
//
// A declared tag that breaks the limits is dropped, as Next.js's
// validateTags drops it, and the entry is stored without it: a tag built
// from a long path parameter must not make the path fail. unreported lists
// the drops this Cache has not reported before for route and reason, so a
// caller that logs them logs each reason once per route, however many paths
// or requests repeat it; past 1024 such pairs nothing more is reported.
func (c *Cache) Tags(route, path string, routeTags, declared []string) (tags []string, unreported []regen.DroppedTag) {
	kept, dropped := regen.FilterTags(declared)
	tags = make([]string, 0, len(kept)+len(routeTags)+1)
	tags = append(tags, kept...)
	tags = append(tags, routeTags...)
	tags = append(tags, implicitTag(trimSlash(path)))
	if len(dropped) == 0 {
		return tags, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reported == nil {
		c.reported = make(map[string]struct{})
	}
	for _, d := range dropped {
		key := route + "\x00" + d.Reason
		if _, ok := c.reported[key]; ok || len(c.reported) >= maxReported {
			continue
		}
		c.reported[key] = struct{}{}
		unreported = append(unreported, d)
	}
	return tags, unreported
}

func trimSlash(p string) string {
	if p == "" {
		return "/"
	}
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		p = strings.TrimRight(p, "/")
		if p == "" {
			return "/"
		}
	}
	return p
}
