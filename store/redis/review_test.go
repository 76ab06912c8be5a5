package redis

import (
	"fmt"
	"testing"
)

// TestRequeueBound: the writes a replay holds back (their master is
// failing) are put back first in line; Sets queued meanwhile must not
// take the queue beyond MaxPending, or each replay during a long outage of
// one master, under a flood of Sets, would grow it by what was queued
// while it ran. The oldest writes are dropped beyond the bound, and
// counted.
func TestRequeueBound(t *testing.T) {
	var log logBuffer
	opts := faultOptions(&log)
	opts.MaxPending = 10
	s := newStore(nil, false, opts) // no goroutines: the test plays the keeper
	for round := range 3 {
		for i := range opts.MaxPending {
			s.enqueue(&op{key: fmt.Sprintf("/held%d-%d", round, i)})
		}
		// flush: every queued write is taken and held, its master failing...
		var held []*op
		for range s.queueLen() {
			held = append(held, s.takeOp())
		}
		// ...while Sets of other keys are queued...
		for i := range 5 {
			s.enqueue(&op{key: fmt.Sprintf("/new%d-%d", round, i)})
		}
		// ...and then put back.
		s.requeueOps(held)
		if n := s.queueLen(); n > opts.MaxPending {
			t.Fatalf("round %d: %d writes queued after a replay; want at most MaxPending = %d", round, n, opts.MaxPending)
		}
		if st := s.Stats(); st.Pending != int64(s.queueLen()) {
			t.Errorf("round %d: Stats().Pending = %d; want %d", round, st.Pending, s.queueLen())
		}
		// The newest writes are kept.
		for i := range 5 {
			if !s.isQueued(fmt.Sprintf("/new%d-%d", round, i)) {
				t.Errorf("round %d: /new%d-%d not queued; want the oldest writes dropped first", round, round, i)
			}
		}
	}
	if st := s.Stats(); st.Dropped != 3*5+2*10 {
		t.Errorf("Stats().Dropped = %d; want %d", st.Dropped, 3*5+2*10)
	}
}
