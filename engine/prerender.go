package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/routecache"
)

// PrerenderOptions configure Prerender. The zero value means all defaults.
type PrerenderOptions struct {
	// Concurrency bounds the renders running at once. If zero, GOMAXPROCS.
	Concurrency int
	// OnPage, if set, is called after each path is rendered and stored, one
	// call at a time, in completion order.
	OnPage func(Prerendered)
}

// Prerendered reports one path rendered ahead of time.
type Prerendered struct {
	Route    string
	Path     string
	Kind     Kind              // Dynamic when the render revealed a dynamic route: nothing was stored
	Entry    *routecache.Entry // the stored entry; nil when Dynamic
	Duration time.Duration     // how long the render took, by Options.Now
}

// Paths returns every path Prerender renders, sorted: the paths of static
// and ISR routes, with their static params.
func (e *Engine) Paths() []string {
	var out []string
	for _, r := range e.list {
		if r.policy.Load().Kind != Dynamic {
			out = append(out, r.prerender...)
		}
	}
	slices.Sort(out)
	return out
}

// Prerender renders every static and ISR route ahead of time, static params
// included, and stores the results, so later requests are HITs. A failing
// page does not stop the others: every failure is returned at the end,
// joined with errors.Join in path order, each naming its path (a render
// that breaks `dynamic = "error"` fails with a *render.ModeError). The
// report, of the pages rendered, is sorted by path. Only ctx's end stops
// Prerender early.
func (e *Engine) Prerender(ctx context.Context, opts PrerenderOptions) ([]Prerendered, error) {
	limit := opts.Concurrency
	if limit <= 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	var g errgroup.Group
	g.SetLimit(limit)
	var mu sync.Mutex // protects failures
	var failures []pathError
	// The renders hand their reports to one goroutine, which keeps them and
	// calls OnPage: one call at a time, under no lock of the renders'.
	reports := make(chan Prerendered, limit)
	var out []Prerendered
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for p := range reports {
			out = append(out, p)
			if opts.OnPage != nil {
				opts.OnPage(p)
			}
		}
	}()
	for _, path := range e.Paths() {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			rt, params := e.match(path)
			if rt == nil { // unreachable: Paths come from the routes
				return fmt.Errorf("engine: prerender %s: no route matches", path)
			}
			start := e.eventTime()
			c, leader := e.flights.Start(path)
			var res *outcome
			var err error
			if leader {
				res, err = e.flights.Run(path, c, func() (*outcome, error) {
					ctx, cancel := context.WithTimeout(ctx, e.renderTimeout)
					defer cancel()
					return e.renderStore(ctx, rt, path, params, start, nil, false, c, nil)
				})
			} else {
				res, err = e.waitRender(ctx, path, c)
			}
			if err != nil {
				mu.Lock()
				failures = append(failures, pathError{path, fmt.Errorf("engine: prerender %s: %w", path, err)})
				mu.Unlock()
				return nil
			}
			p := Prerendered{Route: rt.pattern, Path: path, Entry: res.entry, Duration: e.now().Sub(start)}
			switch {
			case res.dynamic:
				p.Kind = Dynamic
			case res.entry.Revalidate == regen.Forever:
				p.Kind = Static
			default:
				p.Kind = ISR
			}
			reports <- p
			return nil
		})
	}
	err := g.Wait() // only ctx's end
	if err == nil {
		err = ctx.Err() // paths left unstarted when ctx ended
	}
	close(reports)
	<-collected
	slices.SortFunc(out, func(a, b Prerendered) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(failures, func(a, b pathError) int { return strings.Compare(a.path, b.path) })
	errs := []error{err}
	for _, f := range failures {
		errs = append(errs, f.err)
	}
	return out, errors.Join(errs...)
}

// pathError is a path's failure in Prerender.
type pathError struct {
	path string
	err  error
}
