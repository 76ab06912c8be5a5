package sitespec

import "strings"

// errorTests are specs with problems, and the exact messages Parse gives
// for them, one a line, in file order.
var errorTests = []struct {
	name string
	spec string
	want []string
}{
	{"holes", `
segments:
  /:
    layout:
      holes:
        - {name: user-menu, uses: [cookies]}
        - {name: user-menu}
        - {name: "a b"}
        - {uses: [cookies]}
        - {name: cart, timeout: 5s}
    page:
      holes: {name: x}
  /feed.xml:
    handler: {holes: [{name: x}]}
`, []string{
		`site.yaml:7: segment "/": layout.holes[1].name: hole "user-menu" is listed twice (first at line 6; give each hole its own name)`,
		`site.yaml:8: segment "/": layout.holes[2].name: "a b" is not a hole name (use letters, digits, - and _)`,
		`site.yaml:9: segment "/": layout.holes[3]: has no name (give the hole a name, like name: user-menu)`,
		`site.yaml:10: segment "/": layout.holes[4].timeout: unknown field (a hole has name, uses, cost and fetches)`,
		`site.yaml:12: segment "/": page.holes: a mapping is not a list (list the holes, like [{name: user-menu, uses: [cookies]}])`,
		`site.yaml:14: segment "/feed.xml": handler.holes: a handler has no holes (its body is not HTML inside layouts: give the holes to a page)`,
	}},
	{"typo", `
segments:
  /:
    page:
      revalidte: 60
`, []string{
		`site.yaml:5: segment "/": page.revalidte: unknown field (did you mean revalidate?)`,
	}},
	{"revalidate negative", `
segments:
  /:
    page:
      revalidate: -5
`, []string{
		`site.yaml:5: segment "/": page.revalidate: -5 is negative (must be false, 0 or a positive number of seconds)`,
	}},
	{"revalidate fraction", `
segments:
  /products/[slug]:
    page:
      revalidate: 3.5
`, []string{
		`site.yaml:5: segment "/products/[slug]": page.revalidate: 3.5 is not a whole number of seconds (must be false, 0 or a positive number of seconds)`,
	}},
	{"revalidate string", `
segments:
  /:
    page:
      revalidate: "60"
`, []string{
		`site.yaml:5: segment "/": page.revalidate: "60" is a string (must be false, 0 or a positive number of seconds)`,
	}},
	{"revalidate true", `
segments:
  /:
    layout:
      revalidate: true
    page: {}
`, []string{
		`site.yaml:5: segment "/": layout.revalidate: true is not a revalidate value (must be false, 0 or a positive number of seconds)`,
	}},
	{"revalidate too large", `
segments:
  /:
    page: {revalidate: 99999999999}
`, []string{
		`site.yaml:4: segment "/": page.revalidate: 99999999999 is too large (at most 9223372036 seconds; write false to cache forever)`,
	}},
	{"revalidate huge int", `
segments:
  /:
    page: {revalidate: 99999999999999999999999}
`, []string{
		`site.yaml:4: segment "/": page.revalidate: 99999999999999999999999 is too large (at most 9223372036 seconds; write false to cache forever)`,
	}},
	{"revalidate tagged int that is not a number", `
segments:
  /:
    page: {revalidate: !!int "soon"}
`, []string{
		`site.yaml:4: segment "/": page.revalidate: soon is not a number (must be false, 0 or a positive number of seconds)`,
	}},
	{"revalidate empty", `
segments:
  /:
    page:
      revalidate:
`, []string{
		`site.yaml:5: segment "/": page.revalidate: empty (must be false, 0 or a positive number of seconds; or remove the field)`,
	}},
	{"revalidate list", `
segments:
  /:
    page: {revalidate: [60]}
`, []string{
		`site.yaml:4: segment "/": page.revalidate: a list is not a revalidate value (must be false, 0 or a positive number of seconds)`,
	}},
	{"revalidate nan", `
segments:
  /:
    page: {revalidate: .nan}
`, []string{
		`site.yaml:4: segment "/": page.revalidate: .nan is not a whole number of seconds (must be false, 0 or a positive number of seconds)`,
	}},
	{"dynamic unknown", `
segments:
  /:
    page: {dynamic: force_dynamic}
`, []string{
		`site.yaml:4: segment "/": page.dynamic: unknown dynamic mode "force_dynamic" (must be auto, force-dynamic, force-static or error)`,
	}},
	{"dynamic not a string", `
segments:
  /:
    page: {dynamic: {mode: auto}}
`, []string{
		`site.yaml:4: segment "/": page.dynamic: a mapping is not a dynamic mode (must be auto, force-dynamic, force-static or error)`,
	}},
	{"uses unknown", `
segments:
  /:
    layout: {uses: [cookies, cookie]}
`, []string{
		`site.yaml:4: segment "/": layout.uses[1]: unknown dynamic API "cookie" (must be cookies, headers or searchParams)`,
	}},
	{"uses not a list", `
segments:
  /:
    layout: {uses: cookies}
`, []string{
		`site.yaml:4: segment "/": layout.uses: "cookies" is not a list (list the dynamic APIs the render reads, like [cookies, headers])`,
	}},
	{"cache unknown", `
segments:
  /:
    page:
      fetches:
        - {url: /api/a, cache: nostore}
`, []string{
		`site.yaml:6: segment "/": page.fetches[0].cache: unknown cache mode "nostore" (must be default, force-cache or no-store)`,
	}},
	{"no-store with revalidate", `
segments:
  /:
    page:
      fetches:
        - url: /api/a
          revalidate: 60
          cache: no-store
`, []string{
		`site.yaml:8: segment "/": page.fetches[0].cache: no-store conflicts with revalidate 60 (give one of them)`,
	}},
	{"force-cache with revalidate 0", `
segments:
  /:
    page:
      fetches:
        - {url: /api/a, revalidate: 0, cache: force-cache}
`, []string{
		`site.yaml:6: segment "/": page.fetches[0].cache: force-cache conflicts with revalidate 0 (give one of them)`,
	}},
	{"latency bad", `
origin:
  latency: fast
segments:
  /: {page: {}}
`, []string{
		`site.yaml:3: origin.latency: "fast" is not a duration (write a duration like 2ms or 1.5s)`,
	}},
	{"latency no unit", `
origin: {latency: 30}
segments:
  /: {page: {}}
`, []string{
		`site.yaml:2: origin.latency: 30 has no unit (write a duration like 2ms or 1.5s)`,
	}},
	{"cost negative", `
segments:
  /: {page: {cost: -1ms}}
`, []string{
		`site.yaml:3: segment "/": page.cost: -1ms is negative (must be 0 or more)`,
	}},
	{"origin unknown field", `
origin: {latency: 1ms, latencty: 2ms}
segments:
  /: {page: {}}
`, []string{
		`site.yaml:2: origin.latencty: unknown field (did you mean latency?)`,
	}},
	{"tag too long", `
segments:
  /:
    page:
      fetches:
        - url: /api/a
          tags: [` + strings.Repeat("x", 257) + `]
`, []string{
		`site.yaml:7: segment "/": page.fetches[0].tags[0]: tag is 257 bytes (at most 256; shorten it)`,
	}},
	{"too many tags", `
segments:
  /:
    page:
      fetches:
        - url: /api/a
          tags: [` + strings.Repeat("t,", 128) + `t]
`, []string{
		`site.yaml:7: segment "/": page.fetches[0].tags: 129 tags (at most 128 per fetch; drop some)`,
	}},
	{"empty tag", `
segments:
  /:
    page:
      fetches:
        - {url: /api/a, tags: [a, ""]}
`, []string{
		`site.yaml:6: segment "/": page.fetches[0].tags[1]: empty tag (remove it)`,
	}},
	{"tags not a list", `
segments:
  /:
    page:
      fetches:
        - {url: /api/a, tags: posts}
`, []string{
		`site.yaml:6: segment "/": page.fetches[0].tags: "posts" is not a list (write tags like [posts, "post-{slug}"])`,
	}},
	{"placeholder not a param", `
segments:
  /products/[slug]:
    page:
      fetches:
        - url: /api/products/{id}
          tags: ["product-{slug}", "p-{id}"]
`, []string{
		`site.yaml:6: segment "/products/[slug]": page.fetches[0].url: {id} is not a param of the route (the route's only param is slug)`,
		`site.yaml:7: segment "/products/[slug]": page.fetches[0].tags[1]: {id} is not a param of the route (the route's only param is slug)`,
	}},
	{"placeholder in static route", `
segments:
  /about:
    layout:
      fetches:
        - url: /api/{page}
`, []string{
		`site.yaml:6: segment "/about": layout.fetches[0].url: {page} is not a param of the route (the route has no params)`,
	}},
	{"placeholder unclosed", `
segments:
  /[slug]:
    page:
      fetches:
        - url: /api/{slug
`, []string{
		`site.yaml:6: segment "/[slug]": page.fetches[0].url: unclosed { (write a placeholder as {param})`,
	}},
	{"url missing", `
segments:
  /:
    page:
      fetches:
        - tags: [a]
`, []string{
		`site.yaml:6: segment "/": page.fetches[0]: no url (every fetch needs one, like url: /api/nav)`,
	}},
	{"url relative without slash", `
segments:
  /:
    page:
      fetches:
        - url: api/nav
`, []string{
		`site.yaml:6: segment "/": page.fetches[0].url: "api/nav" is neither relative nor http:// or https:// (give a relative URL like /api/nav or an absolute http:// or https:// URL)`,
	}},
	{"url other scheme", `
segments:
  /:
    page:
      fetches:
        - url: ftp://example.com/nav
`, []string{
		`site.yaml:6: segment "/": page.fetches[0].url: "ftp://example.com/nav" is neither relative nor http:// or https:// (give a relative URL like /api/nav or an absolute http:// or https:// URL)`,
	}},
	{"fetch not a mapping", `
segments:
  /:
    page:
      fetches: [/api/nav]
`, []string{
		`site.yaml:5: segment "/": page.fetches[0]: "/api/nav" is not a fetch (a fetch is a mapping with url, revalidate, tags and cache)`,
	}},
	{"dynamicParams not a bool", `
segments:
  /[slug]:
    page: {dynamicParams: "yes"}
`, []string{
		`site.yaml:4: segment "/[slug]": page.dynamicParams: "yes" is not true or false (must be true or false)`,
	}},
	{"staticParams not a list", `
segments:
  /[slug]:
    page: {staticParams: {slug: shoe}}
`, []string{
		`site.yaml:4: segment "/[slug]": page.staticParams: a mapping is not a list (list the params to prerender, like [{slug: shoe}, {slug: hat}])`,
	}},
	{"staticParams entry not a map", `
segments:
  /[slug]:
    page: {staticParams: [shoe]}
`, []string{
		`site.yaml:4: segment "/[slug]": page.staticParams[0]: "shoe" is not a map of params (write one like {slug: shoe})`,
	}},
	{"staticParams unknown and missing param", `
segments:
  /[slug]:
    page:
      staticParams:
        - {id: shoe}
`, []string{
		`site.yaml:6: segment "/[slug]": page.staticParams[0].id: not a param of the route (the route's only param is slug)`,
		`site.yaml:6: segment "/[slug]": page.staticParams[0]: no slug (give every param of the route)`,
	}},
	{"staticParams slash in param", `
segments:
  /[slug]:
    page: {staticParams: [{slug: a/b}]}
`, []string{
		`site.yaml:4: segment "/[slug]": page.staticParams[0].slug: "a/b" has a / (only a catch-all param spans path parts)`,
	}},
	{"staticParams list for single param", `
segments:
  /[slug]:
    page: {staticParams: [{slug: [a, b]}]}
`, []string{
		`site.yaml:4: segment "/[slug]": page.staticParams[0].slug: a list is not a param value (only a catch-all takes a list of parts; give one string)`,
	}},
	{"staticParams empty catch-all", `
segments:
  /docs/[...path]:
    page: {staticParams: [{path: []}, {path: ""}, {path: "a//b"}]}
`, []string{
		`site.yaml:4: segment "/docs/[...path]": page.staticParams[0].path: an empty list (a catch-all needs one or more parts)`,
		`site.yaml:4: segment "/docs/[...path]": page.staticParams[1].path: "" has an empty part (a catch-all needs one or more parts, like a/b)`,
		`site.yaml:4: segment "/docs/[...path]": page.staticParams[2].path: "a//b" has an empty part (a catch-all needs one or more parts, like a/b)`,
	}},
	{"staticParams on a route without params", `
segments:
  /about:
    page: {staticParams: [{}]}
`, []string{
		`site.yaml:4: segment "/about": page.staticParams: the route has no params (remove staticParams)`,
	}},
	{"staticParams on a layout", `
segments:
  /[slug]:
    layout: {staticParams: [{slug: a}], dynamicParams: false}
`, []string{
		`site.yaml:4: segment "/[slug]": layout.staticParams: only pages and handlers have staticParams (move it to the segment's page)`,
	}},
	{"layout dynamicParams not a bool", `
segments:
  /shop:
    layout:
      dynamicParams: no
  /blog:
    layout: {dynamicParams: 0}
  /news:
    layout: {dynamicParams: [false]}
  /docs:
    layout:
      dynamicParams:
`, []string{
		`site.yaml:5: segment "/shop": layout.dynamicParams: "no" is not true or false (must be true or false)`,
		`site.yaml:7: segment "/blog": layout.dynamicParams: 0 is not true or false (must be true or false)`,
		`site.yaml:9: segment "/news": layout.dynamicParams: a list is not true or false (must be true or false)`,
		`site.yaml:12: segment "/docs": layout.dynamicParams: empty is not true or false (must be true or false)`,
	}},
	{"layout dynamicParams typo", `
segments:
  /shop:
    layout: {dynamicParam: false}
`, []string{
		`site.yaml:4: segment "/shop": layout.dynamicParam: unknown field (did you mean dynamicParams?)`,
	}},
	{"neither layout nor page", `
segments:
  /about: {}
  /contact:
`, []string{
		`site.yaml:3: segment "/about": has neither layout, page nor handler (add page: {} to route its path, or a layout)`,
		`site.yaml:4: segment "/contact": has neither layout, page nor handler (add page: {} to route its path, or a layout)`,
	}},
	{"segment unknown field", `
segments:
  /:
    pages: {}
`, []string{
		`site.yaml:4: segment "/": pages: unknown field (did you mean page?)`,
	}},
	{"segment defined twice", `
segments:
  /: {page: {}}
  /: {layout: {}}
`, []string{
		`site.yaml:4: segment "/": defined twice (first at line 3; merge them)`,
	}},
	{"field given twice", `
segments:
  /:
    page:
      revalidate: 60
      revalidate: 30
`, []string{
		`site.yaml:6: segment "/": page.revalidate: given twice (first at line 5; remove one)`,
	}},
	{"unknown top-level field", `
name: shop
segment:
  /: {page: {}}
`, []string{
		`site.yaml:3: segment: unknown field (did you mean segments?)`,
	}},
	{"no segments", `
name: shop
`, []string{
		`site.yaml:2: no segments (a spec needs segments: a mapping of patterns to layouts and pages)`,
	}},
	{"empty segments", `
segments: {}
`, []string{
		`site.yaml:2: segments: empty (a spec needs segments: a mapping of patterns to layouts and pages)`,
	}},
	{"not a mapping", `
- /
`, []string{
		`site.yaml:2: a list is not a spec (a spec is a mapping with name, origin and segments)`,
	}},
	{"empty file", ``, []string{
		`site.yaml: empty spec (a spec needs segments)`,
	}},
	{"only comments", "# nothing\n", []string{
		`site.yaml: empty spec (a spec needs segments)`,
	}},
	{"syntax error", `
segments:
  /:
    page: {revalidate: 60
`, []string{
		"site.yaml:4: not valid YAML or JSON: did not find expected ',' or '}' (inside [...] and {...}, quote values holding {param}: \"/api/{slug}\")",
	}},
	{"tab indentation", "segments:\n\t/: {page: {}}\n", []string{
		`site.yaml:2: not valid YAML or JSON: found character that cannot start any token`,
	}},
	{"second document", `
segments:
  /: {page: {}}
---
segments:
  /a: {page: {}}
`, []string{
		`site.yaml:5: a second YAML document (a spec is one document: remove the ---)`,
	}},
	{"unquoted placeholder in a flow collection", `
segments:
  /[slug]:
    page:
      fetches: [{url: /api/{slug}}]
`, []string{
		"site.yaml:5: not valid YAML or JSON: did not find expected ',' or '}' (inside [...] and {...}, quote values holding {param}: \"/api/{slug}\")",
	}},
	{"json", `{
  "segments": {
    "/": {"page": {"revalidate": "60"}}
  }
}`, []string{
		`site.yaml:3: segment "/": page.revalidate: "60" is a string (must be false, 0 or a positive number of seconds)`,
	}},
	{"alias bomb", `
segments:
  /:
    page:
      fetches: &a [{url: /a}, {url: /a}, {url: /a}, {url: /a}, {url: /a}, {url: /a}, {url: /a}, {url: /a}, {url: /a}, {url: /a}]
      staticParams: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
      uses: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
      cost: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
      dynamic: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
      revalidate: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
`, []string{
		`site.yaml:2: aliases expand to more than 1000000 nodes, or into themselves (write the spec out)`,
	}},
	{"responses on a layout", `
segments:
  /:
    layout: {redirect: /a, headers: {X-A: b}}
    page: {}
`, []string{
		`site.yaml:4: segment "/": layout.redirect: only pages have redirect (move it to the segment's page)`,
		`site.yaml:4: segment "/": layout.headers: only pages have headers (move it to the segment's page)`,
	}},
	{"redirect values", `
segments:
  /a/[slug]: {page: {redirect: "/b/{id}"}}
  /b: {page: {redirect: ""}}
  /c: {page: {redirect: //evil.example}}
  /d: {page: {redirect: "https://"}}
  /e: {page: {redirect: [a]}}
  /f: {page: {permanent: true}}
  /g: {page: {redirect: /x, permanent: yes}}
`, []string{
		`site.yaml:3: segment "/a/[slug]": page.redirect: {id} is not a param of the route (the route's only param is slug)`,
		`site.yaml:4: segment "/b": page.redirect: empty (give a path like /blog/{slug} or an absolute http:// or https:// URL)`,
		`site.yaml:5: segment "/c": page.redirect: "//evil.example" is neither a path nor an http:// or https:// URL (give a path like /blog/{slug} or an absolute http:// or https:// URL)`,
		`site.yaml:6: segment "/d": page.redirect: "https://" is not a URL with a host (give a path like /blog/{slug} or an absolute http:// or https:// URL)`,
		`site.yaml:7: segment "/e": page.redirect: a list is not a path like /blog/{slug} or an absolute http:// or https:// URL`,
		`site.yaml:8: segment "/f": page.permanent: permanent without redirect (add redirect, or remove permanent)`,
		`site.yaml:9: segment "/g": page.permanent: "yes" is not true or false (must be true or false)`,
	}},
	{"notFound values", `
segments:
  /: {page: {notFound: [{slug: gone}]}}
  /[slug]: {page: {notFound: {slug: gone}}}
  /p/[slug]: {page: {notFound: [{id: gone}]}}
`, []string{
		`site.yaml:3: segment "/": page.notFound: the route has no params (remove notFound)`,
		`site.yaml:4: segment "/[slug]": page.notFound: a mapping is not a list (list the params whose render calls notFound(), like [{slug: gone}])`,
		`site.yaml:5: segment "/p/[slug]": page.notFound[0].id: not a param of the route (the route's only param is slug)`,
		`site.yaml:5: segment "/p/[slug]": page.notFound[0]: no slug (give every param of the route)`,
	}},
	{"headers values", `
segments:
  /:
    page:
      headers:
        X Bad: a
        Cache-Control: no-cache
        etag: x
        Set-Cookie: a=1
        location: /x
        X-Robots-Tag: noindex
        x-robots-tag: none
        X-List: [a]
        X-Ctl: "a\nb"
  /b: {page: {headers: [X-A]}}
`, []string{
		`site.yaml:6: segment "/": page.headers.X Bad: "X Bad" is not a header name (use letters, digits and -)`,
		`site.yaml:7: segment "/": page.headers.Cache-Control: Cache-Control is set by the engine (remove it)`,
		`site.yaml:8: segment "/": page.headers.etag: Etag is set by the engine (remove it)`,
		`site.yaml:9: segment "/": page.headers.Set-Cookie: a cached page cannot set cookies (remove it)`,
		`site.yaml:10: segment "/": page.headers.location: Location is the redirect's (use redirect)`,
		`site.yaml:12: segment "/": page.headers.x-robots-tag: X-Robots-Tag is given twice, ignoring case (keep one)`,
		`site.yaml:13: segment "/": page.headers.X-List: a list is not a header value (give a string)`,
		`site.yaml:14: segment "/": page.headers.X-Ctl: "a\nb" has a control character (remove it)`,
		`site.yaml:15: segment "/b": page.headers: a list is not a mapping of header names to values (write one like {X-Robots-Tag: noindex})`,
	}},
	{"many problems", `
name: shop
origin: {latency: 30}
segments:
  /:
    layout:
      revalidate: -1
      uses: [cookie]
  /products/[slug]:
    page:
      revalidate: 3.5
      dynamik: auto
      fetches:
        - url: /api/products/{id}
          cache: none
  /about: {}
`, []string{
		`site.yaml:3: origin.latency: 30 has no unit (write a duration like 2ms or 1.5s)`,
		`site.yaml:7: segment "/": layout.revalidate: -1 is negative (must be false, 0 or a positive number of seconds)`,
		`site.yaml:8: segment "/": layout.uses[0]: unknown dynamic API "cookie" (must be cookies, headers or searchParams)`,
		`site.yaml:11: segment "/products/[slug]": page.revalidate: 3.5 is not a whole number of seconds (must be false, 0 or a positive number of seconds)`,
		`site.yaml:12: segment "/products/[slug]": page.dynamik: unknown field (did you mean dynamic?)`,
		`site.yaml:14: segment "/products/[slug]": page.fetches[0].url: {id} is not a param of the route (the route's only param is slug)`,
		`site.yaml:15: segment "/products/[slug]": page.fetches[0].cache: unknown cache mode "none" (must be default, force-cache or no-store)`,
		`site.yaml:16: segment "/about": has neither layout, page nor handler (add page: {} to route its path, or a layout)`,
	}},
	{"page and handler", `
segments:
  /feed.xml:
    page: {}
    handler: {contentType: application/rss+xml}
`, []string{
		`site.yaml:5: segment "/feed.xml": has both page (line 4) and handler (a segment has one or the other: keep page for HTML inside the layouts, or handler for a route handler's own body)`,
	}},
	{"handler fields", `
segments:
  /feed.xml:
    layout: {contentType: text/plain}
    handler:
      contentType: "rss feed"
      headers: {X-A: b}
  /a: {page: {contentType: text/plain}}
  /b: {handler: {contentType: [text/plain]}}
  /c: {layout: {staticParams: []}, handler: {revalidat: 1}}
`, []string{
		`site.yaml:4: segment "/feed.xml": layout.contentType: only handlers have contentType (a page is text/html: set headers: {Content-Type: ...} on a page, or make the segment a handler)`,
		`site.yaml:6: segment "/feed.xml": handler.contentType: "rss feed" is not a media type (give one like application/rss+xml or text/plain; charset=utf-8)`,
		`site.yaml:7: segment "/feed.xml": handler.headers: unknown field (a handler has revalidate, cacheLife, dynamic, uses, cost, fetches, dynamicParams, staticParams and contentType)`,
		`site.yaml:8: segment "/a": page.contentType: only handlers have contentType (a page is text/html: set headers: {Content-Type: ...} on a page, or make the segment a handler)`,
		`site.yaml:9: segment "/b": handler.contentType: a list is not a media type (give one like application/rss+xml)`,
		`site.yaml:10: segment "/c": layout.staticParams: only pages and handlers have staticParams (move it to the segment's page)`,
		`site.yaml:10: segment "/c": handler.revalidat: unknown field (did you mean revalidate?)`,
	}},
}
