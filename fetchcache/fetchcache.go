// Package fetchcache memoizes tagged fetch calls, each with its own revalidate interval.
package fetchcache

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

// Request is one fetch: what to ask the origin, and how to cache the answer.
type Request struct {
	Method string      // "" means GET
	URL    string      // absolute, or relative to a Fetcher that understands it
	Header http.Header // request headers; they take part in the key (but see Key)
	Body   []byte      // request body; takes part in the key

	// Revalidate is this fetch's own interval. NotDeclared means the
	// Call's DefaultRevalidate.
	Revalidate regen.Revalidate
	// Cache is the fetch's cache mode. NoStore (or Revalidate Never) means
	// the response is never stored.
	Cache regen.CacheMode
	// Tags are explicit tags for on-demand revalidation.
	Tags []string
}

// Response is what an origin answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Fetcher asks an origin. Implementations must be safe for concurrent use.
type Fetcher interface {
	Fetch(ctx context.Context, req *Request) (*Response, error)
}

// FetcherFunc adapts a function to a Fetcher.
type FetcherFunc func(ctx context.Context, req *Request) (*Response, error)

// Fetch calls f(ctx, req).
func (f FetcherFunc) Fetch(ctx context.Context, req *Request) (*Response, error) { return f(ctx, req) }

// StatusError is returned when the origin answers with a non-2xx status.
// Such responses are never stored.
type StatusError struct {
	URL    string
	Status int
}

func (e *StatusError) Error() string { return "fetchcache: " + e.URL + ": status " + http.StatusText(e.Status) }

// ErrTooManyTags is wrapped by errors for requests whose tags break
// regen.MaxTags or regen.MaxTagLen.
var ErrTooManyTags = regen.ErrTag

// Call carries what one caller knows about the fetch it is making: the time,
// the route around it. The zero Call means: now is time.Now(), no implicit
// tags, default revalidate Forever, stale data served while it refreshes.
type Call struct {
	// Now is the time of the request, read once at the edge.
	Now time.Time
	// ImplicitTags are the tags of the route and layouts the fetch is made
	// in. They are stored with a new entry, and an entry is also stale when
	// one of them was revalidated after it was made.
	ImplicitTags []string
	// DefaultRevalidate applies to requests that declare no Revalidate and no
	// Cache mode: the route's revalidate. NotDeclared means Forever. Never
	// means such fetches are not cached.
	DefaultRevalidate regen.Revalidate
	// RefreshStale makes a stale entry refresh before it is returned (the
	// caller waits), instead of being returned at once with a background
	// refresh. Regenerations set it so they never bake stale data into a page.
	RefreshStale bool
}

// Result describes how a fetch was answered.
type Result struct {
	Key        string           // the cache key
	Status     regen.Status     // Hit, Stale, Miss; Bypass for an uncached fetch
	Revalidate regen.Revalidate // the effective revalidate: Never when uncached
	Tags       []string         // the explicit tags
}

// Options configure a Cache. The zero value means all defaults.
type Options struct {
	// Store holds the entries. If nil, a new store.Memory of 64 MiB is used.
	Store store.Store
	// Fetcher asks the origin. If nil, requests go through http.DefaultClient.
	Fetcher Fetcher
	// Scheduler runs background refreshes. If nil, each runs in a goroutine
	// that Close waits for.
	Scheduler regen.Scheduler
	// Logger receives failed background refreshes. If nil, slog.Default().
	Logger *slog.Logger
	// RetryBackoff is the wait after a failed background refresh before the
	// key is refreshed again; it doubles on each failure up to 5 minutes.
	// If zero, 2 seconds.
	RetryBackoff time.Duration
}

// Cache is the Data Cache. It is safe for concurrent use.
type Cache struct {
	// TODO: implement.
}

// New returns a Cache.
func New(opts Options) *Cache { panic("TODO") }

// Key returns the cache key of req: a hash (xxhash, 128 bits, hex) over its
// method, URL, headers and body, prefixed "fetch:".
func Key(req *Request) string { panic("TODO") }

// Fetch answers req from the cache or the origin.
func (c *Cache) Fetch(ctx context.Context, req *Request, call Call) (*Response, Result, error) {
	panic("TODO")
}

// MemoOptions configure one Memoize call.
type MemoOptions struct {
	Revalidate regen.Revalidate // NotDeclared: the Call's DefaultRevalidate
	Tags       []string
}

// Memoize gives fn the Data Cache's caching under the key formed by keyParts,
// like Next.js's unstable_cache: fresh values are returned without calling fn,
// stale ones are returned and refreshed once in the background, a failed
// refresh keeps the last good value.
func (c *Cache) Memoize(ctx context.Context, keyParts []string, opts MemoOptions, call Call, fn func(ctx context.Context) ([]byte, error)) ([]byte, Result, error) {
	panic("TODO")
}

// Close waits for background refreshes started with the default scheduler.
func (c *Cache) Close() error { panic("TODO") }

var _ = errors.New
