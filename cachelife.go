package regen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CacheLife is a cache profile, Next.js 16's cacheLife: three clocks.
//
//   - Stale is how long a client (a browser's router cache) may use the
//     content without asking the server: Next.js sends it to its client
//     router only, never in Cache-Control, and regen does the same (it is
//     carried in the route's policy and route table, not in a header).
//   - Revalidate is how long the content is fresh: after it, it is served
//     stale while one regeneration runs (ISR).
//   - Expire is the age after which the content is not served stale any
//     more: the next request waits for a fresh render. Zero means never
//     (Next.js's default profile); the route's Options.Expire then applies.
//
// A profile is declared by name wherever a revalidate is (layouts, pages,
// handlers, fetches, Memoize), in place of a revalidate: declaring both is a
// configuration error. The built-in profiles are Next.js 16's
// (BuiltinCacheLife); a site adds or overrides profiles by name.
type CacheLife struct {
	Stale      time.Duration // zero: not set (Next.js falls back to its staleTimes.static)
	Revalidate Revalidate
	Expire     time.Duration // zero: never
}

// Declared reports whether c is not the zero value.
func (c CacheLife) Declared() bool { return c != CacheLife{} }

// Valid reports whether c's clocks are usable: whole seconds, not
// negative, revalidate declared and not Never (a profile caches; for no
// caching declare revalidate 0 instead), and revalidate below expire when
// both are finite, as Next.js's config check requires.
func (c CacheLife) Valid() error {
	switch {
	case c.Stale < 0 || c.Stale%time.Second != 0:
		return fmt.Errorf("stale %v (must be a whole number of seconds, 0 or more)", c.Stale)
	case c.Expire < 0 || c.Expire%time.Second != 0:
		return fmt.Errorf("expire %v (must be a whole number of seconds, 0 or more)", c.Expire)
	case !c.Revalidate.Declared() || c.Revalidate == Never:
		return fmt.Errorf("revalidate %v (a profile must give a positive number of seconds or false)", c.Revalidate)
	}
	if err := c.Revalidate.Valid(); err != nil {
		return err
	}
	if d, ok := c.Revalidate.Interval(); ok && c.Expire > 0 && d >= c.Expire {
		return fmt.Errorf("revalidate %v is not below expire %d (lower revalidate or raise expire)", c.Revalidate, c.Expire/time.Second)
	}
	return nil
}

// String formats c as the site spec writes it:
// "{stale: 300, revalidate: 3600, expire: 86400}", leaving out what is not set.
func (c CacheLife) String() string {
	var parts []string
	if c.Stale > 0 {
		parts = append(parts, "stale: "+strconv.FormatInt(int64(c.Stale/time.Second), 10))
	}
	if c.Revalidate.Declared() {
		parts = append(parts, "revalidate: "+c.Revalidate.String())
	}
	if c.Expire > 0 {
		parts = append(parts, "expire: "+strconv.FormatInt(int64(c.Expire/time.Second), 10))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

const (
	minute = 60 * time.Second
	hour   = 60 * minute
	day    = 24 * hour
	week   = 7 * day
)

// builtinCacheLife are Next.js 16's profiles
// (packages/next/src/server/config-shared.ts, cacheLife), sorted by name.
var builtinCacheLife = []struct {
	name string
	life CacheLife
}{
	{"days", CacheLife{Stale: 5 * minute, Revalidate: Seconds(86400), Expire: week}},
	{"default", CacheLife{Revalidate: Seconds(900)}},
	{"hours", CacheLife{Stale: 5 * minute, Revalidate: Seconds(3600), Expire: day}},
	{"max", CacheLife{Stale: 5 * minute, Revalidate: Seconds(30 * 86400), Expire: 365 * day}},
	{"minutes", CacheLife{Stale: 5 * minute, Revalidate: Seconds(60), Expire: hour}},
	{"seconds", CacheLife{Stale: 30 * time.Second, Revalidate: Seconds(1), Expire: minute}},
	{"weeks", CacheLife{Stale: 5 * minute, Revalidate: Seconds(7 * 86400), Expire: 30 * day}},
}

// BuiltinCacheLife returns the built-in profile called name, with Next.js
// 16's values (seconds; stale/revalidate/expire): default –/900/never,
// seconds 30/1/60, minutes 300/60/3600, hours 300/3600/86400, days
// 300/86400/604800, weeks 300/604800/2592000, max 300/2592000/31536000.
func BuiltinCacheLife(name string) (CacheLife, bool) {
	for _, b := range builtinCacheLife {
		if b.name == name {
			return b.life, true
		}
	}
	return CacheLife{}, false
}

// BuiltinCacheLifeNames returns the names of the built-in profiles, sorted.
func BuiltinCacheLifeNames() []string {
	names := make([]string, len(builtinCacheLife))
	for i, b := range builtinCacheLife {
		names[i] = b.name
	}
	return names
}

// CheckCacheLifeName reports whether name can name a profile: letters,
// digits, '-' and '_', starting with a letter, at most 64 bytes. "stale"
// and "expire" are revalidation modes, not profiles.
func CheckCacheLifeName(name string) error {
	ok := name != "" && len(name) <= 64 && isLetter(name[0])
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = isLetter(c) || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	if !ok {
		return fmt.Errorf("cache profile name %q (must be letters, digits, - and _, starting with a letter, at most 64 bytes)", name)
	}
	if name == "stale" || name == "expire" {
		return fmt.Errorf("cache profile name %q is a revalidation mode (choose another name)", name)
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// RevalidateMode is how an on-demand revalidation treats existing entries:
//
//   - RevalidateStale (the zero value) marks them stale: the next request
//     is served the old content once while a regeneration runs.
//   - RevalidateExpire expires them: the next request waits for fresh
//     content (Next.js's updateTag).
//   - RevalidateProfile(name) marks them stale now and lets them be served
//     stale until the profile's expire, after which the next request waits
//     (Next.js 16's revalidateTag(tag, profile)). StaleUntil(d) is the
//     same with the expire given directly.
//
// Modes are comparable with ==.
type RevalidateMode struct {
	profile string        // the profile's name; "" for the other modes
	expire  time.Duration // <0: expire now; 0: no bound; >0: stale until then
}

var (
	// RevalidateStale marks entries stale: served once more while one
	// regeneration runs.
	RevalidateStale = RevalidateMode{}
	// RevalidateExpire expires entries: the next request waits for fresh
	// content.
	RevalidateExpire = RevalidateMode{expire: -1}
)

// StaleUntil returns the mode that marks entries stale now and expires
// those made before now once d has passed. StaleUntil(0) (or less) is
// RevalidateExpire, as Next.js's revalidateTag(tag, {expire: 0}).
func StaleUntil(d time.Duration) RevalidateMode {
	if d <= 0 {
		return RevalidateExpire
	}
	return RevalidateMode{expire: d}
}

// RevalidateProfile returns the mode of revalidateTag(tag, name): entries
// are marked stale now and expire after the profile's expire. A built-in
// profile carries its expire already; another name is resolved by the
// engine, against its own profiles, when the mode is used (an unknown name
// is an error there). A profile without expire ("default") marks stale
// without a bound, as RevalidateStale.
func RevalidateProfile(name string) RevalidateMode {
	m := RevalidateMode{profile: name}
	if c, ok := BuiltinCacheLife(name); ok {
		m.expire = c.Expire
	}
	return m
}

// WithLife returns the mode of the profile m names, resolved to life.
func (m RevalidateMode) WithLife(life CacheLife) RevalidateMode {
	return RevalidateMode{profile: m.profile, expire: life.Expire}
}

// Profile returns the name of the profile m revalidates by, or "".
func (m RevalidateMode) Profile() string { return m.profile }

// ExpireAfter reports how long after the revalidation the marked entries
// stop being served stale: (0, true) for RevalidateExpire, (d, true) for a
// profile or StaleUntil with an expire, and (0, false) when they stay
// servable stale (RevalidateStale, or a profile without expire).
func (m RevalidateMode) ExpireAfter() (time.Duration, bool) {
	switch {
	case m.expire < 0:
		return 0, true
	case m.expire > 0:
		return m.expire, true
	}
	return 0, false
}

// String returns "stale", "expire", the profile's name, or
// "stale-until=<seconds>" for StaleUntil.
func (m RevalidateMode) String() string {
	switch {
	case m.profile != "":
		return m.profile
	case m.expire < 0:
		return "expire"
	case m.expire > 0:
		return "stale-until=" + strconv.FormatFloat(m.expire.Seconds(), 'f', -1, 64)
	}
	return "stale"
}

// MarshalText is String, so that a mode reads "stale", "expire" or a
// profile's name in JSON.
func (m RevalidateMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText is ParseRevalidateMode.
func (m *RevalidateMode) UnmarshalText(b []byte) error {
	v, err := ParseRevalidateMode(string(b))
	if err == nil {
		*m = v
	}
	return err
}

// ParseRevalidateMode parses "stale" (or ""), "expire", or the name of a
// cache profile (RevalidateProfile), which the engine resolves.
func ParseRevalidateMode(s string) (RevalidateMode, error) {
	switch s {
	case "", "stale":
		return RevalidateStale, nil
	case "expire":
		return RevalidateExpire, nil
	}
	if CheckCacheLifeName(s) != nil {
		return RevalidateMode{}, fmt.Errorf("unknown revalidate mode %q (must be stale, expire or a cache profile: %s)", s, strings.Join(BuiltinCacheLifeNames(), ", "))
	}
	return RevalidateProfile(s), nil
}

// sortedNames returns the keys of m, sorted.
func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// CacheLifeNames returns the names of the built-in profiles and of custom,
// sorted and without repeats: the names a site may use.
func CacheLifeNames(custom map[string]CacheLife) []string {
	names := append(BuiltinCacheLifeNames(), sortedNames(custom)...)
	slices.Sort(names)
	return slices.Compact(names)
}

// LookupCacheLife returns the profile called name in custom, else the
// built-in one. An unknown name is an error listing the known ones.
func LookupCacheLife(name string, custom map[string]CacheLife) (CacheLife, error) {
	if c, ok := custom[name]; ok {
		return c, nil
	}
	if c, ok := BuiltinCacheLife(name); ok {
		return c, nil
	}
	return CacheLife{}, fmt.Errorf("unknown cache profile %q (known: %s)", name, strings.Join(CacheLifeNames(custom), ", "))
}
