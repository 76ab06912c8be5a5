package bench

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/internal/clock"
)

// ReplayReport describes the log a run replayed (Report.Replay).
type ReplayReport struct {
	File  string  `json:"file"`
	Speed float64 `json:"speed"`
	// Lines counts the log's lines; Requests the requests replayed.
	Lines    int `json:"lines"`
	Requests int `json:"requests"`
	// Unrouted counts the GET and HEAD requests not replayed because the
	// site answers their path with something else than a page: no route
	// matches, a 404 (dynamicParams false), a redirect (a trailing slash).
	// UnroutedPaths counts their distinct paths; TopUnrouted lists the
	// most requested.
	Unrouted      int         `json:"unrouted"`
	UnroutedPaths int         `json:"unrouted_paths"`
	TopUnrouted   []PathCount `json:"top_unrouted,omitempty"`
	// Skipped counts the log's other requests (POST...); Malformed its
	// lines in no format the log reader knows.
	Skipped   int `json:"skipped"`
	Malformed int `json:"malformed"`
}

// PathCount is a path, how many requests the log has for it, and the
// status the site answers.
type PathCount struct {
	Path     string `json:"path"`
	Requests int    `json:"requests"`
	Status   int    `json:"status"`
}

// topUnrouted is how many unrouted paths a report lists.
const topUnrouted = 5

// replayPlan is a log made ready for one run: the requests for paths the
// site routes, at their times divided by the speed. It is read-only once
// built.
type replayPlan struct {
	at      []time.Duration // per replayed request: when, since the run's start
	target  []int32         // per replayed request: its index in targets
	targets []string        // the distinct replayed targets, path and query
	pathOf  []int32         // per target: its path's index in the catalog
	end     time.Duration
	report  *ReplayReport
}

// planReplay prepares w.Traffic.Replay for a run on the copy w: it asks the
// site which of the log's paths it routes, and sets the traffic's paths to
// those (most requested first) and the run's durations to the log's span
// divided by the speed.
func planReplay(ctx context.Context, w *Workload) (*replayPlan, error) {
	l := w.Traffic.Replay
	speed := w.Traffic.ReplaySpeed
	if speed == 0 {
		speed = 1
	}
	if !(speed > 0 && speed <= 1e6) {
		return nil, w.errorf("traffic.replay_speed", "%g (must be above 0 and at most 1,000,000; 1 replays as logged)", speed)
	}
	if len(l.at) == 0 {
		return nil, &Error{File: l.Name, Err: fmt.Errorf("no GET or HEAD request to replay")}
	}
	// The paths of the targets, and how many requests each has.
	pathIndex := map[string]int{}
	var paths []string
	var counts []int
	targetPath := make([]int, len(l.targets))
	for i, t := range l.targets {
		p, _, _ := strings.Cut(t, "?")
		k, ok := pathIndex[p]
		if !ok {
			k = len(paths)
			pathIndex[p] = k
			paths = append(paths, p)
			counts = append(counts, 0)
		}
		targetPath[i] = k
	}
	for _, t := range l.target {
		counts[targetPath[t]]++
	}
	status, err := routeStatus(ctx, w, paths)
	if err != nil {
		return nil, err
	}
	rep := &ReplayReport{File: l.Name, Speed: speed, Lines: l.Lines, Skipped: l.Skipped, Malformed: l.Malformed}
	var routed []int
	var unrouted []PathCount
	for k, p := range paths {
		if status[k] == http.StatusOK {
			routed = append(routed, k)
			continue
		}
		unrouted = append(unrouted, PathCount{Path: p, Requests: counts[k], Status: status[k]})
		rep.Unrouted += counts[k]
	}
	slices.SortStableFunc(unrouted, func(a, b PathCount) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), strings.Compare(a.Path, b.Path))
	})
	rep.UnroutedPaths = len(unrouted)
	rep.TopUnrouted = unrouted[:min(len(unrouted), topUnrouted)]
	if len(routed) == 0 {
		var top []string
		for _, u := range rep.TopUnrouted {
			top = append(top, fmt.Sprintf("%s (%d)", u.Path, u.Status))
		}
		return nil, &Error{File: l.Name, Err: fmt.Errorf("none of its %d GET and HEAD requests is for a page of site %s (most requested: %s)", len(l.at), w.SiteFile, strings.Join(top, ", "))}
	}
	// The traffic's paths: the routed ones, most requested first.
	slices.SortStableFunc(routed, func(a, b int) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(paths[a], paths[b]))
	})
	catIndex := make([]int32, len(paths))
	for k := range catIndex {
		catIndex[k] = -1
	}
	w.Traffic.Paths = make([]string, len(routed))
	for i, k := range routed {
		catIndex[k] = int32(i)
		w.Traffic.Paths[i] = paths[k]
	}
	plan := &replayPlan{report: rep}
	newTarget := make([]int32, len(l.targets))
	for i, t := range l.targets {
		newTarget[i] = -1
		if c := catIndex[targetPath[i]]; c >= 0 {
			newTarget[i] = int32(len(plan.targets))
			plan.targets = append(plan.targets, t)
			plan.pathOf = append(plan.pathOf, c)
		}
	}
	for k, t := range l.target {
		if nt := newTarget[t]; nt >= 0 {
			plan.at = append(plan.at, time.Duration(float64(l.at[k])/speed))
			plan.target = append(plan.target, nt)
		}
	}
	rep.Requests = len(plan.at)
	plan.end = max(time.Duration(float64(l.Span())/speed), plan.at[len(plan.at)-1]+1)
	w.Traffic.Duration = Duration(plan.end)
	w.Live.Duration = Duration(plan.end)
	return plan, nil
}

// routeStatus returns the status the site answers each path with, when
// every page renders on request and the origin answers at once.
func routeStatus(ctx context.Context, w *Workload, paths []string) ([]int, error) {
	origin := w.newOrigin(0, nil)
	site, err := w.build(Strategy{Kind: SSR}.apply(w.Site), noSleep, origin, false)
	if err != nil {
		return nil, err
	}
	e, err := engine.New(site, engine.Options{Fetcher: origin, Logger: quiet, Scheduler: regen.SchedulerFunc(func(f func()) { f() })})
	if err != nil {
		return nil, fmt.Errorf("bench: site %s: %w", w.SiteFile, err)
	}
	defer e.Close()
	rw := newWriter()
	out := make([]int, len(paths))
	for k, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://bench.invalid"+p, nil)
		if err != nil {
			out[k] = http.StatusBadRequest
			continue
		}
		rw.reset()
		e.ServeHTTP(rw, req)
		out[k] = rw.code
	}
	return out, nil
}

// describe sets the report's traffic figures from the replay.
func (p *replayPlan) describe(rep *Report) {
	rep.Replay = p.report
	rep.Zipf = 0
	if s := p.end.Seconds(); s > 0 {
		rep.RPS = round(float64(len(p.at))/s, 3)
	}
}

// replayCursor walks a replay plan for one simulation. It is not safe for
// concurrent use.
type replayCursor struct {
	plan *replayPlan
	next int
	reqs []*http.Request // per target
}

func newReplayCursor(p *replayPlan) (*replayCursor, error) {
	c := &replayCursor{plan: p, reqs: make([]*http.Request, len(p.targets))}
	for i, t := range p.targets {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://bench.invalid"+t, nil)
		if err != nil {
			return nil, fmt.Errorf("bench: replay: target %q: %w", t, err)
		}
		c.reqs[i] = req
	}
	return c, nil
}

// nextArrival returns the time of the request after the one at t: the
// log's next, or a Poisson arrival at the workload's rate.
func (s *sim) nextArrival(t time.Duration) time.Duration {
	if c := s.replay; c != nil {
		if c.next >= len(c.plan.at) {
			return never
		}
		return c.plan.at[c.next]
	}
	return t + expDuration(s.arrival, s.w.Traffic.RPS)
}

// nextPath returns the path index and the request of the request due now:
// the log's next, or a path drawn by popularity.
func (s *sim) nextPath() (int, *http.Request) {
	if c := s.replay; c != nil {
		t := c.plan.target[c.next]
		c.next++
		return int(c.plan.pathOf[t]), c.reqs[t]
	}
	i := s.popular.sample(s.pick)
	return i, s.reqs[i]
}

// replay is live mode's load generator for a log: each request when the
// log says (divided by the speed), at most MaxInFlight at once, until the
// log or ctx ends. Each time to first byte counts from when the request was
// due.
func (l *live) replay(ctx context.Context, client *http.Client, base string) {
	p := l.cat.replay
	inflight := make(chan struct{}, l.w.Live.MaxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for k, at := range p.at {
		due := l.start.Add(at)
		if d := time.Until(due); d > 0 {
			if clock.Sleep(ctx, d) != nil {
				return
			}
		}
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		url := base + p.targets[p.target[k]]
		wg.Go(func() {
			defer func() { <-inflight }()
			l.get(client, url, due)
		})
	}
}

// writeReplayHeader writes the table's first line for a replay.
func (r *Report) writeReplayHeader(b *strings.Builder) {
	rp := r.Replay
	fmt.Fprintf(b, "regen bench · %s · %s: %d paths, %d data URLs · replay %s", r.Mode, r.Site, r.Paths, r.URLs, rp.File)
	if rp.Speed != 1 {
		fmt.Fprintf(b, " ×%s", fmtFloat(rp.Speed))
	}
	fmt.Fprintf(b, ": %d requests in %s (%s req/s) · %s changes/h · %d workers",
		rp.Requests, shortDuration(time.Duration(r.Duration*float64(time.Second))), fmtFloat(round(r.RPS, 2)), fmtFloat(r.Changes), r.Workers)
	if r.Mode == "simulate" {
		fmt.Fprintf(b, " · seed %d", r.Seed)
	}
}

// writeReplayFooter writes what the replay left out.
func (r *Report) writeReplayFooter(b *strings.Builder) {
	rp := r.Replay
	if rp == nil {
		return
	}
	total := rp.Requests + rp.Unrouted
	fmt.Fprintf(b, "\nNot replayed: %d of %d GET and HEAD requests (%s) for %d paths the site does not route",
		rp.Unrouted, total, fmtShare(float64(rp.Unrouted)/float64(max(total, 1))), rp.UnroutedPaths)
	if len(rp.TopUnrouted) > 0 {
		var top []string
		for _, u := range rp.TopUnrouted {
			top = append(top, fmt.Sprintf("%s (%d): %d", u.Path, u.Status, u.Requests))
		}
		fmt.Fprintf(b, " (%s)", strings.Join(top, ", "))
	}
	fmt.Fprintf(b, "; %d other requests; %d malformed lines.\n", rp.Skipped, rp.Malformed)
}
