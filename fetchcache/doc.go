/*
Package fetchcache memoizes tagged fetch calls, each with its own revalidate
interval.

The Cache is regen's Data Cache, after Next.js's: each fetch (or memoized
function) is cached in its own entry, under its own revalidate interval and
tags, whether or not the route that makes it is cached.

# Keys

A fetch's key is "fetch:" and 32 hex digits: two 64-bit xxhash digests with
different seeds over the method ("" counts as GET), the URL, the headers and
the body. Headers are taken by canonical name in sorted order, so neither
the order they were set in nor the case of their names changes the key;
headers without values and the tracing headers traceparent and tracestate
are left out, as Next.js leaves them out. Every field is length-prefixed, so
two requests never share a key by concatenation (URL "a" with body "bc" and
URL "ab" with body "c" have different keys). Memoize's key is "memo:" and
the same kind of hash over the number of key parts and each part, so
[]string{"a,b"} and []string{"a", "b"} differ.

The revalidate interval, the cache mode and the tags are not part of the
key, as in Next.js: fetches of the same request with different intervals
share one entry, and each judges its freshness by its own interval.

# Effective revalidate

A request is cached by its effective revalidate:

  - Cache NoStore: Never, whatever Revalidate declares;
  - else Revalidate, if declared (Never included, even with ForceCache);
  - else, with ForceCache: the Call's DefaultRevalidate if it caches (a
    number of seconds or Forever), Forever otherwise;
  - else the Call's DefaultRevalidate, NotDeclared meaning Forever.

Memoize has no cache mode: MemoOptions.Revalidate, else the Call's
DefaultRevalidate, else Forever. An invalid Revalidate (negative, not Never)
or cache mode is an error: nothing is fetched.

Tags that break the limits (regen.FilterTags: empty, over regen.MaxTagLen
bytes, not valid UTF-8, holding a control character, or beyond the first
regen.MaxTags) are dropped, as Next.js's validateTags drops them, not an
error: the fetch is made and cached under the tags that keep them, which
Result.Tags reports. A tag built from a request (a "product-{slug}" tag of a
long slug) so never fails the fetch or the page. The drop is logged at
Debug level; the engine warns of it once per route. Implicit tags come from
the engine and are not checked here.

An effective Never means uncached: the origin is called every time, nothing
is stored or read, and the Result says Bypass.

# Freshness

An entry's status for one call is:

  - Miss when there is none, or when one of its own tags or of the call's
    ImplicitTags was revalidated in expire mode after the entry was made;
  - Stale when one of them was revalidated in stale mode after it was made,
    or when the entry is at least the call's effective revalidate old at
    Call.Now;
  - Hit otherwise.

Age is judged by the revalidate of the call reading the entry, not the one
that stored it (Next.js judges a fetch entry by the reading fetch's
revalidate too), so no caller is served data older than it declared. The
entry records the interval it was stored with, for other readers of the
store.

Entries have no expire: the Data Cache keeps an entry until it is replaced
or evicted by the store, and a stale entry goes on being served while its
refreshes fail (the last good value).

# Answers

  - Hit: the entry, without calling the origin.
  - Stale: the entry, at once, and one background refresh for the key,
    unless one is in flight (for a refresh or a miss) or the key is backing
    off. With Call.RefreshStale the caller instead waits for a refresh,
    joining one in flight, and gets the new value (Status Miss, since it
    waited for the origin); if the refresh fails the stale entry is
    returned with Status Stale and no error. A RefreshStale caller, on a
    miss too, does not take the answer of a call it joined that started
    before one of the entry's tags was revalidated (the answer may predate
    the change): it waits for one more origin call.
  - Miss: the origin's answer. Concurrent callers of one key share one
    origin call. The call runs detached from the caller's context
    (context.WithoutCancel), in a goroutine of its own that Close waits
    for, so a caller whose ctx ends stops waiting with ctx.Err() while the
    others, and the store, still get the answer.
  - Bypass: the origin's answer, uncached, on the caller's goroutine with
    the caller's ctx.

Every origin call in flight first re-checks the store, since another call
may have stored a fresh entry after its caller looked: it then returns that
entry without calling the origin, and its callers see Hit. One call in
flight serves every caller of the key, whatever their tags or revalidate:
the entry stored carries the tags and revalidate of the caller that started
it.

Only 2xx answers are stored. A non-2xx answer is returned as a *StatusError
(find it with errors.As); an origin error is returned wrapped once,
"fetchcache: fetch <url>: <error>" ("memoize:" and the key parts joined by
commas stand for the URL of a Memoize call); a panic in a Fetcher or a
memoized function is recovered and returned as an error with its stack.
Callers waiting for a shared call all get its error.

An entry stored holds the answer's status, header and body, the request's
tags followed by the call's implicit tags, the effective revalidate, and as
Created the time the fetch started: Call.Now for a call a caller waits for,
Options.Now when a background refresh starts.

# Background refreshes and back-off

A background refresh runs through Options.Scheduler, detached from the
context of the call that started it. A refresh that fails (an error, a
non-2xx answer or a panic) keeps the last good entry, is logged once to
Options.Logger with the key, the URL and the error, and backs the key off:
no background refresh of it starts before the refresh's start plus
RetryBackoff, a wait that doubles with each consecutive failure up to 5
minutes (or RetryBackoff, if longer) and is forgotten on the key's next
success. A synchronous refresh (Call.RefreshStale) does not wait for the
back-off, since its caller asked for fresh data, but its failure is logged
and counted the same way. A failed miss is not logged: its callers get the
error.

# Store failures

A store that fails on Get or TagState is logged and treated as empty: the
call goes to the origin. A failed Set is logged; the answer is still
returned. The default store, a store.Memory of 64 MiB in 64 shards, does
not keep items larger than a shard's share (1 MiB); pass a Store of your
own for larger responses.

# The default Fetcher

With no Options.Fetcher, requests go through an http.Client whose Timeout
is Options.Timeout, with the call's context, and response bodies are read
whole, up to 32 MiB (beyond is an error).

# Deadlines

Every origin call, the default Fetcher's or yours, and every memoized
function gets a context that ends after Options.Timeout (DefaultTimeout, 10
s): a hung origin fails the call, which is then handled like any failed
call (the last good value is kept, the key backs off). Calls shared by
several callers, and background refreshes, run detached from their callers'
contexts but under that timeout; Shutdown cancels them when its own
deadline passes. A Fetcher must honour its context. One that does not is
abandoned by the callers whose deadlines pass: the next caller makes a call
of its own instead of waiting behind it.

A Scheduler that also has a method TryGo(func()) bool (the engine's bounded
pool) may refuse a background refresh when it is full: the refresh is
skipped, and a later stale read asks again. A caller that waits for the
key's answer (a miss, or a refresh with Call.RefreshStale) while its
background refresh is still queued makes the call itself, at once, rather
than wait for the queue: the refresh does not run.

# Sharing and concurrency

A Cache is safe for concurrent use. Responses and memoized values are
shared: the Header and Body of a Response returned by Fetch, and the bytes
returned by Memoize, are those of the cache entry, handed to every caller,
and must not be modified. A Fetcher gives up its Response when it returns
it. Requests are copied before an origin call in flight outlives the caller
that made it. Fetchers and memoized functions never run under a lock of the
Cache.

Request memoization (identical fetches within one render sharing one call,
even when uncached) is the render layer's business, not the Cache's.

# Metrics and traces

With Options.Metrics, a Cache counts regen_data_cache_requests_total{cache}
(each Fetch and Memoize call by how it was answered: hit, stale, miss,
bypass), regen_origin_fetches_total{result} (each origin call: ok, error,
timeout) and regen_origin_fetch_duration_seconds (a histogram). Caches
sharing a Registerer add up their counts. With Options.TracerProvider, each
Fetch and Memoize call is a "regen.fetch" span with the attributes url.full
and regen.data_cache; the origin call and the store operations run under
it. Both are off when nil.
*/
package fetchcache
