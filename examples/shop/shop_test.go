package shop_test

import (
	"testing"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/examples/shop"
	"github.com/regen-dev/regen/sitespec"
)

// TestSpec checks that the embedded spec parses and that the engine accepts
// its route tree.
func TestSpec(t *testing.T) {
	spec, err := shop.Parse()
	if err != nil {
		t.Fatalf("Parse error: %v", err)
	}
	if spec.Name != "shop" {
		t.Errorf("Name = %q; want shop", spec.Name)
	}
	built := spec.Build(sitespec.Options{})
	e, err := engine.New(built.Site, engine.Options{Fetcher: built.Fetcher})
	if err != nil {
		t.Fatalf("engine.New error: %v", err)
	}
	defer e.Close()
	kinds := map[engine.Kind]int{}
	for _, p := range e.Routes() {
		kinds[p.Kind]++
	}
	if kinds[engine.Static] == 0 || kinds[engine.ISR] == 0 || kinds[engine.Dynamic] == 0 {
		t.Errorf("route kinds = %v; want static, ISR and dynamic routes", kinds)
	}
}
