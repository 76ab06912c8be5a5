package redis

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/internal/redistest"
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

// replayHook holds the replay (a conditional set script) of one key until
// released.
type replayHook struct {
	key     string
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func (h *replayHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h *replayHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}
func (h *replayHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		a := cmd.Args()
		if name, _ := a[0].(string); (name == "evalsha" || name == "eval") && len(a) > 6 && a[3] == h.key && a[6] == "1" {
			h.once.Do(func() {
				close(h.reached)
				<-h.release
			})
		}
		return next(ctx, cmd)
	}
}

// TestDeleteDuringReplay: a Delete made while the replay of an earlier Set
// of the same key is on its way to Redis must not be overtaken by it: the
// deleted item must not come back in Redis.
func TestDeleteDuringReplay(t *testing.T) {
	srv := redistest.Start(t)
	raw := rawClient(t, srv)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	defer c.Close()
	h := &replayHook{key: "regen:item:{/p}", reached: make(chan struct{}), release: make(chan struct{})}
	c.AddHook(h)
	var log logBuffer
	opts := testOptions(&log)
	opts.Client = c
	s := openURL(t, "", opts)
	ctx := context.Background()

	// A Set of /p that was queued (Redis was failing) is being replayed...
	v1 := item("v1", t0)
	_ = s.items.Load().Set(ctx, "/p", v1)
	s.enqueue(&op{key: "/p", val: encodeItem(v1), at: timeBits(v1.Created)})
	<-h.reached
	// ...when /p is deleted.
	s.Delete(ctx, "/p")
	close(h.release)
	waitFor(t, "the queue to drain", func() bool { return s.Stats().Pending == 0 && s.Stats().Available })
	if n, err := raw.Exists(ctx, "regen:item:{/p}").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS /p after its Delete = %d, %v; want 0: the replay of the Set made before the Delete overtook it", n, err)
	}
	if _, ok, _ := s.Get(ctx, "/p"); ok {
		t.Errorf("Get(/p) after its Delete found it")
	}
}

// TestTagHashLost: when Redis loses the tag hash (evicted, or its node
// restarted empty), the instances write back every tag time they know
// once they see its epoch changed, and a new instance sees them.
func TestTagHashLost(t *testing.T) {
	srv := redistest.Start(t)
	raw := rawClient(t, srv)
	var log logBuffer
	a := open(t, srv, testOptions(&log))
	ctx := context.Background()
	at := t0.Add(time.Hour)
	a.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, at)
	if err := raw.Del(ctx, a.tagsKey).Err(); err != nil {
		t.Fatal(err)
	}
	if err := a.checkEpoch(); err != nil { // what the keeper does every second
		t.Fatal(err)
	}
	waitFor(t, "the write-back", func() bool { return a.Stats().WrittenBack > 0 && a.Stats().Pending == 0 })
	b := open(t, srv, testOptions(&log))
	if st, _ := b.TagState(ctx, []string{"posts"}, at.Add(-time.Nanosecond)); !st.Stale {
		t.Errorf("a new instance after the tag hash was lost and written back: TagState(posts) = %+v; want stale", st)
	}
}
