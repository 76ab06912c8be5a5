package engine

import (
	"sync/atomic"
	"time"
)

// clock is the default Options.Now: wall time derived from one monotonic
// clock read, re-based on the wall clock every minute so steps of the
// system clock are followed. time.Now reads two clocks; on virtual machines
// each read can cost tens of nanoseconds, a large share of a cache hit.
// It is safe for concurrent use.
type clock struct {
	base atomic.Pointer[time.Time]
}

const clockRebase = time.Minute

func newClock() *clock {
	c := &clock{}
	now := time.Now()
	c.base.Store(&now)
	return c
}

func (c *clock) Now() time.Time {
	b := c.base.Load()
	d := time.Since(*b)
	if d >= clockRebase || d < 0 {
		now := time.Now()
		c.base.Store(&now)
		return now
	}
	return b.Add(d)
}

// coarseClock is the time requests are judged at when the engine keeps its
// own clock and no request metrics: the latest of the readings a goroutine
// takes every coarseTick while requests come. Freshness is decided in
// seconds, and reading the clock for every request cost a fifth of a HIT
// on this project's virtual machines (nginx keeps a cached time for the
// same reason). Renders still start at a reading of their own, and an
// entry found fresh within coarseSlack of its deadline is judged again at
// one (so a lag of the goroutine up to that does not serve it late). After
// coarseIdle without a request the goroutine stops; the next request reads
// the clock itself and starts it again. It never starts once done is
// closed. It is safe for concurrent use.
type coarseClock struct {
	precise func() time.Time
	done    <-chan struct{}
	latest  atomic.Pointer[time.Time] // the latest reading; nil while the goroutine is not running
	used    atomic.Bool               // read since the latest tick
	running atomic.Bool               // the goroutine runs, or done was closed
}

const (
	coarseTick = time.Millisecond
	coarseIdle = time.Second
	// coarseSlack is how near its revalidate or expire deadline an entry
	// found fresh by the coarse clock is judged again by the precise one
	// (routecache.FreshnessNear).
	coarseSlack = 20 * coarseTick
)

// Now returns the latest reading, at most about coarseTick old.
func (c *coarseClock) Now() time.Time {
	if t := c.latest.Load(); t != nil {
		if !c.used.Load() {
			c.used.Store(true)
		}
		return *t
	}
	t := c.precise()
	if c.running.CompareAndSwap(false, true) {
		select {
		case <-c.done: // stays "running": never starts again
		default:
			c.latest.Store(&t)
			c.used.Store(true)
			go c.run()
		}
	}
	return t
}

func (c *coarseClock) run() {
	tick := time.NewTicker(coarseTick)
	defer tick.Stop()
	idle := 0
	for {
		select {
		case <-c.done:
			c.latest.Store(nil)
			return
		case <-tick.C:
		}
		if c.used.Swap(false) {
			idle = 0
		} else if idle++; idle >= int(coarseIdle/coarseTick) {
			c.latest.Store(nil)
			c.running.Store(false)
			return
		}
		t := c.precise()
		c.latest.Store(&t)
	}
}
