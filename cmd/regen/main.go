// Command regen prints, builds and serves a site with Next.js-style
// incremental static regeneration.
//
//	regen routes [--json] [SPEC]                      the route table: what is static, ISR or dynamic, and why
//	regen build [--out DIR] [SPEC]                    prerender every static and ISR page into DIR (.regen)
//	regen serve [--addr ADDR] [--dir DIR] [SPEC]      serve the site; with --dir, the pages regen build wrote
//	regen serve --redis URL [SPEC]                    serve the site, sharing pages with other instances
//	regen bench [flags] [SPEC]                        compare SSG, SSR and ISR on one site and traffic pattern
//	regen version                                     print regen's version and the VCS revision it was built from
//
// SPEC is a site spec in YAML or JSON (see the sitespec package). Without
// one, each command uses the built-in demo site, a small shop
// (examples/shop/site.yaml).
//
// Exit status: 0 on success, 2 for bad usage or a bad spec, 1 for any other
// failure. Errors are printed to stderr, one line each.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/examples/shop"
	"github.com/regen-dev/regen/sitespec"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default behavior: a second
		// one ends the process without waiting for a graceful shutdown.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the command failed: a render, the disk, the network
	exitUsage   = 2 // bad usage or a bad spec
)

// command is one subcommand of regen.
type command struct {
	name    string
	usage   string // the synopsis after "regen "
	summary string // one line for the command list
	help    string // what follows the synopsis in `regen help NAME`
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"routes", "routes [--json] [SPEC]", "print each route's caching policy and why",
			routesHelp, runRoutes},
		{"build", "build [--out DIR] [--concurrency N] [SPEC]", "prerender every static and ISR page into a directory",
			buildHelp, runBuild},
		{"serve", "serve [--addr ADDR] [--dir DIR | --redis URL] [--debug] [SPEC]", "serve the site over HTTP",
			serveHelp, runServe},
		{"bench", "bench [flags] [SPEC]", "compare SSG, SSR and ISR on one site and traffic pattern",
			benchHelp(), runBench},
		{"version", "version", "print regen's version and the revision it was built from",
			versionHelp, runVersion},
	}
}

// run runs regen with args (without the program name) and returns the exit
// status. Canceling ctx stops what the command is doing: `regen serve` shuts
// down gracefully and returns 0.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return exitOK
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout)
			return exitOK
		}
		for _, c := range commands() {
			if c.name == rest[0] {
				commandHelp(stdout, c)
				return exitOK
			}
		}
		fmt.Fprintf(stderr, "regen help: unknown command %q (run regen help)\n", rest[0])
		return exitUsage
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, rest, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "regen: unknown command %q (run regen help)\n", name)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `regen prints, builds and serves a site with Next.js-style incremental static
regeneration (ISR): cached pages served at once, regenerated in the background.

Usage:

`)
	for _, c := range commands() {
		fmt.Fprintf(w, "\tregen %s\n", c.usage)
	}
	fmt.Fprint(w, "\nCommands:\n\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
SPEC is a site spec, YAML or JSON. Without one, each command uses the built-in
demo site, a small shop (examples/shop/site.yaml).

Environment:

	REGEN_REVALIDATE_SECRET   regen serve answers POST /api/revalidate with this bearer secret
	REGEN_DEBUG_CACHE=1       log every cache decision (as regen serve --debug)

Exit status: 0 on success, 2 for bad usage or a bad spec, 1 for a failure.
Run regen help COMMAND for a command's flags.
`)
}

func commandHelp(w io.Writer, c command) {
	fmt.Fprintf(w, "usage: regen %s\n\n%s", c.usage, c.help)
	if fs := c.flags(); fs != nil {
		fmt.Fprint(w, "\nFlags:\n\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// flags returns the flag set of c with its defaults, for help; nil for
// commands that parse their own.
func (c command) flags() *flag.FlagSet {
	switch c.name {
	case "routes":
		fs, _ := routesFlags()
		return fs
	case "build":
		fs, _ := buildFlags()
		return fs
	case "serve":
		fs, _ := serveFlags()
		return fs
	}
	return nil
}

// parseArgs parses args with fs, allowing flags after positional arguments
// (regen routes site.yaml --json), and returns the positional arguments.
// Bad usage is reported on stderr in one line; help (-h) is printed to
// stdout. ok is false when the command must return status.
func parseArgs(name string, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (pos []string, status int, ok bool) {
	fs.SetOutput(io.Discard)
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			for _, c := range commands() {
				if c.name == name {
					commandHelp(stdout, c)
				}
			}
			return nil, exitOK, false
		}
		if err != nil {
			fmt.Fprintf(stderr, "regen %s: %v (run regen help %s)\n", name, err, name)
			return nil, exitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, true
		}
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(pos, rest...), 0, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError reports bad usage of a command in one line and returns
// exitUsage.
func usageError(stderr io.Writer, name, format string, args ...any) int {
	fmt.Fprintf(stderr, "regen %s: %s (run regen help %s)\n", name, fmt.Sprintf(format, args...), name)
	return exitUsage
}

// printError prints err on stderr, one line per problem (a spec's problems
// are joined), each prefixed with prefix ("regen routes"), and returns
// status.
func printError(stderr io.Writer, prefix string, err error, status int) int {
	for line := range strings.SplitSeq(strings.TrimRight(err.Error(), "\n"), "\n") {
		fmt.Fprintf(stderr, "%s: %s\n", prefix, line)
	}
	return status
}

// site is a spec made ready to serve: its engine.Site and the fetcher its
// renders' fetches go to.
type site struct {
	name  string // for messages: the spec's file, or the demo site's
	spec  *sitespec.Spec
	built *sitespec.Built
}

// loadSite loads the spec named by the positional arguments: none for the
// built-in demo site, or one file. A problem is bad usage or a bad spec.
func loadSite(pos []string) (*site, error) {
	var (
		spec *sitespec.Spec
		name string
		err  error
	)
	switch len(pos) {
	case 0:
		name = shop.Filename
		spec, err = shop.Parse()
	case 1:
		name = pos[0]
		spec, err = sitespec.Load(pos[0])
	default:
		return nil, fmt.Errorf("want at most one SPEC, got %d arguments: %s", len(pos), strings.Join(pos, " "))
	}
	if err != nil {
		return nil, err
	}
	return &site{name: name, spec: spec, built: spec.Build(sitespec.Options{})}, nil
}

// engine returns a new engine over the site with opts, the site's fetcher
// filled in. Its errors are the spec's: the route tree as a whole.
func (s *site) engine(opts engine.Options) (*engine.Engine, error) {
	opts.Fetcher = s.built.Fetcher
	e, err := engine.New(s.built.Site, opts)
	if err != nil {
		return nil, &fileError{s.name, err}
	}
	return e, nil
}

// fileError names the file on each line of a joined error.
type fileError struct {
	file string
	err  error
}

func (e *fileError) Error() string {
	lines := strings.Split(strings.TrimRight(e.err.Error(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = e.file + ": " + l
	}
	return strings.Join(lines, "\n")
}

func (e *fileError) Unwrap() error { return e.err }

// title names the site in output: "shop (examples/shop/site.yaml)".
func (s *site) title() string {
	if s.spec.Name == "" {
		return s.name
	}
	return s.spec.Name + " (" + s.name + ")"
}
