package bench

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/sitespec"
)

// Holes (partial prerendering) render per request, each on a goroutine of
// the engine's, concurrently with one another and with the shell's render.
// A simulation attributes what each spends to the hole: the request's
// context carries a holeCosts (simulated requests only), and each hole's
// render, wrapped by trackHole, adds a holeCost to it and marks its own
// context with it, which the simulation's sleeps then charge instead of
// the request's cost.

// holeCostsKey is the context key of a request's holeCosts.
type holeCostsKey struct{}

// holeCostKey is the context key of a hole render's holeCost.
type holeCostKey struct{}

// holeCost is what one hole's render spent. It is safe for concurrent use:
// a hole's fetch may be made on the Data Cache's goroutine.
type holeCost struct {
	mu sync.Mutex // protects c
	c  cost
}

func (h *holeCost) add(cpu, wait time.Duration) {
	h.mu.Lock()
	h.c.cpu += cpu
	h.c.wait += wait
	h.mu.Unlock()
}

func (h *holeCost) get() cost {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.c
}

// holeCosts are the holes rendered for one request. It is safe for
// concurrent use.
type holeCosts struct {
	mu    sync.Mutex // protects holes
	holes []*holeCost
}

func (hs *holeCosts) start() *holeCost {
	h := new(holeCost)
	hs.mu.Lock()
	hs.holes = append(hs.holes, h)
	hs.mu.Unlock()
	return h
}

// take returns what each hole rendered since the last take spent, and
// forgets them. Call it once every hole has ended.
func (hs *holeCosts) take(out []cost) []cost {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, h := range hs.holes {
		out = append(out, h.get())
	}
	clear(hs.holes)
	hs.holes = hs.holes[:0]
	return out
}

// holeOf returns the holeCost of the hole render whose context ctx is,
// or nil outside a hole's render.
func holeOf(ctx context.Context) *holeCost {
	h, _ := ctx.Value(holeCostKey{}).(*holeCost)
	return h
}

// trackHole wraps a hole's render: in a request whose context carries a
// holeCosts, its render's context is marked with a holeCost of its own.
func trackHole(inner render.Page) render.Page {
	return render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		hs, _ := ctx.Value(holeCostsKey{}).(*holeCosts)
		if hs == nil {
			return inner.Render(ctx, s, w)
		}
		return inner.Render(context.WithValue(ctx, holeCostKey{}, hs.start()), s, w)
	})
}

// noHole is the render of a hole a strategy dropped (SSG and ISR serve a
// site without its personalisation): it writes nothing.
var noHole = render.PageFunc(func(context.Context, *render.Scope, io.Writer) error { return nil })

// trackedRegistrar registers a spec's segments with site, their holes'
// renders wrapped by trackHole.
type trackedRegistrar struct{ site *engine.Site }

var _ sitespec.Registrar = trackedRegistrar{}

func (r trackedRegistrar) Layout(pattern string, l engine.Layout) {
	l.Holes = trackHoles(l.Holes)
	r.site.Layout(pattern, l)
}

func (r trackedRegistrar) Page(pattern string, p engine.Page) {
	p.Holes = trackHoles(p.Holes)
	r.site.Page(pattern, p)
}

func (r trackedRegistrar) Handler(pattern string, h engine.Handler) { r.site.Handler(pattern, h) }

func trackHoles(hs []engine.Hole) []engine.Hole {
	if len(hs) == 0 {
		return nil
	}
	out := make([]engine.Hole, len(hs))
	for i, h := range hs {
		h.Render = trackHole(h.Render)
		out[i] = h
	}
	return out
}
