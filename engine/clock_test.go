package engine

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/routecache"
)

// TestCoarseClock: the coarse clock answers from the latest reading of its
// goroutine, which reads every coarseTick while requests come, stops after
// coarseIdle without one (the next request reads the clock itself and
// starts it again), and stops for good once done is closed.
func TestCoarseClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var nreads atomic.Int64
		reads := func() int64 { return nreads.Load() }
		precise := func() time.Time { nreads.Add(1); return time.Now() }
		ctx, cancel := context.WithCancel(context.Background())
		c := &coarseClock{precise: precise, done: ctx.Done()}
		start := time.Now()

		if got := c.Now(); !got.Equal(start) || reads() != 1 {
			t.Fatalf("first Now = %v after %d reads; want %v after 1", got, reads(), start)
		}
		for range 100 {
			c.Now()
		}
		if reads() != 1 {
			t.Errorf("101 Nows read the clock %d times; want once until the next tick", reads())
		}
		time.Sleep(coarseTick)
		synctest.Wait()
		if got := c.Now(); !got.Equal(start.Add(coarseTick)) {
			t.Errorf("Now after a tick = %v; want %v", got.Sub(start), coarseTick)
		}

		// Idle: the goroutine stops, and the next Now reads the clock.
		time.Sleep(coarseIdle + 2*coarseTick)
		synctest.Wait()
		if c.latest.Load() != nil || c.running.Load() {
			t.Fatalf("after %v idle: reading %v, running %v; want stopped", coarseIdle, c.latest.Load(), c.running.Load())
		}
		before := reads()
		if got := c.Now(); !got.Equal(time.Now()) || reads() != before+1 || !c.running.Load() {
			t.Errorf("Now after idling = %v (%d reads, running %v); want the clock's reading, which restarts the goroutine", got, reads()-before, c.running.Load())
		}

		// Done: the goroutine ends, and Now reads the clock each time.
		cancel()
		synctest.Wait()
		time.Sleep(coarseTick)
		before = reads()
		c.Now()
		c.Now()
		if reads() != before+2 || c.latest.Load() != nil {
			t.Errorf("after done: 2 Nows read the clock %d times (reading %v); want 2, no goroutine", reads()-before, c.latest.Load())
		}
	})
}

// TestHitHeaders: a Header's list holds its headers and what writeEntry
// checks (a shell's private header, a Location, the ETag); a list is
// remembered for a Header written twice in a row, not once, in place of
// another's only if that one was not used since its last attempt; entries
// sharing a Header share it; and the list does not keep its entry alive.
func TestHitHeaders(t *testing.T) {
	var x hitHeaders
	a := &routecache.Entry{Header: map[string][]string{"Content-Type": {"text/html"}, "Etag": {`"a"`}}}
	slot := func(h http.Header) uint64 {
		return (uint64(uintptr(mapAddr(h))) * 0x9e3779b97f4a7c15) >> (64 - hitHeaderBits)
	}
	var b *routecache.Entry
	var keep []http.Header // so that no address is reused while looking
	for b == nil || slot(b.Header) == slot(a.Header) {
		b = &routecache.Entry{Header: map[string][]string{"Location": {"/b"}, holesHeader: {"1"}}}
		keep = append(keep, b.Header)
	}
	if fa := flatten(a.Header, nil); len(fa.kv) != 2 || fa.etag != `"a"` || fa.partial || fa.location {
		t.Errorf("flatten(a) = %+v; want its 2 headers, ETag \"a\"", fa)
	}
	if fb := flatten(b.Header, nil); len(fb.kv) != 2 || fb.etag != "" || !fb.partial || !fb.location {
		t.Errorf("flatten(b) = %+v; want its 2 headers, partial, with a Location", fb)
	}
	for _, e := range []*routecache.Entry{a, b} {
		if f := x.of(e); f != nil {
			t.Errorf("of(%v) at its first write = %+v; want none remembered", e.Header, f)
		}
		f := x.of(e)
		if f == nil || len(f.kv) != len(e.Header) || mapAddr(f.hdr) != mapAddr(e.Header) {
			t.Fatalf("of(%v) at its second write = %+v; want its list", e.Header, f)
		}
		if x.of(e) != f {
			t.Errorf("of(%v) at its third write is another list", e.Header)
		}
	}
	if a2 := (&routecache.Entry{Header: a.Header, Body: []byte("other")}); x.of(a2) != x.of(a) {
		t.Errorf("two entries with one Header got different lists")
	}

	// Another map of a's slot, written twice in a row, takes the slot only
	// if a's list was not used since its last attempt.
	var d *routecache.Entry
	for d == nil {
		h := http.Header{"Etag": {`"d"`}}
		if keep = append(keep, h); slot(h) == slot(a.Header) {
			d = &routecache.Entry{Header: h}
		}
	}
	fa := x.of(a)
	if x.of(d) != nil || x.of(d) != nil {
		t.Errorf("a map written twice took the slot of a list used since")
	}
	if x.of(a) != fa {
		t.Errorf("a's list was displaced by a map of its slot while in use")
	}
	x.of(d) // a's list is unused since this attempt
	if f := x.of(d); f == nil || mapAddr(f.hdr) != mapAddr(d.Header) {
		t.Errorf("a map written twice in a row did not take the slot of a list unused since the last attempt")
	}

	c := &routecache.Entry{Header: map[string][]string{"Etag": {`"c"`}}, Body: make([]byte, 1<<20)}
	var fc *flatHeader
	for range 3 { // the second may give a list in c's slot a second chance
		fc = x.of(c)
	}
	if fc == nil {
		t.Fatalf("of(c) at its third write = nil; want its list")
	}
	w := weak.Make(c)
	c = nil
	runtime.GC()
	if w.Value() != nil {
		t.Errorf("an entry whose header list is kept is still alive after a collection")
	}
}

// TestCoarseClockNearDeadline: with the default clock, an entry the coarse
// reading finds fresh but within coarseSlack of its deadline is judged at
// an exact reading, so a lagging reading never serves it late; further from
// its deadline, the coarse reading decides.
func TestCoarseClockNearDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var site Site
		site.Page("/p", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			_, err := io.WriteString(w, "v")
			return err
		})})
		e := newEngine(t, &site, Options{})
		if e.coarse == nil {
			t.Fatal("an engine with its own clock and no metrics has no coarse clock")
		}
		if got := get(e, "/p"); got.status != "MISS" {
			t.Fatalf("first GET /p = %s; want MISS", got.status)
		}
		lag := func(d time.Duration) { // the goroutine's latest reading, d ago
			r := time.Now().Add(-d)
			e.coarse.latest.Store(&r)
		}

		time.Sleep(30 * time.Second)
		lag(5 * time.Second) // far from the deadline: the lagging reading decides
		if got := get(e, "/p"); got.status != "HIT" {
			t.Errorf("GET /p at age 30s = %s; want HIT", got.status)
		}

		time.Sleep(30 * time.Second) // age 60s: stale
		lag(10 * time.Millisecond)   // the reading says 59.99s
		if got := get(e, "/p"); got.status != "STALE" {
			t.Errorf("GET /p at age 60s, read 10ms late = %s; want STALE (judged again at an exact reading)", got.status)
		}
		synctest.Wait()
	})
}
