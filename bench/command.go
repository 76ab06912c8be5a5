package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/sitespec"
)

const usage = `usage: regen bench [flags] [SPEC]

Compares rendering strategies (SSG, SSR, SSR with the Data Cache, ISR at
one or more intervals, ISR with on-demand revalidation) on one site and one
traffic pattern, on the real engine: simulated on virtual time (the default),
or live behind an HTTP server on 127.0.0.1 (--live).

The built-in workload is the demo shop (examples/shop/site.yaml), a simulated
day of 10 requests per second with Zipf popularity 1.1, 12 content changes an
hour and 2 render workers. Describe your own with --workload FILE (YAML) or
a site spec (SPEC, or --site FILE) and the flags below; flags override the file.

flags:
`

// Command runs `regen bench` with args (without the program and command
// names), writing the report to stdout and progress and diagnostics to
// stderr. It returns the process exit status: 0 on success, 2 for bad
// usage, 1 for failure.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("regen bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported below, in one line
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var (
		workloadFile = fs.String("workload", "", "read the workload from this YAML `file`")
		siteFile     = fs.String("site", "", "the site spec `file` (default: the demo shop)")
		rps          = fs.Float64("rps", DefaultRPS, "requests per second")
		duration     = fs.Duration("duration", 0, "how long to run: virtual time when simulating (default 24h), real time per strategy when live (default 10s)")
		zipf         = fs.Float64("zipf", DefaultZipf, "Zipf popularity skew over the paths (0: uniform)")
		changes      = fs.Float64("changes", DefaultChanges, "content changes per hour (0: none)")
		changeTags   = fs.String("change-tags", "", "comma-separated `tags`: only data fetched with one of them changes")
		changePages  = fs.String("change-pages", "", "comma-separated `paths`: only data one of these pages fetches changes (with --change-tags: either)")
		workers      = fs.Int("workers", DefaultWorkers, "render workers: renders computing at once")
		buildWorkers = fs.Int("build-workers", 0, "parallelism of an SSG build (default: workers)")
		hit          = fs.Duration("hit", DefaultHit, "time to first byte of a cached response, when simulating")
		strategies   = fs.String("strategies", strings.Join(DefaultStrategies, ","), "comma-separated `list`: ssg, ssr, ssr+data, isr:60s, isr:60s+on-demand, isr:60s+on-demand:expire, declared")
		sweep        = fs.String("sweep", "", "comma-separated ISR `intervals` for the trade-off plot (default 10s,30s,1m,2m,5m,10m,30m,1h)")
		seed         = fs.Uint64("seed", 1, "random seed: the same seed gives the same simulation")
		live         = fs.Bool("live", false, "measure for real behind an HTTP server on 127.0.0.1 instead of simulating")
		jsonOut      = fs.Bool("json", false, "print the report as JSON")
		plotDir      = fs.String("plot", "", "write PNG and SVG plots to `dir` (runs the ISR sweep too)")
		parallel     = fs.Int("parallel", 0, "simulations running at once (default GOMAXPROCS)")
		quiet        = fs.Bool("quiet", false, "no progress on stderr")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return 0
		}
		fmt.Fprintf(stderr, "regen bench: %v (run regen help bench)\n", err)
		return 2
	}
	switch {
	case fs.NArg() > 1:
		fmt.Fprintf(stderr, "regen bench: want at most one SPEC, got %d arguments: %s (run regen help bench)\n", fs.NArg(), strings.Join(fs.Args(), " "))
		return 2
	case fs.NArg() == 1 && *siteFile != "":
		fmt.Fprintf(stderr, "regen bench: the site spec is given twice, as --site %s and as %s (give one)\n", *siteFile, fs.Arg(0))
		return 2
	case fs.NArg() == 1:
		*siteFile = fs.Arg(0)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	w, err := DefaultWorkload()
	if err != nil {
		fmt.Fprintln(stderr, "regen bench:", err)
		return 1
	}
	// A workload or spec that cannot be read is bad usage, as for regen
	// routes.
	if *workloadFile != "" {
		if w, err = LoadWorkload(*workloadFile); err != nil {
			return fail(stderr, "", err, 2)
		}
	}
	if *siteFile != "" {
		spec, err := sitespec.Load(*siteFile)
		if err != nil {
			return fail(stderr, "", err, 2)
		}
		w.Site, w.SiteFile = spec, *siteFile
	}
	if set["rps"] {
		if *rps <= 0 {
			fmt.Fprintf(stderr, "regen bench: --rps %g (must be above 0)\n", *rps)
			return 2
		}
		w.Traffic.RPS = *rps
	}
	if set["duration"] {
		if *duration <= 0 {
			fmt.Fprintf(stderr, "regen bench: --duration %v (must be positive)\n", *duration)
			return 2
		}
		if *live {
			w.Live.Duration = Duration(*duration)
		} else {
			w.Traffic.Duration = Duration(*duration)
		}
	}
	if set["zipf"] {
		w.Traffic.Zipf = *zipf
	}
	if set["changes"] {
		w.Changes.PerHour = *changes
	}
	if set["change-tags"] {
		w.Changes.Tags = splitList(*changeTags)
	}
	if set["change-pages"] {
		w.Changes.Pages = splitList(*changePages)
	}
	if set["workers"] {
		if *workers < 1 {
			fmt.Fprintf(stderr, "regen bench: --workers %d (must be at least 1)\n", *workers)
			return 2
		}
		w.Capacity.Workers = *workers
	}
	if set["build-workers"] {
		if *buildWorkers < 1 {
			fmt.Fprintf(stderr, "regen bench: --build-workers %d (must be at least 1)\n", *buildWorkers)
			return 2
		}
		w.Capacity.BuildWorkers = *buildWorkers
	}
	if set["hit"] {
		w.Capacity.Hit = Duration(*hit)
	}
	if set["strategies"] {
		w.Strategies = splitList(*strategies)
	}
	if set["sweep"] {
		w.Sweep = nil
		for _, s := range splitList(*sweep) {
			d, err := parseDuration(s)
			if err != nil {
				fmt.Fprintln(stderr, "regen bench: --sweep:", err)
				return 2
			}
			w.Sweep = append(w.Sweep, Duration(d))
		}
	}
	if set["seed"] {
		w.Seed = *seed
	}
	if err := w.fill(); err != nil {
		return fail(stderr, "", err, 2)
	}
	// The route tree as a whole is the spec's too: engine.New checks it.
	if err := checkSite(w.Site); err != nil {
		return fail(stderr, w.SiteFile+": ", err, 2)
	}

	opts := Options{Live: *live, Sweep: *plotDir != "" && !*live, Parallel: *parallel}
	runs := len(w.Strategies)
	each := time.Duration(w.Traffic.Duration)
	if *live {
		each = time.Duration(w.Live.Duration)
	} else if opts.Sweep {
		runs += len(w.Sweep)
	}
	prog := newProgress(stderr, runs, each, *quiet)
	if prog != nil {
		opts.Progress = prog.update
	}
	// Simulating SSR allocates a lot (the engine renders every request) and
	// keeps little: collecting less often speeds the run up by a third.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	start := time.Now()
	rep, err := Run(ctx, w, opts)
	prog.finish()
	if err != nil {
		return fail(stderr, "", err, 1)
	}
	if *jsonOut {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "regen bench:", err)
		return 1
	}
	if *plotDir != "" {
		files, err := rep.Plot(*plotDir)
		if err != nil {
			fmt.Fprintln(stderr, "regen bench:", err)
			return 1
		}
		if !*quiet {
			fmt.Fprintf(stderr, "regen bench: wrote %s\n", strings.Join(files, ", "))
		}
	}
	if !*quiet {
		fmt.Fprintf(stderr, "regen bench: done in %s\n", time.Since(start).Round(100*time.Millisecond))
	}
	return 0
}

// checkSite reports the problems engine.New finds in the route tree of
// spec.
func checkSite(spec *sitespec.Spec) error {
	e, err := engine.New(spec.Build(sitespec.Options{Sleep: noSleep}).Site, engine.Options{Logger: quiet})
	if err != nil {
		return err
	}
	return e.Close()
}

// fail prints err on stderr, one line per problem (a spec's problems are
// joined), each starting with "regen bench: " and prefix, and returns
// status.
func fail(stderr io.Writer, prefix string, err error, status int) int {
	for line := range strings.SplitSeq(strings.TrimRight(err.Error(), "\n"), "\n") {
		fmt.Fprintf(stderr, "regen bench: %s%s\n", prefix, line)
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
