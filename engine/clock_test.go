package engine

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

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
// checks (a shell's private header, a Location, the ETag); each Header gets
// its own, entries sharing a Header share it; and the list does not keep
// its entry alive.
func TestHitHeaders(t *testing.T) {
	var x hitHeaders
	a := &routecache.Entry{Header: map[string][]string{"Content-Type": {"text/html"}, "Etag": {`"a"`}}}
	b := &routecache.Entry{Header: map[string][]string{"Location": {"/b"}, holesHeader: {"1"}}}
	for range 2 {
		fa, fb := x.of(a), x.of(b)
		if len(fa.kv) != 2 || fa.etag != `"a"` || fa.partial || fa.location {
			t.Errorf("of(a) = %+v; want its 2 headers, ETag \"a\"", fa)
		}
		if len(fb.kv) != 2 || fb.etag != "" || !fb.partial || !fb.location {
			t.Errorf("of(b) = %+v; want its 2 headers, partial, with a Location", fb)
		}
	}
	if a2 := (&routecache.Entry{Header: a.Header, Body: []byte("other")}); x.of(a2) != x.of(a) {
		t.Errorf("two entries with one Header got different lists")
	}

	c := &routecache.Entry{Header: map[string][]string{"Etag": {`"c"`}}, Body: make([]byte, 1<<20)}
	x.of(c)
	w := weak.Make(c)
	c = nil
	runtime.GC()
	if w.Value() != nil {
		t.Errorf("an entry whose header list is kept is still alive after a collection")
	}
}
