// Package routetable writes an engine's route table, as `regen routes`
// prints it: a table with next build's symbols, or JSON Lines.
package routetable

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
)

// Symbols of the route table, as next build prints them.
const (
	symStatic  = "○"
	symParams  = "●"
	symDynamic = "ƒ"
	symPartial = "◐"
)

// maxListed is how many prerendered paths the table lists under a route.
const maxListed = 3

// legend follows the table.
const legend = `
○  (Static)   prerendered; regenerated in the background every Revalidate (ISR), or cached until revalidated on demand
●  (SSG)      prerendered for its static params; other params render on their first request, then are cached
ƒ  (Dynamic)  rendered on every request (BYPASS); its fetches still go through the Data Cache
`

// partialLegend follows the legend when a route is partial.
const partialLegend = `◐  (Partial Prerender)  a cached shell (as ○ or ●) whose holes render on every request and stream in place
`

// Write writes the route table of ps, titled "Route table of " + title,
// then its legend: one line per route in the order of ps (Engine.Routes
// sorts them by route) with its symbol, revalidate, expire and reasons, and
// under a route with params the first prerendered paths. Revalidate and
// expire are written as FormatSeconds writes them; false means cached until
// revalidated on demand, 0 never cached. It returns the first error of w.
func Write(w io.Writer, title string, ps []engine.Policy) error {
	type row struct {
		tree, sym, route, revalidate, expire, why string
		paths                                     []string
	}
	rows := make([]row, len(ps))
	partial := false
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
			r.sym, r.revalidate, r.expire = symStatic, FormatSeconds(p.Revalidate.Raw()), FormatSeconds(int64(p.Expire/time.Second))
		default:
			r.sym, r.revalidate, r.expire = symStatic, "false", "-"
		}
		if p.Kind != engine.Dynamic && hasParams(p.Route) {
			r.sym = symParams
			r.paths = listed(p.Prerender, p.DynamicParams)
			if !p.DynamicParams {
				r.why += "; only its static params (dynamicParams false: other paths are 404)"
			}
		}
		if p.Partial() {
			r.sym = symPartial
			partial = true
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
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "Route table of %s\n\n", title)
	fmt.Fprintf(ew, "%s  %s  %s  %s\n", pad(hRoute, wRoute+4), padLeft(hRevalidate, wRev), padLeft(hExpire, wExp), hWhy)
	for i, r := range rows {
		fmt.Fprintf(ew, "%s %s %s  %s  %s  %s\n", r.tree, r.sym, pad(r.route, wRoute), padLeft(r.revalidate, wRev), padLeft(r.expire, wExp), r.why)
		stem := "│"
		if i == len(rows)-1 {
			stem = " "
		}
		for j, path := range r.paths {
			branch := "├"
			if j == len(r.paths)-1 {
				branch = "└"
			}
			fmt.Fprintf(ew, "%s   %s %s\n", stem, branch, path)
		}
	}
	io.WriteString(ew, legend)
	if partial {
		io.WriteString(ew, partialLegend)
	}
	return ew.err
}

// WriteJSON writes each policy as `regen routes --json` prints it: its JSON
// form (engine.Policy.MarshalJSON), one per line (JSON Lines).
func WriteJSON(w io.Writer, ps []engine.Policy) error {
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

// FormatSeconds formats a number of seconds as the table writes revalidate
// and expire: in the largest unit that divides it exactly, as next build
// does (30s, 90s, 5m, 1h, 2d, 1y), and regen.Forever as "false".
func FormatSeconds(n int64) string {
	if n == regen.Forever.Raw() {
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

// listed returns the paths the table lists under a route with params: at
// most maxListed, then how many more.
func listed(paths []string, dynamicParams bool) []string {
	switch {
	case len(paths) == 0 && dynamicParams:
		return []string{"(no static params: each path renders on its first request)"}
	case len(paths) == 0:
		return []string{"(no static params: every path is 404)"}
	case len(paths) <= maxListed+1:
		return paths
	}
	more := len(paths) - maxListed
	return append(paths[:maxListed:maxListed], "[+"+strconv.Itoa(more)+" more paths]")
}

// hasParams reports whether a route pattern has dynamic segments.
func hasParams(route string) bool { return strings.Contains(route, "[") }

func width(s string) int { return utf8.RuneCountInString(s) }

func pad(s string, n int) string { return s + strings.Repeat(" ", max(0, n-width(s))) }

func padLeft(s string, n int) string { return strings.Repeat(" ", max(0, n-width(s))) + s }

// errWriter keeps the first error of w and writes nothing after it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
