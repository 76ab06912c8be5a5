/*
Package render runs one route's layouts and page and records what the render
reveals.

Render runs one render of one path, root first: each layout renders its child
(Child, templ.Component's method set) where the child goes, and the page
renders last. A layout segment without a renderer passes its child through.
The output goes into one buffer, which is the Result's Body; with a
Job.Stream, it also leaves as the render goes (see Stream): the first bytes of
a page reach the client before its last are written. Only a complete render is
returned; on an error, a panic or a ModeError, Render returns no Result, so a
cache above keeps its last good entry.

# What a render records

A render reveals what its route's declarations may not: which dynamic APIs it
reads and which fetches it makes. The Record says so, for the engine to refine
the route's policy at its first render (docs/caching.md, route policy rule 7):

  - Reads holds one Read per segment and API, in the order of first reads,
    whatever the number of reads. Params are not a dynamic API.
  - Fetches holds one Fetch per call made through the Data Cache (Fetch and
    Memoize), in the order the calls were started, with how the Data Cache
    answered and the effective revalidate. Calls shared by request
    memoization are recorded once, under the segment that made the first.
    A fetch that failed is recorded too, with the revalidate it would have
    had: a page that renders around a failed fetch (or answers 404 because of
    it) still depends on it.

# Dynamic modes

Job.Mode is the route's effective mode, read root to page by the engine.
Reading a dynamic API (Cookies, Cookie, Headers, Header, SearchParams):

  - force-static: returns empty values and records nothing.
  - error: returns empty values and fails the render with a *ModeError naming
    the first violation, even if the segment ignored the values.
  - auto, force-dynamic or not declared: records the read and returns the
    request's values; when prerendering (Job.Request is nil) the values are
    empty, and the read is still recorded, so the engine learns that the
    route is dynamic.

Fetches follow the same modes. In error mode, an uncached fetch (no-store,
revalidate 0, or a default of Never) fails the render with a *ModeError whose
API is "uncached fetch <url>"; when the fetch is uncached by its declaration,
it is refused before it reaches the Data Cache. In force-static mode,
fetches default to cached: a fetch that declares neither a revalidate nor a
cache mode, in a route whose Job.Call.DefaultRevalidate is Never (the engine
option for Next.js 15's uncached default), is made with ForceCache and cached
until revalidated on demand, as Next.js's force-static does. A fetch that
asks for no-store explicitly stays uncached.

# Not found

A segment that returns ErrNotFound answers 404, as Next.js's notFound() does.
The nearest not-found page above it (Segment.NotFound of a layout segment)
replaces the output of everything below that layout, inside the layouts above
it, as Next.js's not-found boundaries do; without one, NotFoundBody replaces
the segment's own output and every layout above it still wraps it. The Result
is complete and carries its Record, so the engine may cache it like any page.

# Responses

A segment sets the response's status (Scope.SetStatus) and headers
(Scope.SetHeader, Scope.AddHeader), from any of its goroutines; Result.Status
and Result.Header carry them, and the engine stores them with the entry. A
segment that returns Redirect(url, permanent) ends the render at once: what
the segments wrote is dropped, and the Result is a 307 (308 when permanent)
with a Location header and RedirectBody, as Next.js's redirect() and
permanentRedirect() answer in a page. A redirect wins over ErrNotFound, which
wins over SetStatus. A status outside 200 to 599, Set-Cookie, Location, or a
malformed header fails the render.

# Request memoization

Within one render, identical fetches share one call, even uncached ones and
even from goroutines a segment starts: the same fetchcache.Key with the same
cache mode and revalidate, or the same Memoize key parts and revalidate. A
call that failed is shared too (it is not retried within the render), except
when its first caller gave up because its own context ended: the others then
start over. Callers that share a call share the returned bytes and must not
modify them.
*/
package render
