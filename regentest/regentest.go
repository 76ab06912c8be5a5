package regentest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
)

// T is the part of testing.TB a Harness uses: *testing.T and *testing.B
// are Ts.
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Options configure a Harness. The zero value means all defaults.
type Options struct {
	// Engine configures the engine under test. The harness sets its Now and
	// Scheduler, and its Fetcher when nil (to the harness's Origin).
	Engine engine.Options
	// Origin answers the site's fetches when Engine.Fetcher is nil. If nil,
	// a new empty Origin.
	Origin *Origin
	// Start is the clock's first reading. If zero, 2026-01-01 00:00 UTC.
	Start time.Time
}

// Harness runs a site's engine for a test on a clock of its own, moved
// only by Advance, with background work (regenerations, data refreshes)
// run to completion after each request, revalidation and Advance, in the
// order it was started. It works inside a testing/synctest bubble and
// outside one. A revalidation made right after a render, at the same clock
// reading, follows it (the engine orders such events).
type Harness struct {
	// Origin is the stub origin answering the site's fetches (nil when
	// Options.Engine.Fetcher was given).
	Origin *Origin

	t T
	e *engine.Engine

	mu    sync.Mutex // protects now and queue
	now   time.Time
	queue []func()
}

// New builds the engine for site and closes it when the test ends. A bad
// site fails the test with New's errors.
func New(t T, site *engine.Site, opts Options) *Harness {
	t.Helper()
	h := &Harness{t: t, now: opts.Start, Origin: opts.Origin}
	if h.now.IsZero() {
		h.now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	eo := opts.Engine
	eo.Now = h.clock
	eo.Scheduler = regen.SchedulerFunc(h.schedule)
	if eo.Fetcher == nil {
		if h.Origin == nil {
			h.Origin = NewOrigin()
		}
		eo.Fetcher = h.Origin
	} else {
		h.Origin = nil
	}
	e, err := engine.New(site, eo)
	if err != nil {
		t.Fatalf("regentest: engine.New: %v", err)
	}
	h.e = e
	t.Cleanup(func() { e.Close() })
	return h
}

// Engine returns the engine under test.
func (h *Harness) Engine() *engine.Engine { return h.e }

// Now returns the harness's current time without moving it.
func (h *Harness) Now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// clock is the engine's Now.
func (h *Harness) clock() time.Time { return h.Now() }

func (h *Harness) schedule(f func()) {
	h.mu.Lock()
	h.queue = append(h.queue, f)
	h.mu.Unlock()
}

// drain runs the background work queued so far, and what it queues, to
// completion.
func (h *Harness) drain() {
	for {
		h.mu.Lock()
		if len(h.queue) == 0 {
			h.mu.Unlock()
			return
		}
		f := h.queue[0]
		h.queue = h.queue[1:]
		h.mu.Unlock()
		f()
	}
}

// Advance moves the clock forward by d and runs the background work due.
func (h *Harness) Advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
	h.drain()
}

// Response is what a request got.
type Response struct {
	Status int
	Cache  string // X-Cache-Status: HIT, STALE, MISS or BYPASS
	Header http.Header
	Body   string
}

func (r *Response) String() string {
	return fmt.Sprintf("%d %s %q", r.Status, r.Cache, r.Body)
}

// Get requests path (with an optional query) with the given header
// name-value pairs, then runs the background work it started.
func (h *Harness) Get(path string, header ...string) *Response {
	h.t.Helper()
	if len(header)%2 != 0 {
		h.t.Fatalf("regentest: Get(%q): header pairs %q are not name, value, ...", path, header)
	}
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, req)
	h.drain()
	return &Response{Status: rec.Code, Cache: rec.Header().Get("X-Cache-Status"), Header: rec.Header(), Body: rec.Body.String()}
}

// Expect requests path like Get and fails the test, saying why, unless the
// answer's X-Cache-Status is want (HIT, STALE, MISS or BYPASS):
//
//	GET /blog/a: X-Cache-Status STALE, want HIT: entry age 1m1s ≥ revalidate 60s (rendered at 00:00:00)
func (h *Harness) Expect(path, want string, header ...string) *Response {
	h.t.Helper()
	why := h.explain(path)
	r := h.Get(path, header...)
	if r.Cache != want {
		h.t.Errorf("GET %s: X-Cache-Status %s, want %s: %s", path, r.Cache, want, why)
	}
	return r
}

// explain says what the cache holds for path now, before a request.
func (h *Harness) explain(path string) string {
	p, _, _ := strings.Cut(path, "?")
	pattern, _, ok := h.e.Match(p)
	if !ok {
		return "no route matches " + p
	}
	pol, _ := h.e.Policy(pattern)
	if pol.Kind == engine.Dynamic {
		return fmt.Sprintf("route %s is dynamic (%s)", pattern, pol.String())
	}
	ent, st, err := h.e.Entry(context.Background(), p)
	switch {
	case err != nil:
		return "the store failed: " + err.Error()
	case ent == nil:
		return fmt.Sprintf("no entry for %s before the request (never rendered, expired, or revalidated in expire mode); route %s is %s", p, pattern, pol.String())
	}
	age := h.Now().Sub(ent.Created).Round(time.Millisecond)
	rendered := ent.Created.Format(time.TimeOnly)
	interval, finite := ent.Revalidate.Interval()
	switch {
	case st == regen.Stale && finite && age >= interval:
		return fmt.Sprintf("entry age %v ≥ revalidate %v (rendered at %s)", age, interval, rendered)
	case st == regen.Stale:
		return fmt.Sprintf("a tag or path of the entry was revalidated after it was rendered at %s (tags %s)", rendered, strings.Join(ent.Tags, ", "))
	case finite:
		return fmt.Sprintf("entry is fresh: age %v < revalidate %v (rendered at %s)", age, interval, rendered)
	}
	return fmt.Sprintf("entry is fresh: static, cached until revalidated (rendered at %s)", rendered)
}

// RevalidateTag revalidates tag in stale mode (the next request is served
// the old page once while it regenerates), then runs the background work.
func (h *Harness) RevalidateTag(tag string) { h.revalidate(tag, "", regen.RevalidateStale) }

// ExpireTag revalidates tag in expire mode: the next request waits for
// fresh content.
func (h *Harness) ExpireTag(tag string) { h.revalidate(tag, "", regen.RevalidateExpire) }

// RevalidatePath revalidates a path, a page route ("/blog/[slug]") or, for
// a layout, the paths below it, in stale mode.
func (h *Harness) RevalidatePath(path string, kind engine.PathKind) {
	h.revalidate("", path, regen.RevalidateStale, kind)
}

// ExpirePath is RevalidatePath in expire mode.
func (h *Harness) ExpirePath(path string, kind engine.PathKind) {
	h.revalidate("", path, regen.RevalidateExpire, kind)
}

func (h *Harness) revalidate(tag, path string, mode regen.RevalidateMode, kind ...engine.PathKind) {
	h.t.Helper()
	var err error
	if path == "" {
		err = h.e.RevalidateTag(context.Background(), tag, mode)
	} else {
		err = h.e.RevalidatePath(context.Background(), path, kind[0], mode)
	}
	if err != nil {
		h.t.Fatalf("regentest: %v", err)
	}
	h.drain()
}

// Policy returns the policy of the route registered at pattern, failing
// the test when there is none.
func (h *Harness) Policy(pattern string) engine.Policy {
	h.t.Helper()
	p, ok := h.e.Policy(pattern)
	if !ok {
		h.t.Fatalf("regentest: no route %q (routes: %s)", pattern, routeList(h.e))
	}
	return p
}

// ExpectPolicy fails the test, with the policy's reasons, unless the route
// registered at pattern is of kind and, for ISR, revalidates every
// revalidate.
func (h *Harness) ExpectPolicy(pattern string, kind engine.Kind, revalidate regen.Revalidate) {
	h.t.Helper()
	p := h.Policy(pattern)
	if p.Kind != kind || (kind == engine.ISR && p.Revalidate != revalidate) {
		h.t.Errorf("route %s: %s, revalidate %s; want %s, revalidate %s: %s",
			pattern, p.Kind, p.Revalidate, kind, revalidate, p.String())
	}
}

func routeList(e *engine.Engine) string {
	var names []string
	for _, p := range e.Routes() {
		names = append(names, p.Route)
	}
	return strings.Join(names, ", ")
}
