// Package sitespec reads site specs: route trees described in YAML or JSON, with synthetic renders and a synthetic origin.
//
// A spec names its segments by pattern and gives each a layout, a page or
// a route handler (`handler:`, not wrapped in layouts, with a
// `contentType`), or a layout and one of the others, with the segment config Next.js has (revalidate, dynamic,
// dynamicParams), the static params to prerender, the dynamic APIs its
// render reads, the fetches it makes and what its render costs:
//
//	name: shop
//	origin:
//	  latency: 30ms
//	segments:
//	  /:
//	    layout:
//	      revalidate: 3600         # seconds | false ; 0 = dynamic ; omitted = not declared
//	      dynamic: auto            # auto | force-dynamic | force-static | error
//	      uses: [cookies]          # cookies | headers | searchParams
//	      cost: 2ms                # synthetic render cost, a Go duration
//	      fetches:
//	        - url: /api/nav        # relative: the synthetic origin; http(s)://: a real GET
//	          revalidate: 300
//	          tags: [nav]
//	          cache: default       # default | force-cache | no-store
//	  /products/[slug]:
//	    page:
//	      revalidate: 60
//	      dynamicParams: true
//	      staticParams: [{slug: shoe}, {slug: hat}]
//	      fetches:
//	        - url: /api/products/{slug}
//	          tags: [products, "product-{slug}"]
//
// JSON is accepted too, as the same structure: YAML 1.2 reads JSON.
//
// # Validation
//
// Parse checks everything a spec can get wrong on its own and reports every
// problem at once (errors.Join of *Error values), each naming the file, the
// line, the segment, the field and the fix:
//
//	site.yaml:14: segment "/products/[slug]": page.revalidate: 3.5 is not a whole number of seconds (must be false, 0 or a positive number of seconds)
//
// That covers unknown fields, values of the wrong type or out of range,
// unknown modes and API names, durations, tag limits, static params that do
// not fit their route, and {param} placeholders naming a param the
// segment's route does not have. It also rejects a fetch that declares both
// `cache: no-store` and a revalidate other than 0, or `cache: force-cache`
// with revalidate 0, pairs that Next.js's documentation calls conflicting
// (its runtime warns and drops both options): a spec says what it means.
//
// Problems of the route tree as a whole (two patterns matching the same
// paths, a catch-all that is not last, a param named twice on one path,
// malformed patterns) are engine.New's to find, as they are for routes
// registered in Go: a spec is not valid until engine.New has accepted the
// site that Build registers. Tools that take a spec (regen routes, build,
// serve and bench) report engine.New's errors as they report Parse's.
//
// # Decisions
//
// Where the spec format could be read more than one way:
//
//   - `layout:` or `page:` with no value declares one with all defaults, like
//     `page: {}`. An empty value for any other field is an error.
//   - A segment has a page or a handler, not both.
//   - staticParams is a page (and handler) field; a layout giving it is an error.
//     dynamicParams is a field of both: on a layout it applies to every
//     route below it. As in Next.js, false on any segment of a route wins;
//     a deeper `dynamicParams: true` does not undo it.
//   - revalidate accepts whole numbers written as floats (60.0) and at most
//     9223372036 seconds (the longest time.Duration); `false` caches forever.
//   - A tag, a URL or a param value may be any YAML scalar (tags: [2024]);
//     its text is used as written.
//   - Static params name every param of their route except an optional
//     catch-all, which may be left out or given as "" or [] (the empty
//     path). A catch-all's value is a string "a/b" or a list [a, b]; both
//     become the render.Params value "a/b".
//   - YAML anchors, aliases and merge keys (<<) work; a document whose
//     aliases expand to more than a million nodes is rejected.
//
// # Synthetic renders and origin
//
// Build registers every segment with an engine.Site, its declarations
// (Uses, Fetches with {param} left in) and a synthetic renderer. A render
// reads each declared dynamic API, makes each declared fetch in order
// through render.Scope.Fetch with its {param} placeholders filled in from
// the path's params, spends its cost, and writes HTML that shows what it
// read (<p data-cookie="session">ada</p>, data-header, data-search: see
// Spec.Register) and fetched:
//
//	<div data-layout="/">
//	<pre data-fetch="/api/nav">{"url":"/api/nav","version":1}</pre>
//	<main data-page="/products/[slug]">
//	<p data-param="slug">shoe</p>
//	<pre data-fetch="/api/products/shoe">{"url":"/api/products/shoe","version":1}</pre>
//	</main>
//	</div>
//
// Relative fetch URLs are answered by an Origin after the spec's latency,
// with a body that names the URL and its content version. Origin.Publish
// makes a new version of every URL fetched with one of the given tags,
// before or after the publish (one per tag), so a content change shows in
// the pages built from it once they are revalidated. The origin's memory is
// bounded: it counts publishes per tag and per URL, and remembers the tags
// of the 4,096 URLs fetched most recently. Absolute http:// and https://
// URLs are real GETs, bounded by the Data Cache's fetch timeout.
//
// Waiting (the origin's latency, a render's cost) goes through
// Options.Sleep, so a simulation can run a site on virtual time.
package sitespec
