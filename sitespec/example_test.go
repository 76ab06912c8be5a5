package sitespec_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/sitespec"
)

const blog = `
name: blog
segments:
  /:
    layout:
      fetches: [{url: /api/nav, tags: [nav]}]
  /blog/[slug]:
    page:
      revalidate: 60
      staticParams: [{slug: hello}]
      fetches:
        - url: /api/posts/{slug}
          tags: [posts, "post-{slug}"]
`

// A spec built into a site: the engine serves its synthetic pages, and a
// publish at the origin shows once the tag is revalidated.
func Example() {
	spec, err := sitespec.Parse("blog.yaml", []byte(blog))
	if err != nil {
		log.Fatal(err)
	}
	built := spec.Build(sitespec.Options{})
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	e, err := engine.New(built.Site, engine.Options{
		Fetcher: built.Fetcher,
		Now:     func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	get := func() {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("GET", "/blog/hello", nil))
		fmt.Printf("%s\n%s", w.Header().Get("X-Cache-Status"), w.Body)
	}
	for _, p := range e.Routes() {
		fmt.Printf("%s: %s (%s)\n", p.Route, p.Kind, p.String())
	}
	get()
	now = now.Add(10 * time.Second)
	get()

	built.Origin.Publish("post-hello")
	if err := e.RevalidateTag(context.Background(), "post-hello", regen.RevalidateExpire); err != nil {
		log.Fatal(err)
	}
	get()
	fmt.Println("origin calls:", built.Origin.Calls())
	// Output:
	// /blog/[slug]: isr (revalidate 60 from page /blog/[slug])
	// MISS
	// <div data-layout="/">
	// <pre data-fetch="/api/nav">{"url":"/api/nav","version":1}</pre>
	// <main data-page="/blog/[slug]">
	// <p data-param="slug">hello</p>
	// <pre data-fetch="/api/posts/hello">{"url":"/api/posts/hello","version":1}</pre>
	// </main>
	// </div>
	// HIT
	// <div data-layout="/">
	// <pre data-fetch="/api/nav">{"url":"/api/nav","version":1}</pre>
	// <main data-page="/blog/[slug]">
	// <p data-param="slug">hello</p>
	// <pre data-fetch="/api/posts/hello">{"url":"/api/posts/hello","version":1}</pre>
	// </main>
	// </div>
	// MISS
	// <div data-layout="/">
	// <pre data-fetch="/api/nav">{"url":"/api/nav","version":1}</pre>
	// <main data-page="/blog/[slug]">
	// <p data-param="slug">hello</p>
	// <pre data-fetch="/api/posts/hello">{"url":"/api/posts/hello","version":2}</pre>
	// </main>
	// </div>
	// origin calls: 3
}

// Parse reports every problem of a spec at once, each with its file, line,
// segment and field, and the fix.
func ExampleParse() {
	_, err := sitespec.Parse("site.yaml", []byte(`
segments:
  /products/[slug]:
    page:
      revalidte: 60
      fetches:
        - url: /api/products/{id}
          cache: no-store
  /about: {}
`))
	fmt.Println(err)
	// Output:
	// site.yaml:5: segment "/products/[slug]": page.revalidte: unknown field (did you mean revalidate?)
	// site.yaml:7: segment "/products/[slug]": page.fetches[0].url: {id} is not a param of the route (the route's only param is slug)
	// site.yaml:9: segment "/about": has neither layout, page nor handler (add page: {} to route its path, or a layout)
}

// The synthetic origin answers with the version of each URL's content; a
// publish makes a new version of the URLs fetched with its tags.
func ExampleOrigin_Publish() {
	o := &sitespec.Origin{}
	fetch := func(url string, tags ...string) {
		resp, err := o.Fetch(context.Background(), &fetchcache.Request{URL: url, Tags: tags})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(resp.Body))
	}
	fetch("/api/posts/hello", "posts", "post-hello")
	fetch("/api/nav", "nav")
	o.Publish("posts")
	fetch("/api/posts/hello")
	fetch("/api/nav")
	fmt.Println("calls:", o.Calls())
	// Output:
	// {"url":"/api/posts/hello","version":1}
	// {"url":"/api/nav","version":1}
	// {"url":"/api/posts/hello","version":2}
	// {"url":"/api/nav","version":1}
	// calls: 4
}
