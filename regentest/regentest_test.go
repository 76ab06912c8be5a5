package regentest_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/regentest"
)

var quiet = slog.New(slog.DiscardHandler)

// recordT records what a Harness reports instead of failing the test.
type recordT struct {
	testing.TB
	errs []string
}

func (r *recordT) Helper() {}
func (r *recordT) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestExpectExplains: a failed expectation says what the cache held and
// why.
func TestExpectExplains(t *testing.T) {
	rt := &recordT{TB: t}
	h := regentest.New(rt, blog(), regentest.Options{})
	h.Origin.Set("https://cms.example/posts/a", "A")
	h.Expect("/blog/a", "HIT") // a MISS
	h.Advance(61 * time.Second)
	h.Expect("/blog/a", "HIT")   // STALE by age
	h.Expect("/blog/a", "STALE") // HIT: fresh
	h.RevalidateTag("posts")
	h.Expect("/blog/a", "HIT") // STALE by tag
	h.Expect("/nope", "HIT")
	want := []string{
		"GET /blog/a: X-Cache-Status MISS, want HIT: no entry for /blog/a before the request",
		"GET /blog/a: X-Cache-Status STALE, want HIT: entry age 1m1s ≥ revalidate 1m0s (rendered at 00:00:00)",
		"GET /blog/a: X-Cache-Status HIT, want STALE: entry is fresh: age 0s < revalidate 1m0s (rendered at 00:01:01)",
		"GET /blog/a: X-Cache-Status STALE, want HIT: a tag or path of the entry was revalidated after it was rendered at 00:01:01 (tags posts, ",
		"GET /nope: X-Cache-Status BYPASS, want HIT: no route matches /nope",
	}
	if len(rt.errs) != len(want) {
		t.Fatalf("errors:\n%s\nwant %d", strings.Join(rt.errs, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(rt.errs[i], want[i]) {
			t.Errorf("error %d:\n\t%s\nwant it to start with\n\t%s", i, rt.errs[i], want[i])
		}
	}
}

// TestInsideSynctest: a Harness works inside a testing/synctest bubble,
// with a hanging origin timed out on the bubble's virtual clock.
func TestInsideSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := regentest.New(t, blog(), regentest.Options{Engine: engine.Options{Logger: quiet, FetchTimeout: time.Second}})
		h.Origin.Hang("https://cms.example/posts/a")
		start := time.Now()
		if r := h.Get("/blog/a"); r.Status != 504 || time.Since(start) != time.Second {
			t.Errorf("GET from a hanging origin = %s after %v; want 504 after the 1s fetch timeout", r, time.Since(start))
		}
		h.Origin.Set("https://cms.example/posts/a", "A")
		h.Expect("/blog/a", "MISS")
		h.Expect("/blog/a", "HIT")
		h.ExpireTag("posts")
		h.Expect("/blog/a", "MISS")
	})
}

// TestPaths: path revalidation of one path and of a page route.
func TestPaths(t *testing.T) {
	h := regentest.New(t, blog(), regentest.Options{})
	for _, s := range []string{"a", "b"} {
		h.Origin.Set("https://cms.example/posts/"+s, s)
		h.Expect("/blog/"+s, "MISS")
	}
	h.RevalidatePath("/blog/a", engine.PagePath)
	h.Expect("/blog/a", "STALE")
	h.Expect("/blog/b", "HIT")
	h.ExpirePath("/blog/[slug]", engine.PagePath)
	h.Expect("/blog/a", "MISS")
	h.Expect("/blog/b", "MISS")
	h.ExpectPolicy("/blog/[slug]", engine.ISR, regen.Seconds(60))
	if got := h.Origin.Calls("https://cms.example/posts/a"); got != 3 {
		t.Errorf("origin calls for a = %d; want 3 (first render, regeneration, after expire)", got)
	}
}

// TestOriginStatus: a non-2xx answer fails the render, nothing is cached;
// an unset URL answers 404.
func TestOriginStatus(t *testing.T) {
	h := regentest.New(t, blog(), regentest.Options{Engine: engine.Options{Logger: quiet}})
	if r := h.Get("/blog/unset"); r.Status != 500 {
		t.Errorf("GET with no body set = %s; want 500", r)
	}
	h.Origin.SetStatus("https://cms.example/posts/x", 503, "down")
	if r := h.Get("/blog/x"); r.Status != 500 {
		t.Errorf("GET with a 503 origin = %s; want 500", r)
	}
	h.Origin.Set("https://cms.example/posts/x", "X")
	h.Expect("/blog/x", "MISS")
}
