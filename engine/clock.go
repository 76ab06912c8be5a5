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
