package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/regen-dev/regen"
)

// Options configure Run. The zero value simulates the workload's strategies
// with as many running at once as GOMAXPROCS, without the sweep.
type Options struct {
	// Live runs the strategies for real, one after the other, behind an
	// HTTP server on 127.0.0.1, instead of simulating them.
	Live bool
	// Sweep also runs ISR at each of the workload's Sweep intervals (the
	// trade-off curve of the plots); the results go to Report.Sweep.
	Sweep bool
	// Parallel bounds the simulations running at once. If zero, GOMAXPROCS.
	Parallel int
	// Progress, if set, is told how far each run has gone: done out of
	// total, in the run's own time (virtual or real). It may be called from
	// several goroutines at once.
	Progress func(name string, done, total time.Duration)
}

// Run runs the workload against each of its strategies and reports their
// figures. A nil workload is DefaultWorkload; in others, fields whose zero
// value means nothing (no site, no traffic, no workers) take its defaults. In simulate mode the report is
// a pure function of the workload (its seed included).
func Run(ctx context.Context, w *Workload, opts Options) (*Report, error) {
	if w == nil {
		var err error
		if w, err = DefaultWorkload(); err != nil {
			return nil, err
		}
	}
	wc := *w
	if err := wc.fill(); err != nil {
		return nil, err
	}
	w = &wc
	var strategies []Strategy
	for i, s := range w.Strategies {
		st, err := ParseStrategy(s)
		if err != nil {
			return nil, err
		}
		if p := st.Mode.Profile(); p != "" {
			// A profile mode names a built-in profile or one of the site's.
			if _, ok := w.Site.CacheLife[p]; !ok {
				if _, ok := regen.BuiltinCacheLife(p); !ok {
					known := append(regen.BuiltinCacheLifeNames(), slices.Sorted(maps.Keys(w.Site.CacheLife))...)
					return nil, w.errorf(fmt.Sprintf("strategies[%d]", i), "%q: unknown cache profile %q (known: %s)", s, p, strings.Join(known, ", "))
				}
			}
		}
		strategies = append(strategies, st)
	}
	var sweep []Strategy
	if opts.Sweep && !opts.Live {
		for _, d := range w.Sweep {
			sweep = append(sweep, Strategy{Kind: ISR, Interval: time.Duration(d)})
		}
	}
	var plan *replayPlan
	if w.Traffic.Replay != nil {
		// The log's routed paths become the traffic's, its span the run's.
		var err error
		if plan, err = planReplay(ctx, w); err != nil {
			return nil, err
		}
	}
	cat, err := discover(ctx, w)
	if err != nil {
		return nil, err
	}
	cat.replay = plan
	rep := &Report{
		Mode: "simulate", Seed: w.Seed, Site: siteName(w), Paths: len(cat.paths), URLs: len(cat.urls),
		RPS: w.Traffic.RPS, Duration: time.Duration(w.Traffic.Duration).Seconds(), Zipf: w.Traffic.Zipf,
		Changes: w.Changes.PerHour, Workers: w.Capacity.Workers,
	}
	if plan != nil {
		plan.describe(rep)
	}
	if opts.Live {
		rep.Mode, rep.Duration = "live", time.Duration(w.Live.Duration).Seconds()
		rep.Strategies, err = runLive(ctx, w, cat, strategies, opts.Progress)
		return rep, err
	}
	all := append(append([]Strategy(nil), strategies...), sweep...)
	results := make([]*Result, len(all))
	// The strategies that render every request take longest: start them
	// first, so that the others fill the gaps. Results keep their places.
	order := make([]int, len(all))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(weight(all[b]), weight(all[a])) })
	g, gctx := errgroup.WithContext(ctx)
	limit := opts.Parallel
	if limit <= 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	g.SetLimit(limit)
	total := time.Duration(w.Traffic.Duration)
	for _, i := range order {
		st := all[i]
		g.Go(func() error {
			var progress func(time.Duration)
			if opts.Progress != nil {
				name := st.Name()
				progress = func(done time.Duration) { opts.Progress(name, done, total) }
			}
			s, err := newSim(w, cat, st, progress)
			if err != nil {
				return err
			}
			r, err := s.run(gctx)
			if err != nil {
				return err
			}
			if st.Kind == ISR {
				r.IntervalS = int64(st.Interval / time.Second)
			}
			results[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, errors.Join(ctx.Err(), err)
		}
		return nil, err
	}
	rep.Strategies = results[:len(strategies)]
	if len(sweep) > 0 {
		rep.Sweep = results[len(strategies):]
	}
	return rep, nil
}

// weight ranks strategies by how long they take to simulate.
func weight(s Strategy) int {
	if s.Kind == SSR || s.Kind == SSRData {
		return 1
	}
	return 0
}

// siteName names the site in reports: its spec's name and file.
func siteName(w *Workload) string {
	name := w.Site.Name
	if name == "" {
		name = "site"
	}
	if w.SiteFile != "" {
		name += " (" + w.SiteFile + ")"
	}
	return name
}
