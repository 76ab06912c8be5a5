/*
Package engine renders a route tree with Next.js-style caching and serves it over HTTP.

It is what users embed: it registers layouts and pages under
segment patterns, validates the whole route tree at once, derives and
explains each route's caching policy, serves requests as an http.Handler,
regenerates pages in the background, revalidates on demand, and prerenders.

# Registering routes

A Site collects layouts and pages at patterns made of static names, [param],
[...param] (catch-all), [[...param]] (optional catch-all) and (group) (no URL
part). New validates everything and reports every problem at once, each a
*ConfigError naming the route, the segment, the field and the fix; errors.Is
matches the rule (ErrRevalidate, ErrConflict, ...).

# Policy

Each route's policy follows docs/caching.md's rules 1-8: the lowest declared
revalidate wins across its layouts, page and fetches; force-dynamic,
revalidate 0, or (in auto mode) a dynamic API read or an uncached fetch makes
it dynamic; force-static empties dynamic APIs; error fails the render.
Declarations (Layout.Uses, Page.Fetches, ...) decide the policy at New; what
renders reveal refines it and the refined policy is kept (Routes, Policy).

A segment or fetch may name a cache profile (CacheLife: "hours"; Next.js 16's
cacheLife) instead of a revalidate: the built-ins of regen.BuiltinCacheLife,
or the site's own (Options.CacheLife, Site.CacheLife). Its revalidate counts
as the segment's; the route's expire is the lowest expire among the profiles
it uses, else Options.Expire, and Cache-Control says
"s-maxage=R, stale-while-revalidate=E-R". RevalidateTag with
regen.RevalidateProfile(name) serves the tagged entries stale until the
profile's expire, then expired.

Where the design leaves a question open, the engine decides as follows.

  - A fetch that declares neither revalidate nor cache mode is cached with the
    lowest revalidate its route's segments declare (forever when none do), as
    in Next.js 14. In a force-dynamic route, or one with revalidate 0, such
    fetches are not cached. Options.UncachedFetchDefault makes them uncached
    everywhere but in force-static routes (rule 4), as in Next.js 15; like
    Next.js 15's "auto no cache", such a fetch does not make its route
    dynamic (only no-store and revalidate 0 do): a static or ISR page makes
    it at each render.
  - Each path's entry carries its own interval: the route's declared one,
    lowered by the fetches that path's render made. The reported policy is
    the lowest seen across the route's paths.
  - An entry's age counts from the start of the render that made it, when its
    data was read.
  - A render whose output will be cached (a MISS, a regeneration, a
    prerender) refreshes stale Data Cache entries before using them, so a new
    page never bakes in stale data; a dynamic render serves stale data while
    it refreshes in the background.
  - A route that a render reveals to be dynamic (a cookie read, say) stops
    being cached, and its cached paths are expired at once.
  - A page that returns ErrNotFound (render.ErrNotFound) is cached as a 404
    under its route's policy, as Next.js does for notFound() in ISR pages.
    Site.NotFound registers not-found pages (Next.js's not-found.js): the
    nearest one above the segment renders the 404 inside the layouts above
    it, and the one at "/" also answers unmatched paths, as the route
    /_not-found, cached once. Options.ErrorPage receives the error of a
    failed render.
  - A regeneration whose data refresh fails fails too, rather than baking
    the last good data into a page dated now: the old page, built from the
    same data, goes on being served as STALE until a retry succeeds. A first
    render (a MISS, a prerender) has no page to keep and uses the last good
    data.
  - A failed regeneration keeps the last good entry, logs, and waits
    Options.RetryBackoff (2s by default) before the next try, doubling with
    each consecutive failure up to MaxRetryBackoff (5 minutes).

# Serving

ServeHTTP answers GET and HEAD (other methods get 405). The path is checked
before any lookup: control bytes and invalid UTF-8 (after percent-decoding)
are 400, paths over MaxPathLen are 414, dot and empty segments are 404, and
a trailing slash redirects (308) to the path without it, keeping the query
string, as Next.js does. The redirect's Location is built from the escaped
path and never leaves the site ("//host" or "/\host" are never produced). The cache key is the path: query strings are
ignored for static and ISR routes; a route that reads search params is
dynamic and sees them.

  - A fresh entry is a HIT. An entry past its revalidate is STALE: served at
    once while one background regeneration runs. No entry is a MISS: one
    render per path, shared by concurrent requests (see Deadlines and
    bounds). Dynamic routes are BYPASS.
  - Every response has X-Cache-Status and an RFC 9211 Cache-Status
    ("regen; hit", "regen; hit; detail=stale-while-revalidate",
    "regen; fwd=miss; stored", "regen; fwd=bypass"). Cached responses carry
    an ETag and answer If-None-Match with 304, and a Cache-Control of
    "s-maxage=31536000" (static), "s-maxage=N, stale-while-revalidate=E-N"
    (ISR) or "private, no-cache, no-store, max-age=0, must-revalidate"
    (dynamic).

A dynamic render, and the MISS render a request starts, stream to that
request from the page's first byte (or a segment's Flush): the layouts'
heads and the page's first bytes leave while the rest renders; the entry is
stored whole for the others. Status and headers are fixed at the first byte;
a failure, or a redirect or notFound() that must take back bytes that left,
closes the connection, and nothing partial is cached (docs/caching.md,
Streaming).

A layout or page may declare Holes, placed with render.Scope.Hole: parts
rendered per request (partial prerendering). A route whose only request
reads are in holes is partial: its shell is cached by the route's policy,
its holes render concurrently for each request and stream in place, in
document order, and the response is private. See Hole.

When several engines share a store that is a store.Locker (the Redis store),
one instance renders a path at a time: the others keep serving STALE, and a
MISS waits for the other instance's entry (up to 5 seconds) before rendering
itself.

# Deadlines and bounds

Nothing the engine waits for is unbounded:

  - Every origin call made while rendering ends after Options.FetchTimeout
    (10s by default; fetchcache.Options.Timeout), and every render after
    Options.RenderTimeout (30s). A MISS render runs detached from the
    requests waiting for it (a request that gives up does not cancel it);
    they stop waiting when their own context ends or the render passes its
    deadline, and are answered 504 (500 for a render that failed). A render
    that ignores its context is abandoned at the deadline: the next request
    starts a fresh one, so a path is never stuck behind it.
  - A background regeneration that fails or times out keeps the last good
    page (STALE) and backs off. Regenerations and data refreshes run on a
    pool of Options.MaxRegenerations goroutines (DefaultMaxRegenerations:
    twice GOMAXPROCS, at least 10) with a queue of
    Options.RegenerationQueue (1024); work that finds the queue full is
    skipped and asked for again by a later request. Hits never wait, and
    neither does a MISS for the queue: it takes over a regeneration of its
    path that is still queued, and renders at once.
  - Close waits for every render the engine started, MISS ones included;
    Shutdown(ctx) does the same until ctx ends, then cancels them. A request
    that needs a render after Close is answered 503.
  - The memory store is bounded by Options.MaxBytes, charging each entry
    what it costs in the heap; the back-off state of failing paths and data
    keys is bounded too (10,000 of each).

# Metrics and traces

With Options.Metrics (a prometheus.Registerer), the engine and its Data
Cache count, with every labelled child resolved at New (a HIT allocates
nothing more), and label values bounded (never a path, tag or URL):

  - regen_requests_total{cache="hit|stale|miss|bypass"}: requests answered,
    by the X-Cache-Status sent; regen_request_duration_seconds{cache}: how
    long they took (histogram).
  - regen_renders_total{reason="miss|regenerate|prerender|dynamic",
    result="ok|error|timeout"}: renders; regen_render_duration_seconds{reason}
    (histogram); regen_regenerations_in_flight (gauge): background
    regenerations running; regen_regenerations_deduplicated_total: STALE
    requests that found their path's regeneration in flight;
    regen_hole_failures_total: holes answered with their fallback.
  - regen_data_cache_requests_total{cache}: fetches and memoized calls by
    how the Data Cache answered; regen_origin_fetches_total{result}: origin
    calls; regen_origin_fetch_duration_seconds (histogram).
  - regen_revalidations_total{kind="tag|path",mode="stale|expire"}:
    on-demand revalidations.
  - regen_store_bytes, regen_store_entries, regen_store_evictions_total:
    the store's own counts read when scraped (store.UsageReporter;
    Engine.StoreUsage); regen_store_available (0/1) for a shared store;
    regen_store_errors_total{op}: failed store operations.

With Options.TracerProvider, each request gets a "regen.request" span
(regen.cache, regen.route), each render a "regen.render" span
(regen.render.reason, regen.render.result), each fetch a "regen.fetch" span
(url.full, regen.data_cache), each store operation a "regen.store.get",
".set", ".delete", ".revalidate_tags", ".tag_state" or ".lock" span, and
each background regeneration a "regen.regenerate" span: a new root, linked
to the request span that found the path STALE. Without it no span is made,
at the cost of a nil check. docs/observability.md has the details.

# Time

Options.Now is read once per request and once when background work starts;
Options.Scheduler runs background work. Tests move time with testing/synctest,
and simulations run the engine on virtual time through both.
*/
package engine
