package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/routetable"
)

const buildHelp = `Build prerenders every static and ISR page of the site, static params
included, into DIR with a manifest, then prints the route table and the time
taken. The new build replaces the previous one only once it is complete: a
failed or interrupted build leaves the previous one as it was.

regen serve --dir DIR serves the built pages as HIT without rendering them.

On a terminal it shows a progress bar; otherwise it prints a line at every
tenth of the pages.
`

type buildOpts struct {
	out         string
	concurrency int
}

func buildFlags() (*flag.FlagSet, *buildOpts) {
	var o buildOpts
	fs := flag.NewFlagSet("regen build", flag.ContinueOnError)
	fs.StringVar(&o.out, "out", ".regen", "write the build to `directory`")
	fs.IntVar(&o.concurrency, "concurrency", 0, "render at most `n` pages at once (0: one per CPU)")
	return fs, &o
}

func runBuild(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, o := buildFlags()
	pos, status, ok := parseArgs("build", fs, args, stdout, stderr)
	if !ok {
		return status
	}
	if o.out == "" {
		return usageError(stderr, "build", "--out must name a directory")
	}
	if o.concurrency < 0 {
		return usageError(stderr, "build", "--concurrency %d must be at least 1, or 0 for one per CPU", o.concurrency)
	}
	if o.concurrency == 0 {
		o.concurrency = runtime.GOMAXPROCS(0)
	}
	s, err := loadSite(pos)
	if err != nil {
		return printError(stderr, "regen build", err, exitUsage)
	}
	// engine.New checks the route tree as a whole: a problem there is the
	// spec's (status 2), found before anything is rendered or written.
	e, err := s.engine(engine.Options{})
	if err != nil {
		return printError(stderr, "regen build", err, exitUsage)
	}
	e.Close()

	fmt.Fprintf(stdout, "Building %s into %s\n", s.title(), o.out)
	bar := newProgress(stdout)
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	res, err := build(ctx, s, o.out, o.concurrency, logger, bar.update)
	bar.done()
	if err != nil {
		return printError(stderr, "regen build", err, exitFailure)
	}
	pages := 0
	for _, p := range res.Pages {
		if p.Kind != engine.Dynamic {
			pages++
		}
	}
	fmt.Fprintln(stdout)
	_ = routetable.Write(stdout, s.title(), res.Routes) // stdout is not checked, as elsewhere
	fmt.Fprintf(stdout, "\nBuilt %d %s into %s in %s.\n", pages, plural(pages, "page", "pages"), res.Dir, res.Duration.Round(time.Millisecond))
	return exitOK
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// progress shows how far a build is: a bar redrawn in place on a terminal
// at every thousandth of the pages, else a line at every tenth of them.
// Redrawing the bar for each page made a build of 10,000 tiny pages spend
// about as long writing it as writing the pages.
type progress struct {
	w        io.Writer
	terminal bool
	last     int // the last tenth of the pages printed (plain), or thousandth drawn (terminal)
	drawn    bool
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, terminal: isTerminal(w)}
}

// isTerminal reports whether w is a terminal: a character device that is
// not declared dumb.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

const barWidth = 30

// update reports that done of total pages are built, the last one path. It
// is called one at a time.
func (p *progress) update(done, total int, path string) {
	if total <= 0 {
		return
	}
	if p.terminal {
		step := 1000 * done / total
		if p.drawn && step == p.last && done < total {
			return
		}
		p.last = step
		filled := barWidth * done / total
		fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d %s", strings.Repeat("█", filled), strings.Repeat("░", barWidth-filled), done, total, path)
		p.drawn = true
		return
	}
	tenth := 10 * done / total
	if tenth == p.last {
		return
	}
	p.last = tenth
	fmt.Fprintf(p.w, "%3d%%  %d/%d pages\n", 100*done/total, done, total)
}

// done ends the progress display.
func (p *progress) done() {
	if p.terminal && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
