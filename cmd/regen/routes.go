package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
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
		err = writeJSONLines(w, e.Routes())
	} else {
		writeTable(w, s.title(), e.Routes())
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return printError(stderr, "regen routes", err, exitFailure)
	}
	return exitOK
}

// writeJSONLines writes each policy as `regen routes --json` prints it: its
// JSON form (engine.Policy.MarshalJSON), one per line.
func writeJSONLines(w io.Writer, ps []engine.Policy) error {
	for _, p := range ps {
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// Symbols of the route table, as next build prints them.
const (
	symStatic  = "○"
	symParams  = "●"
	symDynamic = "ƒ"
)

// maxListed is how many prerendered paths the table lists under a route.
const maxListed = 3

// writeTable writes the route table of ps, sorted by route as Routes returns
// them, then its legend.
func writeTable(w io.Writer, title string, ps []engine.Policy) {
	type row struct {
		tree, sym, route, revalidate, expire, why string
		paths                                     []string
	}
	rows := make([]row, len(ps))
	for i, p := range ps {
		r := row{route: p.Route, why: strings.Join(p.Reasons, "; ")}
		switch {
		case i == 0 && len(ps) == 1:
			r.tree = "─"
		case i == 0:
			r.tree = "┌"
		case i == len(ps)-1:
			r.tree = "└"
		default:
			r.tree = "├"
		}
		switch p.Kind {
		case engine.Dynamic:
			r.sym, r.revalidate, r.expire = symDynamic, "0", "-"
		case engine.ISR:
			r.sym, r.revalidate, r.expire = symStatic, seconds(int64(p.Revalidate)), seconds(int64(p.Expire/time.Second))
		default:
			r.sym, r.revalidate, r.expire = symStatic, "false", "-"
		}
		if p.Kind != engine.Dynamic && hasParams(p.Route) {
			r.sym = symParams
			r.paths = listed(p.Prerender)
			if !p.DynamicParams {
				r.why += "; only its static params (dynamicParams false: other paths are 404)"
			}
		}
		rows[i] = r
	}

	const (
		hRoute, hRevalidate, hExpire, hWhy = "Route", "Revalidate", "Expire", "Why"
	)
	wRoute, wRev, wExp := width(hRoute)-4, width(hRevalidate), width(hExpire)
	for _, r := range rows {
		wRoute = max(wRoute, width(r.route))
		wRev = max(wRev, width(r.revalidate))
		wExp = max(wExp, width(r.expire))
	}
	fmt.Fprintf(w, "Route table of %s\n\n", title)
	fmt.Fprintf(w, "%s  %s  %s  %s\n", pad(hRoute, wRoute+4), padLeft(hRevalidate, wRev), padLeft(hExpire, wExp), hWhy)
	for i, r := range rows {
		fmt.Fprintf(w, "%s %s %s  %s  %s  %s\n", r.tree, r.sym, pad(r.route, wRoute), padLeft(r.revalidate, wRev), padLeft(r.expire, wExp), r.why)
		stem := "│"
		if i == len(rows)-1 {
			stem = " "
		}
		for j, path := range r.paths {
			branch := "├"
			if j == len(r.paths)-1 {
				branch = "└"
			}
			fmt.Fprintf(w, "%s   %s %s\n", stem, branch, path)
		}
	}
	fmt.Fprint(w, `
○  (Static)   prerendered; regenerated in the background every Revalidate (ISR), or cached until revalidated on demand
●  (SSG)      prerendered for its static params; other params render on their first request, then are cached
ƒ  (Dynamic)  rendered on every request (BYPASS); its fetches still go through the Data Cache
`)
}

// listed returns the paths the table lists under a route with params: at
// most maxListed, then how many more.
func listed(paths []string) []string {
	switch {
	case len(paths) == 0:
		return []string{"(no static params: each path renders on its first request)"}
	case len(paths) <= maxListed+1:
		return paths
	}
	more := len(paths) - maxListed
	return append(paths[:maxListed:maxListed], "[+"+strconv.Itoa(more)+" more paths]")
}

// hasParams reports whether a route pattern has dynamic segments.
func hasParams(route string) bool { return strings.Contains(route, "[") }

// seconds formats a number of seconds in the largest unit that divides it
// exactly, as next build does: 30s, 5m, 1h, 2d, 1y.
func seconds(n int64) string {
	if n == int64(regen.Forever) {
		return "false"
	}
	units := []struct {
		suffix string
		secs   int64
	}{{"y", 365 * 24 * 3600}, {"d", 24 * 3600}, {"h", 3600}, {"m", 60}}
	for _, u := range units {
		if n >= u.secs && n%u.secs == 0 {
			return strconv.FormatInt(n/u.secs, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "s"
}

func width(s string) int { return utf8.RuneCountInString(s) }

func pad(s string, n int) string { return s + strings.Repeat(" ", max(0, n-width(s))) }

func padLeft(s string, n int) string { return strings.Repeat(" ", max(0, n-width(s))) + s }
