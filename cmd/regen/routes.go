package main

import (
	"bufio"
	"context"
	"flag"
	"io"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/routetable"
)

const routesHelp = `Routes prints the route table of the site: one line per page route, sorted
by route, with its kind, revalidate, expire and the reasons the engine gives
for them, as next build does:

	○  static or ISR: prerendered; regenerated every Revalidate when it has one
	●  a route with params, prerendered for its static params
	ƒ  dynamic: rendered on every request

Revalidate and expire are written 30s, 5m, 1h, 1d, 1y; false means cached
until revalidated on demand, 0 never cached.

With --json it prints one JSON object per line (JSON Lines), one per page
route, sorted by route, as docs/site-spec.md gives it:

	{"route":"/products/[slug]","kind":"isr","revalidate":60,"expire":31536000,
	 "dynamicParams":true,"prerender":["/products/hat"],"reasons":["..."]}

where revalidate is seconds for ISR, false for static and 0 for dynamic.
Read it with jq: regen routes --json | jq -r 'select(.kind == "dynamic").route'
`

func routesFlags() (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet("regen routes", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object per route, one per line")
	return fs, asJSON
}

func runRoutes(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, asJSON := routesFlags()
	pos, status, ok := parseArgs("routes", fs, args, stdout, stderr)
	if !ok {
		return status
	}
	s, err := loadSite(pos)
	if err != nil {
		return printError(stderr, "regen routes", err, exitUsage)
	}
	e, err := s.engine(engine.Options{})
	if err != nil {
		return printError(stderr, "regen routes", err, exitUsage)
	}
	defer e.Close()
	w := bufio.NewWriter(stdout)
	if *asJSON {
		err = routetable.WriteJSON(w, e.Routes())
	} else {
		err = routetable.Write(w, s.title(), e.Routes())
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return printError(stderr, "regen routes", err, exitFailure)
	}
	return exitOK
}
