// Package regentest tests a site's route configuration, in the spirit of
// net/http/httptest: a Harness runs the site's engine on a clock of its
// own, with a stub Origin for its fetches, so that a test can request paths,
// move time, revalidate tags and paths, and assert what the cache did, with
// failure messages that say why:
//
//	GET /blog/a: X-Cache-Status STALE, want HIT: entry age 1m0s ≥ revalidate 1m0s (rendered at 00:00:00)
//
// Background work (regenerations, data refreshes) runs to completion after
// each request, revalidation and Advance, so a test reads top to bottom:
//
//	h := regentest.New(t, &site, regentest.Options{})
//	h.Origin.Set("https://cms.example/posts/a", "A1")
//	h.Expect("/blog/a", "MISS")
//	h.Expect("/blog/a", "HIT")
//	h.Advance(time.Minute)
//	h.Expect("/blog/a", "STALE")  // served while it regenerates
//	h.Expect("/blog/a", "HIT")
//
// A Harness works inside a testing/synctest bubble and outside one.
//
// CheckDeclarations (and ExpectDeclared) render every route once and report
// what renders did that the routes' declarations do not say, naming the
// field to add.
package regentest
