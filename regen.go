// Package regen holds the vocabulary shared by regen's layers: revalidate
// intervals, cache profiles, dynamic modes, fetch cache modes, cache
// statuses, revalidation modes, tag limits and the scheduler that runs
// background work.
//
// A revalidate is always written by name: Seconds(60), Forever (Next.js's
// revalidate = false), Never (revalidate = 0: dynamic), or left out, which
// is NotDeclared, the zero value. Revalidate is a struct rather than an
// integer so that Revalidate: 0 does not compile: in Next.js it means
// dynamic, and an integer whose zero meant "not declared" would silently
// cache forever instead.
//
// The layers themselves live in subpackages: store (bytes plus metadata),
// fetchcache (the Data Cache), routecache (the Full Route Cache), render (what
// a layout or page sees while rendering) and engine (what users embed).
package regen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Revalidate is a revalidate interval in whole seconds, as declared by a
// layout, a page or a fetch.
//
// The zero value means "not declared". Forever is Next.js's `revalidate:
// false` (cache until revalidated on demand) and Never is `revalidate: 0`
// (never cache: dynamic). Seconds(n) is n seconds; Seconds(0) is Never, and a
// negative n is invalid (Valid reports it).
//
// Revalidate is a struct with an unexported field rather than an integer so
// that `Revalidate: 0` does not compile: in Next.js `revalidate = 0` means
// dynamic, while an integer's zero here would mean "not declared", the
// opposite. A declaration is always written by name: Seconds(60), Forever,
// Never, or nothing at all.
//
// Because Forever is the largest value and Never the smallest, the lowest
// declared value of a route is found with Min.
type Revalidate struct {
	s int64 // 0: not declared; math.MaxInt64: Forever; math.MinInt64: Never
}

var (
	// NotDeclared is the zero value: nothing was declared.
	NotDeclared = Revalidate{}
	// Forever caches until revalidated on demand (`revalidate: false`).
	Forever = Revalidate{math.MaxInt64}
	// Never disables caching (`revalidate: 0`).
	Never = Revalidate{math.MinInt64}
)

// Seconds returns a revalidate interval of n seconds. Seconds(0) is Never; a
// negative n gives an invalid value that Valid reports.
func Seconds(n int64) Revalidate {
	if n == 0 {
		return Never
	}
	return Revalidate{n}
}

// RawRevalidate is the inverse of Raw, for stores that encode a Revalidate
// as an integer: 0 is NotDeclared, math.MaxInt64 Forever, math.MinInt64
// Never, anything else that many seconds.
func RawRevalidate(n int64) Revalidate { return Revalidate{n} }

// Raw returns r as one integer, the encoding RawRevalidate reads back: 0
// for NotDeclared, math.MaxInt64 for Forever, math.MinInt64 for Never, the
// number of seconds otherwise. It is for encodings, not arithmetic.
func (r Revalidate) Raw() int64 { return r.s }

// Equal reports whether r and o are the same declaration, as r == o does.
// (go-cmp uses it to compare values holding a Revalidate.)
func (r Revalidate) Equal(o Revalidate) bool { return r == o }

// Declared reports whether r was declared.
func (r Revalidate) Declared() bool { return r != NotDeclared }

// Valid reports whether r is NotDeclared, Forever, Never or a positive number
// of seconds.
func (r Revalidate) Valid() error {
	if r.s < 0 && r != Never {
		return fmt.Errorf("revalidate %d (must be false, 0 or a positive number of seconds)", r.s)
	}
	return nil
}

// Interval reports the interval as a duration and whether it is finite and
// positive (false for NotDeclared, Forever and Never).
func (r Revalidate) Interval() (time.Duration, bool) {
	if r.s <= 0 || r == Forever {
		return 0, false
	}
	if r.s > int64(math.MaxInt64/time.Second) {
		return math.MaxInt64, true
	}
	return time.Duration(r.s) * time.Second, true
}

// Less reports whether r is shorter than o: Never is the shortest, Forever
// the longest. NotDeclared sorts between Never and every positive interval;
// use Min to treat it as Forever.
func (r Revalidate) Less(o Revalidate) bool { return r.s < o.s }

// Min returns the lower of r and o, where NotDeclared counts as Forever.
func (r Revalidate) Min(o Revalidate) Revalidate {
	if !r.Declared() {
		return o
	}
	if !o.Declared() {
		return r
	}
	if o.s < r.s {
		return o
	}
	return r
}

// String formats r as the site spec writes it: "false", "0", a number of
// seconds, or "not declared".
func (r Revalidate) String() string {
	switch r {
	case NotDeclared:
		return "not declared"
	case Forever:
		return "false"
	case Never:
		return "0"
	}
	return strconv.FormatInt(r.s, 10)
}

// MarshalJSON writes r as Next.js's `revalidate` reads: false for Forever,
// 0 for Never, a number of seconds otherwise, and null for NotDeclared (a
// struct field holding one is left out with omitzero).
func (r Revalidate) MarshalJSON() ([]byte, error) {
	switch r {
	case NotDeclared:
		return []byte("null"), nil
	case Forever:
		return []byte("false"), nil
	case Never:
		return []byte("0"), nil
	}
	return strconv.AppendInt(nil, r.s, 10), nil
}

// UnmarshalJSON reads what MarshalJSON writes; null leaves r unchanged.
func (r *Revalidate) UnmarshalJSON(b []byte) error {
	switch s := string(b); s {
	case "null":
		return nil
	case "false":
		*r = Forever
		return nil
	default:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("revalidate %s (must be false, 0 or a number of seconds)", s)
		}
		*r = Seconds(n)
		return nil
	}
}

// Dynamic is the `dynamic` mode of a layout or page. The zero value means
// "not declared", which behaves as Auto unless a layout above declares a mode.
type Dynamic uint8

const (
	DynamicNotDeclared Dynamic = iota
	// Auto caches as much as possible, and makes the route dynamic when a
	// render reads a dynamic API or makes an uncached fetch.
	Auto
	// ForceDynamic renders on every request. Once declared, deeper segments
	// cannot undo it.
	ForceDynamic
	// ForceStatic makes dynamic APIs return empty values and fetches default
	// to cached.
	ForceStatic
	// DynamicError fails a render that reads a dynamic API or makes an
	// uncached fetch (`dynamic: 'error'`).
	DynamicError
)

var dynamicNames = [...]string{"", "auto", "force-dynamic", "force-static", "error"}

// String returns the mode as the site spec writes it ("auto", ...), or ""
// when not declared.
func (d Dynamic) String() string {
	if int(d) < len(dynamicNames) {
		return dynamicNames[d]
	}
	return "dynamic(" + strconv.Itoa(int(d)) + ")"
}

// Valid reports whether d is a known mode.
func (d Dynamic) Valid() error {
	if int(d) >= len(dynamicNames) {
		return fmt.Errorf("unknown dynamic mode %d (must be auto, force-dynamic, force-static or error)", int(d))
	}
	return nil
}

// ParseDynamic parses a mode as the site spec writes it.
func ParseDynamic(s string) (Dynamic, error) {
	for i, n := range dynamicNames {
		if i > 0 && n == s {
			return Dynamic(i), nil
		}
	}
	return 0, fmt.Errorf("unknown dynamic mode %q (must be auto, force-dynamic, force-static or error)", s)
}

// CacheMode is a fetch's `cache` option.
type CacheMode uint8

const (
	// CacheDefault caches by the fetch's revalidate, else the route's.
	CacheDefault CacheMode = iota
	// ForceCache caches even where the default would not.
	ForceCache
	// NoStore never caches the fetch; in an auto route it makes the route dynamic.
	NoStore
)

var cacheModeNames = [...]string{"default", "force-cache", "no-store"}

func (m CacheMode) String() string {
	if int(m) < len(cacheModeNames) {
		return cacheModeNames[m]
	}
	return "cache(" + strconv.Itoa(int(m)) + ")"
}

// ParseCacheMode parses a fetch cache mode as the site spec writes it.
func ParseCacheMode(s string) (CacheMode, error) {
	for i, n := range cacheModeNames {
		if n == s {
			return CacheMode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown cache mode %q (must be default, force-cache or no-store)", s)
}

// API is a dynamic API a render can read.
type API uint8

const (
	Cookies API = iota + 1
	Headers
	SearchParams
)

var apiNames = [...]string{"", "cookies", "headers", "searchParams"}

func (a API) String() string {
	if int(a) < len(apiNames) && a > 0 {
		return apiNames[a]
	}
	return "api(" + strconv.Itoa(int(a)) + ")"
}

// ParseAPI parses a dynamic API name as the site spec writes it.
func ParseAPI(s string) (API, error) {
	for i, n := range apiNames {
		if i > 0 && n == s {
			return API(i), nil
		}
	}
	return 0, fmt.Errorf("unknown dynamic API %q (must be cookies, headers or searchParams)", s)
}

// Status is how a cache answered.
type Status uint8

const (
	// Hit: a fresh entry, served without work.
	Hit Status = iota + 1
	// Stale: an entry past its revalidate, served while one refresh runs.
	Stale
	// Miss: no usable entry; the caller waited for fresh work.
	Miss
	// Bypass: not cacheable; done on every request.
	Bypass
)

var statusNames = [...]string{"", "HIT", "STALE", "MISS", "BYPASS"}

// String returns "HIT", "STALE", "MISS" or "BYPASS".
func (s Status) String() string {
	if int(s) < len(statusNames) && s > 0 {
		return statusNames[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Tag limits, as Next.js has them (NEXT_CACHE_TAG_MAX_LENGTH and
// NEXT_CACHE_TAG_MAX_ITEMS). Where a tag is a request (RevalidateTag, the
// revalidation endpoint) or configuration, breaking them is an error; where
// a render declares it, the tag is dropped with a warning, as Next.js's
// validateTags drops it, and the render is cached without it.
const (
	MaxTagLen = 256
	MaxTags   = 128
)

// ErrTag is matched by errors that break the tag limits.
var ErrTag = errors.New("regen: tag limit exceeded")

// Why FilterTags drops a tag: a small fixed set, so a caller can report
// each reason once.
const (
	TagEmpty   = "empty tag"
	TagTooLong = "tag over 256 bytes"
	TagNotUTF8 = "tag not valid UTF-8"
	TagControl = "tag holds a control character"
	TagTooMany = "over 128 tags"
)

// tagProblem returns why tag breaks the limits, or "". A tag must be
// printable text: control characters would split a line of a log or a
// header, and invalid UTF-8 would not survive the JSON of store/disk.
func tagProblem(tag string) string {
	switch {
	case tag == "":
		return TagEmpty
	case len(tag) > MaxTagLen:
		return TagTooLong
	}
	ascii := true // printable ASCII: the common case, in one pass
	for i := 0; i < len(tag) && ascii; i++ {
		ascii = tag[i] >= 0x20 && tag[i] < 0x7f
	}
	if ascii {
		return ""
	}
	if !utf8.ValidString(tag) {
		return TagNotUTF8
	}
	for _, r := range tag {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) { // C0, DEL and C1
			return TagControl
		}
	}
	return ""
}

// CheckTag reports an error wrapping ErrTag when tag is empty, over
// MaxTagLen bytes, not valid UTF-8 or holds a control character.
func CheckTag(tag string) error {
	switch why := tagProblem(tag); why {
	case "":
		return nil
	case TagEmpty:
		return fmt.Errorf("%w: empty tag", ErrTag)
	case TagTooLong:
		return fmt.Errorf("%w: tag %.32q... is %d bytes (at most %d)", ErrTag, tag, len(tag), MaxTagLen)
	default:
		return fmt.Errorf("%w: %s: %.64q", ErrTag, why, tag)
	}
}

// ValidateTags reports an error wrapping ErrTag when tags break the limits:
// more than MaxTags, or one that CheckTag refuses.
func ValidateTags(tags []string) error {
	if len(tags) > MaxTags {
		return fmt.Errorf("%w: %d tags (at most %d per entry)", ErrTag, len(tags), MaxTags)
	}
	for _, t := range tags {
		if err := CheckTag(t); err != nil {
			return err
		}
	}
	return nil
}

// DroppedTag is a tag FilterTags dropped, and why: one of TagEmpty,
// TagTooLong, TagNotUTF8, TagControl and TagTooMany.
type DroppedTag struct {
	Tag    string
	Reason string
}

// FilterTags returns the tags that keep the limits, in order, and those it
// dropped, as Next.js's validateTags does: a tag CheckTag refuses is
// dropped, and once MaxTags tags are kept the rest are dropped. When none is
// dropped it returns tags itself and allocates nothing.
func FilterTags(tags []string) (kept []string, dropped []DroppedTag) {
	bad := len(tags) > MaxTags
	for i := 0; i < len(tags) && !bad; i++ {
		bad = tagProblem(tags[i]) != ""
	}
	if !bad {
		return tags, nil
	}
	kept = make([]string, 0, min(len(tags), MaxTags))
	for _, t := range tags {
		why := tagProblem(t)
		if why == "" && len(kept) == MaxTags {
			why = TagTooMany
		}
		if why != "" {
			dropped = append(dropped, DroppedTag{Tag: t, Reason: why})
			continue
		}
		kept = append(kept, t)
	}
	return kept, dropped
}

// A Scheduler runs background work: regenerations and data refreshes. The
// engine's default runs them on a bounded pool and waits for them on Close;
// a simulation can run them on virtual time instead.
type Scheduler interface {
	Go(f func())
}

// SchedulerFunc adapts a function to a Scheduler.
type SchedulerFunc func(f func())

// Go calls s(f).
func (s SchedulerFunc) Go(f func()) { s(f) }
