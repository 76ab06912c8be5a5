package shop_test

import (
	"fmt"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/examples/shop"
	"github.com/regen-dev/regen/sitespec"
)

// The demo shop's routes and why each is cached the way it is.
func Example() {
	spec, err := shop.Parse()
	if err != nil {
		panic(err)
	}
	built := spec.Build(sitespec.Options{})
	e, err := engine.New(built.Site, engine.Options{Fetcher: built.Fetcher})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	for _, p := range e.Routes() {
		fmt.Printf("%-30s %-8s %s\n", p.Route, p.Kind, p.Reasons[0])
	}
	// Output:
	// /                              isr      revalidate 600 from page /
	// /(marketing)/about             static   static: no revalidate declared (cached until revalidated on demand)
	// /(shop)/categories/[category]  isr      revalidate 3600 from layout /(shop)
	// /(shop)/products               isr      revalidate 300 from page /(shop)/products
	// /(shop)/products/[slug]        isr      revalidate 30 from fetch /api/products/{slug}/stock in page /(shop)/products/[slug]
	// /dashboard                     dynamic  dynamic because layout /dashboard reads cookies
	// /dashboard/settings            dynamic  dynamic because layout /dashboard reads cookies
	// /old-products/[slug]           static   static: no revalidate declared (cached until revalidated on demand)
	// /sitemap.xml                   isr      revalidate 3600 from handler /sitemap.xml
}
