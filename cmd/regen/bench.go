package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/regen-dev/regen/bench"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/sitespec"
)

const benchHelpText = `Bench compares rendering strategies (SSG, SSR, SSR with the Data Cache, ISR
at one or more intervals, ISR with on-demand revalidation, partial
prerendering) on one site and one traffic pattern, on the real engine: simulated on virtual time (the
default), or live behind an HTTP server on 127.0.0.1 (--live).

The built-in workload is the demo shop (examples/shop/site.yaml), a simulated
day of 10 requests per second with Zipf popularity 1.1, 12 content changes an
hour and 2 render workers. Describe your own with --workload FILE (YAML) or
a site spec (SPEC, or --site FILE) and the flags below; flags override the file.

The fresh column is n/a for a strategy when no content changed during its run
(in --json, fresh_share is then 1 and changes 0).

--replay FILE replays an access log instead of the synthetic traffic: its GET
and HEAD requests at their times (relative to the first; --replay-speed N
replays N times faster), with the workload's content changes. It reads Common
and Combined Log Format (nginx, Apache) and JSON lines with a time ("time",
"timestamp", "ts" or "@timestamp": RFC 3339 or Unix seconds) and a path
("path", "uri", "request_uri", "url", or a "request" line). Requests for paths
the site does not route are counted and reported, not replayed; malformed
lines are reported with their line number and skipped.
`

// benchHelp is the help of regen bench: the text and its flags' defaults.
func benchHelp() string {
	fs, _ := benchFlags()
	var b strings.Builder
	b.WriteString(benchHelpText + "\nFlags:\n\n")
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return strings.TrimSuffix(b.String(), "\n") + "\n"
}

// benchOptions are the flags of regen bench.
type benchOptions struct {
	workload, site          string
	rps                     float64
	duration                time.Duration
	zipf, changes           float64
	changeTags, changePages string
	workers, buildWorkers   int
	hit                     time.Duration
	strategies, sweep       string
	seed                    uint64
	live, json              bool
	plot                    string
	parallel                int
	quiet                   bool
	replay                  string
	replaySpeed             float64
}

func benchFlags() (*flag.FlagSet, *benchOptions) {
	var o benchOptions
	fs := flag.NewFlagSet("regen bench", flag.ContinueOnError)
	fs.StringVar(&o.workload, "workload", "", "read the workload from this YAML `file`")
	fs.StringVar(&o.site, "site", "", "the site spec `file` (default: the demo shop)")
	fs.Float64Var(&o.rps, "rps", bench.DefaultRPS, "requests per second")
	fs.DurationVar(&o.duration, "duration", 0, "how long to run: virtual time when simulating (default 24h), real time per strategy when live (default 10s)")
	fs.Float64Var(&o.zipf, "zipf", bench.DefaultZipf, "Zipf popularity skew over the paths (0: uniform)")
	fs.Float64Var(&o.changes, "changes", bench.DefaultChanges, "content changes per hour (0: none)")
	fs.StringVar(&o.changeTags, "change-tags", "", "comma-separated `tags`: only data fetched with one of them changes")
	fs.StringVar(&o.changePages, "change-pages", "", "comma-separated `paths`: only data one of these pages fetches changes (with --change-tags: either)")
	fs.IntVar(&o.workers, "workers", bench.DefaultWorkers, "render workers: renders computing at once")
	fs.IntVar(&o.buildWorkers, "build-workers", 0, "parallelism of an SSG build (default: workers)")
	fs.DurationVar(&o.hit, "hit", bench.DefaultHit, "time to first byte of a cached response, when simulating")
	fs.StringVar(&o.strategies, "strategies", strings.Join(bench.DefaultStrategies, ","), "comma-separated `list`: ssg, ssr, ssr+data, isr:60s, isr:60s+on-demand, isr:60s+on-demand:expire, ppr, ppr:60s, declared")
	fs.StringVar(&o.sweep, "sweep", "", "comma-separated ISR `intervals` for the trade-off plot (default 10s,30s,1m,2m,5m,10m,30m,1h)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed: the same seed gives the same simulation")
	fs.BoolVar(&o.live, "live", false, "measure for real behind an HTTP server on 127.0.0.1 instead of simulating")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.StringVar(&o.plot, "plot", "", "write PNG and SVG plots to `dir` (runs the ISR sweep too)")
	fs.IntVar(&o.parallel, "parallel", 0, "simulations running at once (default GOMAXPROCS)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress on stderr")
	fs.StringVar(&o.replay, "replay", "", "replay the requests of this access log `file` (Common or Combined Log Format, or JSON lines) instead of synthetic traffic")
	fs.Float64Var(&o.replaySpeed, "replay-speed", 1, "replay the log `N` times faster")
	return fs, &o
}

// benchFieldFlags names the flag that sets each workload field. The
// durations are not listed: --duration sets traffic.duration or
// live.duration, and runBench checks it itself.
var benchFieldFlags = map[string]string{
	"seed":                   "seed",
	"traffic.rps":            "rps",
	"traffic.zipf":           "zipf",
	"changes.per_hour":       "changes",
	"changes.tags":           "change-tags",
	"changes.pages":          "change-pages",
	"capacity.workers":       "workers",
	"capacity.build_workers": "build-workers",
	"capacity.hit":           "hit",
	"strategies":             "strategies",
	"sweep":                  "sweep",
}

// runBench runs `regen bench`: it reads the workload from the built-in
// one, a file and the flags, runs it, and prints the report and the plots.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, o := benchFlags()
	pos, status, ok := parseArgs("bench", fs, args, stdout, stderr)
	if !ok {
		return status
	}
	switch {
	case len(pos) > 1:
		return usageError(stderr, "bench", "want at most one SPEC, got %d arguments: %s", len(pos), strings.Join(pos, " "))
	case len(pos) == 1 && o.site != "":
		fmt.Fprintf(stderr, "regen bench: the site spec is given twice, as --site %s and as %s (give one)\n", o.site, pos[0])
		return exitUsage
	case len(pos) == 1:
		o.site = pos[0]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// A flag whose zero value the workload reads as "the default" must not
	// be given as 0.
	for _, c := range []struct {
		name string
		bad  bool
		rule string
	}{
		{"rps", o.rps <= 0, "must be above 0"},
		{"duration", o.duration <= 0, "must be positive"},
		{"workers", o.workers < 1, "must be at least 1"},
		{"build-workers", o.buildWorkers < 1, "must be at least 1"},
		{"hit", o.hit <= 0, "must be positive"},
		{"seed", o.seed == 0, "must be above 0"},
		{"replay-speed", !(o.replaySpeed > 0 && o.replaySpeed <= 1e6), "must be above 0 and at most 1,000,000"},
	} {
		if set[c.name] && c.bad {
			fmt.Fprintf(stderr, "regen bench: --%s %s (%s)\n", c.name, fs.Lookup(c.name).Value, c.rule)
			return exitUsage
		}
	}

	w, err := bench.DefaultWorkload()
	if err != nil {
		return benchError(stderr, err, nil, exitFailure)
	}
	// A workload or spec that cannot be read is bad usage, as for regen
	// routes.
	if o.workload != "" {
		if w, err = bench.LoadWorkload(o.workload); err != nil {
			return benchError(stderr, err, nil, exitUsage)
		}
	}
	if o.site != "" {
		spec, err := sitespec.Load(o.site)
		if err != nil {
			return benchError(stderr, err, nil, exitUsage)
		}
		w.Site, w.SiteFile = spec, o.site
	}
	if err := applyBenchFlags(w, o, set); err != nil {
		return benchError(stderr, err, set, exitUsage)
	}
	if err := w.Validate(); err != nil {
		return benchError(stderr, err, set, exitUsage)
	}
	if status, ok := applyReplay(w, o, set, stderr); !ok {
		return status
	}
	// The route tree as a whole is the spec's too: engine.New checks it.
	if w.Site != nil {
		s := &site{name: w.SiteFile, spec: w.Site, built: w.Site.Build(sitespec.Options{})}
		e, err := s.engine(engine.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return benchError(stderr, err, nil, exitUsage)
		}
		e.Close()
	}

	opts := bench.Options{Live: o.live, Sweep: o.plot != "" && !o.live, Parallel: o.parallel}
	runs := len(w.Strategies)
	each := time.Duration(w.Traffic.Duration)
	if l := w.Traffic.Replay; l != nil {
		each = time.Duration(float64(l.Span()) / o.replaySpeed)
	} else if o.live {
		each = time.Duration(w.Live.Duration)
	} else if opts.Sweep {
		runs += len(w.Sweep)
	}
	prog := newBenchProgress(stderr, runs, each, o.quiet)
	if prog != nil {
		opts.Progress = prog.update
	}
	// Simulating SSR allocates a lot (the engine renders every request) and
	// keeps little: collecting less often speeds the run up by a third.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	start := time.Now()
	rep, err := bench.Run(ctx, w, opts)
	prog.finish()
	if err != nil {
		// Run finds some bad input only once it renders the site: a
		// requested path that does not render, changes that select nothing.
		if be := (*bench.Error)(nil); errors.As(err, &be) {
			return benchError(stderr, err, set, exitUsage)
		}
		return benchError(stderr, err, nil, exitFailure)
	}
	if o.json {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		return benchError(stderr, err, nil, exitFailure)
	}
	if o.plot != "" {
		files, err := rep.Plot(o.plot)
		if err != nil {
			return benchError(stderr, err, nil, exitFailure)
		}
		if !o.quiet {
			fmt.Fprintf(stderr, "regen bench: wrote %s\n", strings.Join(files, ", "))
		}
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "regen bench: done in %s\n", time.Since(start).Round(100*time.Millisecond))
	}
	return exitOK
}

// applyBenchFlags sets the workload fields of the flags given.
func applyBenchFlags(w *bench.Workload, o *benchOptions, set map[string]bool) error {
	if set["rps"] {
		w.Traffic.RPS = o.rps
	}
	if set["duration"] {
		if o.live {
			w.Live.Duration = bench.Duration(o.duration)
		} else {
			w.Traffic.Duration = bench.Duration(o.duration)
		}
	}
	if set["zipf"] {
		w.Traffic.Zipf = o.zipf
	}
	if set["changes"] {
		w.Changes.PerHour = o.changes
	}
	if set["change-tags"] {
		w.Changes.Tags = splitList(o.changeTags)
	}
	if set["change-pages"] {
		w.Changes.Pages = splitList(o.changePages)
	}
	if set["workers"] {
		w.Capacity.Workers = o.workers
	}
	if set["build-workers"] {
		w.Capacity.BuildWorkers = o.buildWorkers
	}
	if set["hit"] {
		w.Capacity.Hit = bench.Duration(o.hit)
	}
	if set["strategies"] {
		w.Strategies = splitList(o.strategies)
		if len(w.Strategies) == 0 {
			return errors.New("--strategies is empty (list one or more, like ssg,isr:60s)")
		}
	}
	if set["sweep"] {
		w.Sweep = nil
		var errs []error
		for _, s := range splitList(o.sweep) {
			var d bench.Duration
			if err := d.UnmarshalText([]byte(s)); err != nil {
				errs = append(errs, fmt.Errorf("--sweep: %w", err))
				continue
			}
			w.Sweep = append(w.Sweep, d)
		}
		if len(errs) == 0 && len(w.Sweep) == 0 {
			errs = append(errs, errors.New("--sweep is empty (list ISR intervals, like 10s,1m,5m)"))
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	if set["seed"] {
		w.Seed = o.seed
	}
	return nil
}

// benchError prints err on stderr, one line per problem, and returns
// status. A workload problem in a field the flags set names the flag
// (--zipf -2 (must be ...)) rather than the file; the bench package's
// prefix is dropped after "regen bench: ".
func benchError(stderr io.Writer, err error, set map[string]bool, status int) int {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, err := range errs {
		msg := err.Error()
		if be, ok := err.(*bench.Error); ok {
			field, _, indexed := strings.Cut(be.Field, "[")
			if name := benchFieldFlags[field]; name != "" && set[name] {
				sep := " "
				if indexed {
					sep = ": "
				}
				msg = "--" + name + sep + be.Err.Error()
			}
		}
		for line := range strings.SplitSeq(strings.TrimRight(msg, "\n"), "\n") {
			fmt.Fprintf(stderr, "regen bench: %s\n", strings.TrimPrefix(line, "bench: "))
		}
	}
	return status
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// applyReplay reads the log of --replay into the workload and reports its
// malformed lines on stderr. ok is false when it has reported bad usage:
// each problem on one line, status 2.
func applyReplay(w *bench.Workload, o *benchOptions, set map[string]bool, stderr io.Writer) (status int, ok bool) {
	if o.replay == "" {
		if set["replay-speed"] {
			fmt.Fprintln(stderr, "regen bench: --replay-speed without --replay (give the log to replay)")
			return exitUsage, false
		}
		return exitOK, true
	}
	bad := false
	for _, name := range []string{"rps", "zipf", "duration"} {
		if set[name] {
			fmt.Fprintf(stderr, "regen bench: --%s does not apply with --replay (the log gives the requests and their times; use --replay-speed)\n", name)
			bad = true
		}
	}
	if bad {
		return exitUsage, false
	}
	l, err := bench.ReadLog(o.replay)
	if err != nil {
		return benchError(stderr, err, nil, exitUsage), false
	}
	for _, p := range l.Problems {
		fmt.Fprintf(stderr, "regen bench: %v (skipped)\n", p)
	}
	if more := l.Malformed - len(l.Problems); more > 0 {
		fmt.Fprintf(stderr, "regen bench: %s: %d more malformed lines skipped\n", l.Name, more)
	}
	w.Traffic.Replay, w.Traffic.ReplaySpeed = l, o.replaySpeed
	return exitOK, true
}
