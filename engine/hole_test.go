package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
)

// partialSite is an ISR shop page under a layout whose user menu is a hole
// reading the session cookie: the shell is cached, the menu is not.
type partialSite struct {
	hs     *httpSite
	shells atomic.Int64 // renders of the shell's page
	menus  atomic.Int64 // renders of the hole
	o      *origin
	logs   *logBuffer
	reg    *prometheus.Registry
}

func newPartialSite(t *testing.T, holes []Hole, layout render.LayoutFunc) *partialSite {
	t.Helper()
	ps := &partialSite{o: newOrigin(), logs: &logBuffer{}, reg: prometheus.NewRegistry()}
	if holes == nil {
		holes = []Hole{{Name: "user-menu", Uses: []regen.API{regen.Cookies}, Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			ps.menus.Add(1)
			user, _ := s.Cookie("session")
			me, err := s.Fetch(ctx, &fetchcache.Request{URL: "/api/me", Cache: regen.NoStore, Tags: []string{"me"}})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "<menu>%s %s</menu>", user, me.Body)
			return err
		})}}
	}
	if layout == nil {
		layout = func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			io.WriteString(w, "<header>")
			s.Hole(w, "user-menu")
			io.WriteString(w, "</header>")
			return child.Render(ctx, w)
		}
	}
	var site Site
	site.Layout("/", Layout{Holes: holes, Render: layout})
	site.Page("/shop", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		ps.shells.Add(1)
		nav, err := s.Fetch(ctx, &fetchcache.Request{URL: "/api/nav", Tags: []string{"nav"}})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "<main>shop %s</main>", nav.Body)
		return err
	})})
	hs := &httpSite{clock: &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		store: &countingStore{Store: store.NewMemory(store.MemoryOptions{})}}
	hs.e = newEngine(t, &site, Options{Now: hs.clock.Now, Scheduler: inlineScheduler, Store: hs.store, Fetcher: ps.o, Logger: ps.logs.logger(), Metrics: ps.reg})
	hs.srv = httptest.NewServer(hs.e)
	t.Cleanup(hs.srv.Close)
	ps.hs = hs
	return ps
}

// TestPartialShellCachedHolesPerRequest: the shell renders once across
// requests with different cookies; the hole renders for each, with the
// request's cookie; the response is private and has no ETag.
func TestPartialShellCachedHolesPerRequest(t *testing.T) {
	ps := newPartialSite(t, nil, nil)
	pol, _ := ps.hs.e.Policy("/shop")
	if !pol.Partial() || pol.Kind != ISR || !strings.Contains(pol.String(), "partial: holes user-menu (layout /)") {
		t.Errorf("policy %v %v %q; want a partial ISR route naming its hole", pol.Kind, pol.Holes, pol.String())
	}
	for i, user := range []string{"ann", "bob", "cy"} {
		res := ps.hs.do(t, "GET", "/shop", "Cookie", "session="+user)
		want := fmt.Sprintf("<header><menu>%s /api/me@1</menu></header><main>shop /api/nav@1</main>", user)
		status := map[bool]string{true: "MISS", false: "HIT"}[i == 0]
		if res.code != 200 || res.body != want || res.header.Get("X-Cache-Status") != status {
			t.Errorf("GET /shop as %s = %d %s %q; want 200 %s %q", user, res.code, res.header.Get("X-Cache-Status"), res.body, status, want)
		}
		if cc := res.header.Get("Cache-Control"); cc != "private, no-cache, no-store, max-age=0, must-revalidate" || res.header.Get("Etag") != "" || res.header.Get(holesHeader) != "" {
			t.Errorf("GET /shop headers: Cache-Control %q, ETag %q, %s %q; want private no-store, neither", cc, res.header.Get("Etag"), holesHeader, res.header.Get(holesHeader))
		}
	}
	if ps.shells.Load() != 1 || ps.menus.Load() != 3 {
		t.Errorf("%d shell renders, %d hole renders; want 1 and 3", ps.shells.Load(), ps.menus.Load())
	}
	if got := ps.o.callsTo("/api/me"); got != 3 {
		t.Errorf("origin calls to the hole's uncached fetch = %d; want 3", got)
	}
}

// noFlushWriter is a ResponseWriter that cannot flush, as some
// middlewares' wrappers are.
type noFlushWriter struct{ rec *httptest.ResponseRecorder }

func (w noFlushWriter) Header() http.Header         { return w.rec.Header() }
func (w noFlushWriter) Write(p []byte) (int, error) { return w.rec.Write(p) }
func (w noFlushWriter) WriteHeader(code int)        { w.rec.WriteHeader(code) }

// TestPartialWriterCannotFlush: behind a ResponseWriter that cannot flush,
// a partial response is written whole, holes included (it cannot stream).
func TestPartialWriterCannotFlush(t *testing.T) {
	ps := newPartialSite(t, nil, nil)
	for _, status := range []string{"MISS", "HIT"} {
		w := noFlushWriter{httptest.NewRecorder()}
		req := httptest.NewRequest("GET", "/shop", nil)
		req.Header.Set("Cookie", "session=ann")
		ps.hs.e.ServeHTTP(w, req)
		want := "<header><menu>ann /api/me@1</menu></header><main>shop /api/nav@1</main>"
		if got := w.rec.Body.String(); got != want || w.rec.Header().Get("X-Cache-Status") != status {
			t.Errorf("GET /shop without Flush = %s %q; want %s %q", w.rec.Header().Get("X-Cache-Status"), got, status, want)
		}
	}
}

// TestPartialTags: the tags of a hole's data do not attach to the shell;
// the shell's do.
func TestPartialTags(t *testing.T) {
	ps := newPartialSite(t, nil, nil)
	ctx := context.Background()
	ps.hs.do(t, "GET", "/shop")
	if err := ps.hs.e.RevalidateTag(ctx, "me", regen.RevalidateStale); err != nil {
		t.Fatal(err)
	}
	if res := ps.hs.do(t, "GET", "/shop"); res.header.Get("X-Cache-Status") != "HIT" {
		t.Errorf("after revalidating the hole's tag: %s; want HIT (the shell does not carry it)", res.header.Get("X-Cache-Status"))
	}
	ps.o.publish("/api/nav")
	if err := ps.hs.e.RevalidateTag(ctx, "nav", regen.RevalidateStale); err != nil {
		t.Fatal(err)
	}
	if res := ps.hs.do(t, "GET", "/shop"); res.header.Get("X-Cache-Status") != "STALE" {
		t.Errorf("after revalidating the shell's tag: %s; want STALE", res.header.Get("X-Cache-Status"))
	}
	if res := ps.hs.do(t, "GET", "/shop"); res.header.Get("X-Cache-Status") != "HIT" || !strings.Contains(res.body, "/api/nav@2") {
		t.Errorf("after the regeneration: %s %q; want HIT with the new nav", res.header.Get("X-Cache-Status"), res.body)
	}
}

// TestPartialHoleFails: a hole that fails, or passes its timeout, writes
// its fallback; the response is still a 200 with the rest; the failure is
// logged and counted.
func TestPartialHoleFails(t *testing.T) {
	slow := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		<-ctx.Done()
		return ctx.Err()
	})
	broken := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		io.WriteString(w, "half")
		return errors.New("menu service down")
	})
	ps := newPartialSite(t, []Hole{
		{Name: "user-menu", Render: broken, Fallback: "<a href=/login>Sign in</a>"},
		{Name: "cart", Render: slow, Timeout: 10 * time.Millisecond},
	}, func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		io.WriteString(w, "<header>")
		s.Hole(w, "user-menu")
		io.WriteString(w, "|")
		s.Hole(w, "cart")
		io.WriteString(w, "</header>")
		return child.Render(ctx, w)
	})
	res := ps.hs.do(t, "GET", "/shop")
	if want := "<header><a href=/login>Sign in</a>|</header><main>shop /api/nav@1</main>"; res.code != 200 || res.body != want {
		t.Errorf("GET = %d %q; want 200 %q", res.code, res.body, want)
	}
	if got := ps.hs.e.Stats().HoleFailures; got != 2 {
		t.Errorf("Stats().HoleFailures = %d; want 2", got)
	}
	const want = `
# HELP regen_hole_failures_total Holes (partial prerendering) whose render failed or passed its deadline, answered with their fallback.
# TYPE regen_hole_failures_total counter
regen_hole_failures_total 2
`
	if err := testutil.GatherAndCompare(ps.reg, strings.NewReader(want), "regen_hole_failures_total"); err != nil {
		t.Error(err)
	}
	if logs := ps.logs.String(); !strings.Contains(logs, "menu service down") || !strings.Contains(logs, "hole=cart") {
		t.Errorf("log lacks the two failures:\n%s", logs)
	}
}

// TestPartialReadOutsideHole: a dynamic read outside every hole still makes
// the route dynamic; its holes are filled in each render.
func TestPartialReadOutsideHole(t *testing.T) {
	ps := newPartialSite(t, nil, func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		theme, _ := s.Cookie("theme")
		fmt.Fprintf(w, "<header %s>", theme)
		s.Hole(w, "user-menu")
		io.WriteString(w, "</header>")
		return child.Render(ctx, w)
	})
	for range 2 {
		res := ps.hs.do(t, "GET", "/shop", "Cookie", "theme=dark; session=ann")
		if want := "<header dark><menu>ann /api/me@1</menu></header><main>shop /api/nav@1</main>"; res.body != want || res.header.Get("X-Cache-Status") != "BYPASS" {
			t.Errorf("GET = %s %q; want BYPASS %q", res.header.Get("X-Cache-Status"), res.body, want)
		}
	}
	if pol, _ := ps.hs.e.Policy("/shop"); pol.Kind != Dynamic || pol.Partial() {
		t.Errorf("policy %v partial %v; want dynamic, not partial", pol.Kind, pol.Partial())
	}
}

// TestPartialUndeclaredHole: a render that places a hole its route does not
// declare fails (500), caching nothing.
func TestPartialUndeclaredHole(t *testing.T) {
	ps := newPartialSite(t, nil, func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		s.Hole(w, "nope")
		return child.Render(ctx, w)
	})
	if res := ps.hs.do(t, "GET", "/shop"); res.code != 500 || !strings.Contains(ps.logs.String(), `placed hole \"nope\"`) {
		t.Errorf("GET = %d; want 500 naming the hole; log:\n%s", res.code, ps.logs.String())
	}
}

// TestPartialHoleConfig: bad holes fail at New, naming route, segment and
// field.
func TestPartialHoleConfig(t *testing.T) {
	page := render.PageFunc(func(context.Context, *render.Scope, io.Writer) error { return nil })
	tests := []struct {
		holes []Hole
		field string
		want  string
	}{
		{[]Hole{{Name: "a b", Render: page}}, "holes[0].name", `route "/p": layout /: hole name "a b" (use letters, digits, - and _)`},
		{[]Hole{{Name: "m", Render: page}, {Name: "m", Render: page}}, "holes[1].name", `hole "m" is declared twice`},
		{[]Hole{{Name: "m"}}, "holes[0].render", `hole "m" has no Render (set Hole.Render)`},
	}
	for _, tt := range tests {
		var site Site
		site.Layout("/", Layout{Holes: tt.holes})
		site.Page("/p", Page{Render: page})
		_, err := New(&site, Options{})
		var ce *ConfigError
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("New = %v (field %v); want an error with %q on %s", err, ce, tt.want, tt.field)
		}
	}
}

// TestPartialStreamsInOrder: over a real connection, the shell's bytes
// before the first hole leave before any hole ends, and two 300 ms holes
// answer in about 300 ms, not 600.
func TestPartialStreamsInOrder(t *testing.T) {
	slow := func(name string) render.PageFunc {
		return func(ctx context.Context, s *render.Scope, w io.Writer) error {
			select {
			case <-time.After(300 * time.Millisecond): // a slow personal API
			case <-ctx.Done():
				return ctx.Err()
			}
			_, err := io.WriteString(w, "<"+name+">")
			return err
		}
	}
	ps := newPartialSite(t, []Hole{{Name: "a", Render: slow("a")}, {Name: "b", Render: slow("b")}},
		func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			io.WriteString(w, "<head>")
			s.Hole(w, "a")
			s.Hole(w, "b")
			return child.Render(ctx, w)
		})
	ps.hs.do(t, "GET", "/shop") // the shell is cached
	start := time.Now()
	res, err := http.Get(ps.hs.srv.URL + "/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body := bufio.NewReader(res.Body)
	readUntil(t, body, "<head>")
	first := time.Since(start)
	rest, err := io.ReadAll(body)
	total := time.Since(start)
	if err != nil || string(rest) != "<a><b><main>shop /api/nav@1</main>" {
		t.Errorf("rest = %q, %v", rest, err)
	}
	if first >= 300*time.Millisecond || total < 300*time.Millisecond || total >= 550*time.Millisecond {
		t.Errorf("first bytes after %v, last after %v; want the first before a hole ends and the last in about 300 ms", first, total)
	}
	t.Logf("HIT with two 300 ms holes: first byte %v, last byte %v", first, total)
}

// TestPartialHoleSetsStatus: a hole cannot set the response's status (the
// shell's left before it ended): it gets its fallback, counted as failed.
func TestPartialHoleSetsStatus(t *testing.T) {
	ps := newPartialSite(t, []Hole{{Name: "user-menu", Fallback: "menu", Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		s.SetStatus(http.StatusTeapot)
		_, err := io.WriteString(w, "teapot")
		return err
	})}}, nil)
	res := ps.hs.do(t, "GET", "/shop")
	if want := "<header>menu</header><main>shop /api/nav@1</main>"; res.code != 200 || res.body != want {
		t.Errorf("GET = %d %q; want 200 %q", res.code, res.body, want)
	}
	if got := ps.hs.e.Stats().HoleFailures; got != 1 {
		t.Errorf("Stats().HoleFailures = %d; want 1", got)
	}
}
