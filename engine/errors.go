package engine

import (
	"errors"
	"strings"

	"github.com/regen-dev/regen/render"
)

// Sentinel errors for the rules a configuration can break, matched with
// errors.Is on the errors New returns. A declared tag that breaks the tag
// limits matches regen.ErrTag.
var (
	ErrPattern      = errors.New("engine: bad pattern")
	ErrConflict     = errors.New("engine: conflicting routes")
	ErrRevalidate   = errors.New("engine: bad revalidate")
	ErrDynamic      = errors.New("engine: bad dynamic mode")
	ErrStaticParams = errors.New("engine: bad static params")
	ErrFetch        = errors.New("engine: bad fetch declaration")
	ErrRender       = errors.New("engine: missing renderer")
	ErrDynamicError = errors.New("engine: dynamic = \"error\" broken")
	ErrExpire       = errors.New("engine: bad expire")
	ErrCacheLife    = errors.New("engine: bad cache profile")
	ErrBasePath     = errors.New("engine: bad base path") // Options.BasePath is not a clean prefix such as "/docs"
)

// ErrNotFound, returned by a page or layout, answers 404, as Next.js's
// notFound() does, and the 404 is cached with the route's policy. It is
// render.ErrNotFound: one error, whichever package a site imports it from.
var ErrNotFound = render.ErrNotFound

// ConfigError is one problem in a route configuration. New returns every
// problem joined with errors.Join; errors.As finds each ConfigError, and
// errors.Is matches its Rule.
type ConfigError struct {
	Route   string // the route pattern ("/blog/[slug]"), or the registered pattern
	Segment string // `layout /blog` or `page /blog/[slug]`; empty for the route as a whole
	Field   string // "revalidate", "dynamic", "pattern", "staticParams", ...
	Rule    error  // one of the Err sentinels
	Msg     string // what is wrong and how to fix it
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("engine: route ")
	b.WriteString(quote(e.Route))
	if e.Segment != "" {
		b.WriteString(": ")
		b.WriteString(e.Segment)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the rule the configuration breaks.
func (e *ConfigError) Unwrap() error { return e.Rule }

func quote(s string) string { return `"` + s + `"` }
