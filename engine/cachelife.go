package engine

import (
	"fmt"
	"maps"
	"time"

	"github.com/regen-dev/regen"
)

// mergeLives returns the profiles of site and opts, opts winning.
func mergeLives(site, opts map[string]regen.CacheLife) map[string]regen.CacheLife {
	if len(site) == 0 {
		return opts
	}
	m := make(map[string]regen.CacheLife, len(site)+len(opts))
	maps.Copy(m, site)
	maps.Copy(m, opts)
	return m
}

// cacheLifeErrors checks the site's own cache profiles (Site.CacheLife,
// Options.CacheLife).
func cacheLifeErrors(lives map[string]regen.CacheLife) []error {
	var errs []error
	for _, name := range regen.CacheLifeNames(lives) {
		c, ok := lives[name]
		if !ok {
			continue // a built-in
		}
		fail := func(err error) {
			errs = append(errs, &ConfigError{Route: "/", Field: "CacheLife", Rule: ErrCacheLife,
				Msg: fmt.Sprintf("cache profile %q (Site.CacheLife or Options.CacheLife): %v", name, err)})
		}
		if err := regen.CheckCacheLifeName(name); err != nil {
			fail(err)
		} else if err := c.Valid(); err != nil {
			fail(err)
		}
	}
	return errs
}

// resolveMode gives a revalidation by a cache profile the profile's expire,
// from Options.CacheLife or the built-ins. Other modes are returned as they
// are.
func (e *Engine) resolveMode(mode regen.RevalidateMode) (regen.RevalidateMode, error) {
	name := mode.Profile()
	if name == "" {
		return mode, nil
	}
	c, err := regen.LookupCacheLife(name, e.in.lives)
	if err != nil {
		return mode, fmt.Errorf("%w: %v", ErrCacheLife, err)
	}
	return mode.WithLife(c), nil
}

// routeLife is the expire and stale of a route: the lowest among the cache
// profiles its segments and cached fetches use, and those its renders
// revealed; 0 when none sets one. why names the one that set the expire.
func routeLife(r *route, obs *observed, c fetchRules) (expire, stale time.Duration, why string) {
	consider := func(e, s time.Duration, from string) {
		if e > 0 && (expire == 0 || e < expire) {
			expire, why = e, from
		}
		stale = minSet(stale, s)
	}
	for _, s := range r.segs {
		from := s.name()
		if s.cacheLife != "" {
			from += " (cacheLife " + s.cacheLife + ")"
		}
		consider(s.expire, s.stale, from)
		for i, f := range s.fetches {
			if s.fetchExpire != nil && !c.uncached(f) {
				consider(s.fetchExpire[i], 0, "fetch "+f.URL+" in "+s.name()+" (cacheLife "+f.CacheLife+")")
			}
		}
	}
	for _, f := range obs.fetches {
		if !f.Uncached {
			consider(f.Expire, 0, "fetch "+f.URL+" in "+f.Segment)
		}
	}
	return expire, stale, why
}
