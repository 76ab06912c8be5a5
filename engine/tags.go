package engine

import (
	"context"
	"log/slog"
	"slices"
	"unicode/utf8"

	"github.com/regen-dev/regen/render"
)

// entryTags returns the tags of path's entry: the tags its fetches declared,
// then the route's implicit tags, then the path's own (routecache.Cache.Tags).
//
// A declared tag that breaks the limits (a "product-{slug}" tag of a long
// slug) is dropped, as Next.js drops it, and the path is cached without it;
// each reason is logged once per route, so a flood of such paths cannot
// flood the log. It never fails: the error is for callers that predate this.
func (e *Engine) entryTags(rt *route, path string, res *render.Result) ([]string, error) {
	declared := make([]string, 0, 8)
	for _, f := range res.Record.Fetches {
		for _, t := range f.Tags {
			if !slices.Contains(declared, t) {
				declared = append(declared, t)
			}
		}
	}
	tags, dropped := e.routes.Tags(rt.pattern, path, rt.tags, declared)
	for _, d := range dropped {
		e.log.LogAttrs(context.Background(), slog.LevelWarn, "regen: tag dropped; the page is cached without it (logged once per route and reason)",
			slog.String("route", rt.pattern), slog.String("path", shorten(path)), slog.String("reason", d.Reason), slog.String("tag", shorten(d.Tag)))
	}
	return tags, nil
}

// shorten cuts s for a log line.
func shorten(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	n := limit
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
