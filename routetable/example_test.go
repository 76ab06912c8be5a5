package routetable_test

import (
	"context"
	"io"
	"os"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/routetable"
)

// Write prints the route table of a site registered in Go, as `regen
// routes` prints a spec's: a blog whose posts are ISR, and an account page
// that reads cookies.
func ExampleWrite() {
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error { return nil })
	var site engine.Site
	site.Page("/blog/[slug]", engine.Page{
		Revalidate:   regen.Seconds(60),
		StaticParams: []render.Params{{"slug": "hello"}, {"slug": "world"}},
		Render:       page,
	})
	site.Page("/account", engine.Page{Uses: []regen.API{regen.Cookies}, Render: page})
	site.Page("/about", engine.Page{Render: page})
	e, err := engine.New(&site, engine.Options{})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	if err := routetable.Write(os.Stdout, "blog", e.Routes()); err != nil {
		panic(err)
	}
	// Output:
	// Route table of blog
	//
	// Route             Revalidate  Expire  Why
	// ┌ ○ /about             false       -  static: no revalidate declared (cached until revalidated on demand)
	// ├ ƒ /account               0       -  dynamic because page /account reads cookies
	// └ ● /blog/[slug]          1m      1y  revalidate 60 from page /blog/[slug]
	//     ├ /blog/hello
	//     └ /blog/world
	//
	// ○  (Static)   prerendered; regenerated in the background every Revalidate (ISR), or cached until revalidated on demand
	// ●  (SSG)      prerendered for its static params; other params render on their first request, then are cached
	// ƒ  (Dynamic)  rendered on every request (BYPASS); its fetches still go through the Data Cache
}
