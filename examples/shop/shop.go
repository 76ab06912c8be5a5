// Package shop is regen's built-in demo site, a small shop, as a site spec.
//
// It is what `regen routes`, `regen build` and `regen serve` use when given
// no spec. The spec is site.yaml in this directory; examples/shop-go
// registers the same site in Go.
package shop

import (
	_ "embed"

	"github.com/regen-dev/regen/sitespec"
)

// Filename names the spec in messages.
const Filename = "examples/shop/site.yaml"

// Spec is the text of site.yaml.
//
//go:embed site.yaml
var Spec []byte

// Parse parses Spec. It returns a new *sitespec.Spec on each call.
func Parse() (*sitespec.Spec, error) {
	return sitespec.Parse(Filename, Spec)
}
