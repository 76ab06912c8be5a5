// Package bench compares rendering strategies (SSG, SSR, ISR, PPR) on one site and one traffic pattern, on the real engine.
//
// Run, and `regen bench` (cmd/regen) on top of it, answer "which rendering strategy, and
// which revalidate interval, for my site, my traffic and my budget?". A
// Workload names a site spec, its traffic (requests per second, Zipf
// popularity over its paths), its content changes (per hour, which data) and
// the server's capacity (render workers). Each strategy rewrites the spec,
// builds it with sitespec, and serves the traffic with engine.New's
// http.Handler, as a user's server would: bench never models the engine.
//
// # Strategies
//
// Each is a rewrite of the parsed spec before engine.New (Strategy.apply):
//
//   - SSG: every page force-static with revalidate false; layouts and fetches
//     declare nothing, so data is cached until the next build. Every content
//     change triggers a full rebuild: a new engine and store, prerendered
//     with engine.Prerender from the origin's content at the build's start,
//     swapped in when done. The build lasts the sum of its renders' costs and
//     origin waits divided by the build workers (Capacity.BuildWorkers, on a
//     build machine: they do not take the server's workers). Changes arriving
//     during a build are coalesced into the next one.
//   - SSR: every page force-dynamic and every fetch no-store: each request
//     renders, each fetch goes to the origin.
//   - SSR+DataCache: every page reads a request header (dynamic in auto mode,
//     as a layout reading cookies makes it) and declared dynamic modes are
//     dropped; revalidates stay as declared, so each fetch is cached by its
//     own revalidate, or by its route's (Next.js 14's default), or forever
//     when neither declares one. That is what a dynamic layout leaves you
//     with, and the demo shows its cost: data nobody gave an interval is
//     never refreshed.
//   - ISR(N): every page force-static with revalidate N; layouts and fetches
//     declare nothing, so fetches are cached for N too.
//   - ISR(N)+on-demand: the same, plus a CMS webhook on every content change.
//     It revalidates the changed URL's narrowest tags (those carried by the
//     fewest URLs: "product-shoe" rather than "products"), or, for a URL
//     without tags, the paths that fetch it; in stale mode (the next request
//     is served the old page once while it regenerates) or, with
//     "+on-demand:expire", in expire mode (the next request waits).
//   - PPR(N): partial prerendering, as ISR(N) but with the site's holes
//     (spec holes:, engine.Hole) kept as declared: each hole renders per
//     request, its uncached fetches made per request, while the rest of the
//     page, its shell, is cached and regenerated every N. "ppr" without an
//     interval serves the shell as the site declares it. Optionally
//     +on-demand.
//   - declared: the site as its spec declares it (optionally +on-demand).
//
// Holes: SSG and ISR serve the site without them (without its
// personalisation: a Go site's holes then render nothing); SSR and
// SSR+DataCache fold each into the segment that declares it, as a site
// without partial prerendering is written: the segment reads, fetches and
// spends what the hole did, its fetches rewritten with the segment's (a Go
// site's hole then renders nothing, and the bench makes its fetches and
// spends its cost in the segment's render). PPR
// does not turn a layout's cookie read outside a hole into a hole: the
// bench cannot tell which part of the layout's output depends on it, and
// the pages below it may be per user (a dashboard). Declare the hole in the
// site to measure it: examples/workloads/ppr.yaml compares SSR (what
// Next.js 15 gives a site whose layout reads a cookie), PPR, and ISR
// without the personalisation.
//
// Under SSG, ISR and PPR(N), per-user segments (those that read cookies, headers or
// search params, and pages below such a layout) keep their declarations:
// they are rendered per request whatever the strategy. They are not
// requested by the default traffic, which is every path the site prerenders
// except per-user ones and route handlers (a sitemap or a feed, which
// crawlers and readers fetch rarely next to page views), ranked by depth
// ("/" first) then in an order drawn from the seed; list paths in
// traffic.paths to choose them and their popularity order.
//
// Every fetch, absolute URLs included, is answered by sitespec's synthetic
// origin: a benchmark never calls a real service.
//
// # Simulation (the default)
//
// A discrete-event simulation on virtual time, on one goroutine per
// strategy: the engine's Options.Now is the simulation's clock and its
// Options.Scheduler the simulation's queue; the sitespec Sleep hooks add
// render costs and origin latency to the current step's account instead of
// sleeping. Requests arrive as a Poisson process at the workload's rate,
// each for a path drawn by Zipf popularity; content changes arrive as
// another Poisson process, each publishing a new version of one data URL at
// the origin (Origin.PublishURL) and telling the strategy. The same seed
// gives the same arrivals, paths and changes to every strategy, and
// byte-identical JSON.
//
// Workers: a render holds one of Capacity.Workers for its cost (the spec's
// `cost`), not while it waits for the origin; renders are placed first come,
// first served in arrival order, and wait when every worker is busy, so SSR
// saturates as it would. The time to first byte of a request that rendered
// (MISS, BYPASS) is its origin waits, its queueing and its cost; of a cached
// response (HIT, STALE), Capacity.Hit. A request that finds a path whose
// first render is still running waits for it and counts as a MISS.
//
// A partial route's holes render on the engine's goroutines, concurrently;
// each hole's render is marked in its context, so that its cost and origin
// waits are its own. Each starts at the request's arrival and takes a
// worker for its cost once its data is in; the time to the last byte is
// when the last hole ends, or the first byte's when later. Their cost
// counts in the render cost per hour, not in the renders (a hole is not a
// render of the page); their fetches count in the origin calls. Discovery
// renders the paths without their holes: the data a hole reads per request
// is not among the content changes.
//
// Background work arrives through the scheduler. A regeneration, started by
// a STALE response at t, runs at t + the origin's latency for each of the
// route's fetches + its cost on a worker (an upper bound: fresh data is not
// fetched again), with the clock set to that time, so it becomes visible
// only once done; meanwhile the engine keeps its flight open and serves
// STALE. A Data Cache refresh runs right after the step that started it
// (an origin latency early: a regeneration that needs the same data would
// wait for it, which one goroutine cannot). A render
// runs at its request's arrival time and reads the origin's content then;
// only its time to first byte includes the queueing.
//
// Staleness is measured per response: a synthetic page shows the version
// of every URL it fetched; the response's staleness is the age of the
// oldest version newer than one it shows (0 when it shows the newest of
// everything), at the time of the request. Fresh share is the share of
// responses at 0. Quantiles are over all responses, fresh ones included.
//
// Figures: time to first byte and to the last byte p50/p95/p99/max; counts by cache status;
// renders (at request, in the background, in builds) and origin calls per
// 1,000 requests; render cost per hour; staleness p50/p99/max/mean and the
// fresh share; SSG rebuilds and their duration. The build at deployment,
// before the traffic starts, is not counted. The histograms (HDR, three
// significant digits) give quantiles to three significant digits.
//
// Known effects the figures show, not bugs of the simulator: ISR(N)
// staleness can exceed N when pages share data (a page regenerated just
// before a shared data entry expires bakes in data up to N old, and is
// itself fresh for N more), and a rarely requested page served STALE shows
// content as old as the time since its last request.
//
// Speed: BenchmarkSimulate drives the engine at over a million simulated
// requests per second for the cached strategies; SSR and SSR+DataCache
// render every request and are bounded by the engine's render path (tens of
// thousands per second). The default run, a simulated day of the demo
// workload at 10 requests per second, takes 10 to 20 seconds on two cores
// (about 11 on an idle machine); BenchmarkSimulateDay runs it strategy by
// strategy and reports each one's figures. The tests simulate minutes.
//
// # Replay
//
// With Traffic.Replay, an access log read by ParseLog (`regen bench
// --replay`: Common or Combined Log Format, or JSON lines), the requests are
// the log's instead of Poisson arrivals with Zipf popularity: each GET or
// HEAD request at its time since the log's first, divided by
// Traffic.ReplaySpeed, query string included (requests logged in the same
// second are spread over it). Run first asks the site, with every page
// rendered on request, what it answers for each of the log's paths: those
// it answers 200 become the traffic's paths (most requested first, which
// changes.pages may name) and are replayed; the others (no route, a 404 of
// dynamicParams false, a trailing slash's redirect) are counted in
// Report.Replay, not replayed. The run lasts the log's span divided by the
// speed, in simulation on virtual time and live in real time; content
// changes arrive as the workload says, on the run's clock. The log is read
// at over a million lines a second (BenchmarkParseLog).
//
// # Live mode
//
// With Options.Live (`regen bench --live`), each strategy runs for real, one
// after the other, for Live.Duration: the engine behind an HTTP server on
// 127.0.0.1 (httptest), the synthetic origin really waiting its latency,
// renders really waiting their cost while holding one of the workers, SSG
// rebuilt in the background and swapped in, the webhook calling the
// engine's revalidation endpoint over HTTP. An open-loop load generator
// sends Poisson arrivals with Zipf popularity, at most Live.MaxInFlight at
// once; each time to first byte counts from when the request was due. It
// stops by itself and reports the same figures; the time to the last byte
// is when the client has read the whole body.
//
// # Output
//
// Report.WriteTable prints the terminal table; Report.WriteJSON the JSON
// (one object per strategy under "strategies", with "name", "ttfb_ms"
// {"p50", "p95", "p99", "max"}, "last_byte_ms" (the same), "fresh_share", "staleness_s" {"p50", "p99",
// "max", "mean"}, "renders_per_1k", "origin_per_1k", "render_cpu_s_per_hour",
// "builds", "build_s", "changes" and the counts "hit", "stale", "miss",
// "bypass", "errors"); Report.Plot the pictures. When no content changed
// during a strategy's run ("changes": 0, likely in a short live run), every
// response was fresh but nothing was measured: the table shows the fresh
// share as n/a, the JSON keeps 1.
//
// # Errors
//
// A bad workload is reported as a bad site spec is: every problem, each an
// *Error naming the file, the line and the field, with the fix
// ("w.yaml:3: traffic.rps: -1 (must be above 0 and at most 10,000,000)").
// ParseWorkload and Workload.Validate find most; Run finds those that need
// the site rendered (a requested path that does not render, changes that
// select no data) and reports them as *Errors too.
//
// # Sites registered in Go
//
// Workload.GoSite benchmarks a site registered in Go instead of a spec. Its
// Register registers the layouts, pages and route handlers through a
// Registrar, which returns each declaration as the strategy rewrote it (the
// renders make the returned fetches) and charges the render costs on the
// bench's clock; Registrar.Hole gives a hole's cost. The first call only
// reads the declarations, which Strategy rewrites as it does a spec's; a
// render that does not make the fetches its registration declares fails
// the run. examples/shop-go registers the demo shop so, and its report
// equals the spec's for the same seed.
package bench
