package engine

import (
	"encoding/json"
	"time"

	"github.com/regen-dev/regen"
)

// policyJSON is the form `regen routes --json` prints, as docs/site-spec.md gives it.
type policyJSON struct {
	Route         string          `json:"route"`
	Kind          string          `json:"kind"`
	Revalidate    json.RawMessage `json:"revalidate"`
	Expire        int64           `json:"expire"`
	Stale         int64           `json:"stale,omitempty"` // set by a cache profile only
	DynamicParams bool            `json:"dynamicParams"`
	Prerender     []string        `json:"prerender"`
	Reasons       []string        `json:"reasons"`
	Holes         []string        `json:"holes,omitempty"` // a partial route's
}

// MarshalJSON writes the policy as `regen routes --json` prints it:
// {"route": "/products/[slug]", "kind": "isr", "revalidate": 60, "expire":
// 31536000, "dynamicParams": true, "prerender": ["/products/hat"],
// "reasons": [...]}, where revalidate is seconds for ISR, false for static
// and 0 for dynamic. A partial route has "kind": "partial", its shell's
// revalidate, and "holes": its holes' names. A route using cache profiles with a stale has
// "stale": seconds after "expire".
func (p Policy) MarshalJSON() ([]byte, error) {
	var rev json.RawMessage
	switch {
	case p.Kind == Dynamic || p.Revalidate == regen.Never:
		rev = json.RawMessage("0")
	case p.Kind == Static || p.Revalidate == regen.Forever || !p.Revalidate.Declared():
		rev = json.RawMessage("false")
	default:
		rev, _ = json.Marshal(p.Revalidate.Raw())
	}
	out := policyJSON{
		Route:         p.Route,
		Kind:          p.Kind.String(),
		Revalidate:    rev,
		Expire:        int64(p.Expire / time.Second),
		Stale:         int64(p.Stale / time.Second),
		DynamicParams: p.DynamicParams,
		Prerender:     p.Prerender,
		Reasons:       p.Reasons,
		Holes:         p.Holes,
	}
	if p.Partial() {
		out.Kind = "partial" // its shell's revalidate and expire are given
	}
	if out.Prerender == nil {
		out.Prerender = []string{}
	}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	return json.Marshal(out)
}
