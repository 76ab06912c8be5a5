package redis

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/internal/redistest"
	"github.com/regen-dev/regen/store"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func item(body string, created time.Time, tags ...string) *store.Item {
	return &store.Item{Status: 200, Body: []byte(body), Tags: tags, Created: created, Revalidate: regen.Seconds(60)}
}

func body(t *testing.T, s *Store, key string) string {
	t.Helper()
	it, ok, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q) error: %v", key, err)
	}
	if !ok {
		return "<none>"
	}
	return string(it.Body)
}

func TestOpenBadURL(t *testing.T) {
	if _, err := Open(context.Background(), "http://127.0.0.1:1", Options{}); err == nil {
		t.Errorf("Open(http://...) = nil error; want one")
	}
}

// TestSharedItems: an item set on one instance is read through from Redis
// on another, once, then served by its local tier; a newer Set and a
// Delete reach the other's local tier through messages.
func TestSharedItems(t *testing.T) {
	srv := redistest.Start(t)
	var log logBuffer
	a, b := open(t, srv, testOptions(&log)), open(t, srv, testOptions(&log))
	ctx := context.Background()

	a.Set(ctx, "/p", item("v1", t0, "posts"))
	if got := body(t, b, "/p"); got != "v1" {
		t.Fatalf("b.Get(/p) = %q; want v1", got)
	}
	if got := body(t, b, "/p"); got != "v1" {
		t.Fatalf("b.Get(/p) again = %q; want v1", got)
	}
	if st := b.Stats(); st.RedisHits != 1 {
		t.Errorf("b.Stats().RedisHits = %d; want 1 (the second Get is local)", st.RedisHits)
	}

	a.Set(ctx, "/p", item("v2", t0.Add(time.Second), "posts"))
	waitFor(t, "b to see v2", func() bool { return body(t, b, "/p") == "v2" })

	a.Delete(ctx, "/p")
	waitFor(t, "b to see the delete", func() bool { return body(t, b, "/p") == "<none>" })
	if got := body(t, a, "/p"); got != "<none>" {
		t.Errorf("a.Get(/p) after Delete = %q; want none", got)
	}
	if n := log.count("level=WARN"); n != 0 {
		t.Errorf("%d warnings logged; want none:\n%s", n, log.String())
	}
}

// TestTagsShared: a revalidation on one instance reaches the local tag
// times of the others through messages, and of a new instance through
// Redis; an earlier time never replaces a later one.
func TestTagsShared(t *testing.T) {
	srv := redistest.Start(t)
	var log logBuffer
	a, b := open(t, srv, testOptions(&log)), open(t, srv, testOptions(&log))
	ctx := context.Background()
	tags := []string{"posts", "_N_T_/blog/a"}

	a.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0.Add(2*time.Second))
	a.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0.Add(time.Second)) // earlier: ignored
	waitFor(t, "b to see the revalidation", func() bool {
		st, _ := b.TagState(ctx, tags, t0)
		return st.Stale
	})
	a.RevalidateTags(ctx, []string{"_N_T_/blog/a"}, regen.RevalidateExpire, t0.Add(3*time.Second))
	waitFor(t, "b to see the expire", func() bool {
		st, _ := b.TagState(ctx, tags, t0)
		return st.Expired
	})

	c := open(t, srv, testOptions(&log))
	tests := []struct {
		since time.Time
		want  store.TagState
	}{
		{t0, store.TagState{Stale: true, Expired: true}},
		{t0.Add(time.Second), store.TagState{Stale: true, Expired: true}},
		{t0.Add(2 * time.Second), store.TagState{Stale: true, Expired: true}},
		{t0.Add(3 * time.Second), store.TagState{}},
	}
	for _, tt := range tests {
		for _, s := range []*Store{a, b, c} {
			if got, _ := s.TagState(ctx, tags, tt.since); got != tt.want {
				t.Errorf("TagState(since %v) = %+v; want %+v", tt.since.Sub(t0), got, tt.want)
			}
		}
	}
	if got, _ := c.TagState(ctx, []string{"posts"}, t0.Add(time.Second)); got != (store.TagState{Stale: true}) {
		t.Errorf("new instance: TagState(posts, since 1s) = %+v; want stale (the 2s revalidation was kept)", got)
	}
}

// TestStaleLocalRechecksRedis: a local item whose tags were revalidated is
// checked against Redis once, so a newer item whose message has not
// arrived (here: written behind the store's back) is served instead.
func TestStaleLocalRechecksRedis(t *testing.T) {
	srv := redistest.Start(t)
	var log logBuffer
	a := open(t, srv, testOptions(&log))
	ctx := context.Background()
	a.Set(ctx, "/p", item("v1", t0, "posts"))

	// Another instance's write whose message is lost.
	raw := rawClient(t, srv)
	if err := raw.Set(ctx, a.itemKey("/p"), encodeItem(item("v2", t0.Add(2*time.Second), "posts")), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := body(t, a, "/p"); got != "v1" {
		t.Fatalf("Get before any revalidation = %q; want v1 (a local hit never asks Redis)", got)
	}
	a.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0.Add(time.Second))
	if got := body(t, a, "/p"); got != "v2" {
		t.Errorf("Get after revalidation = %q; want v2 from Redis", got)
	}
	if st := a.Stats(); st.Refreshes != 1 {
		t.Errorf("Stats().Refreshes = %d; want 1", st.Refreshes)
	}

	// Once checked, a stale item is not checked again until tags change.
	a.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0.Add(3*time.Second))
	hits := a.Stats().RedisHits
	for range 3 {
		body(t, a, "/p")
	}
	if got := a.Stats().RedisHits - hits; got != 1 {
		t.Errorf("3 Gets of a checked stale item asked Redis %d times; want 1", got)
	}
}

// TestReplayKeepsNewer: a queued write replayed after an outage does not
// replace a newer item another instance stored meanwhile, while a direct
// Set replaces whatever is stored.
func TestReplayKeepsNewer(t *testing.T) {
	srv := redistest.Start(t)
	var log logBuffer
	a := open(t, srv, testOptions(&log))
	ctx := context.Background()
	a.Set(ctx, "/p", item("new", t0.Add(time.Second)))

	old := &op{key: "/p", val: encodeItem(item("old", t0)), at: timeBits(t0)}
	if applied, err := a.apply(ctx, old, true); err != nil || applied {
		t.Errorf("replay of an older item: applied = %v, %v; want false, nil", applied, err)
	}
	del := &op{key: "/p", del: true, at: timeBits(t0)}
	if applied, err := a.apply(ctx, del, true); err != nil || applied {
		t.Errorf("delete up to an older time: applied = %v, %v; want false, nil", applied, err)
	}
	b := open(t, srv, testOptions(&log))
	if got := body(t, b, "/p"); got != "new" {
		t.Errorf("after the replays, Redis holds %q; want new", got)
	}
	if applied, err := a.apply(ctx, old, false); err != nil || !applied {
		t.Errorf("direct write of an older item: applied = %v, %v; want true, nil", applied, err)
	}
}

func TestLock(t *testing.T) {
	srv := redistest.Start(t)
	var log logBuffer
	a, b := open(t, srv, testOptions(&log)), open(t, srv, testOptions(&log))
	ctx := context.Background()

	unlock, ok, err := a.TryLock(ctx, "render:/p", time.Minute)
	if err != nil || !ok {
		t.Fatalf("a.TryLock = %v, %v; want true, nil", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "render:/p", time.Minute); err != nil || ok {
		t.Fatalf("b.TryLock while a holds it = %v, %v; want false, nil", ok, err)
	}
	if _, ok, _ := b.TryLock(ctx, "render:/q", time.Minute); !ok {
		t.Errorf("b.TryLock of another key = false; want true")
	}
	unlock()
	unlock() // idempotent
	unlockB, ok, err := b.TryLock(ctx, "render:/p", time.Minute)
	if err != nil || !ok {
		t.Fatalf("b.TryLock after unlock = %v, %v; want true, nil", ok, err)
	}
	unlockB()
	if _, _, err := a.TryLock(ctx, "x", 0); err == nil {
		t.Errorf("TryLock with lease 0 = nil error; want one")
	}
}

// TestLockRenewed: a lock held longer than its lease stays held.
func TestLockRenewed(t *testing.T) {
	srv := redistest.Start(t)
	var log logBuffer
	a, b := open(t, srv, testOptions(&log)), open(t, srv, testOptions(&log))
	ctx := context.Background()
	const lease = 150 * time.Millisecond

	unlock, ok, _ := a.TryLock(ctx, "k", lease)
	if !ok {
		t.Fatal("a.TryLock = false; want true")
	}
	defer unlock()
	held := time.Now()
	for time.Since(held) < 4*lease {
		if _, ok, _ := b.TryLock(ctx, "k", lease); ok {
			t.Fatalf("b took the lock %v after a did, with a %v lease renewed by a", time.Since(held), lease)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a.Stats().LocksLost != 0 {
		t.Errorf("a.Stats().LocksLost = %d; want 0", a.Stats().LocksLost)
	}
}

// TestLockLeaseExpires: a holder that crashes (takes the lock and never
// renews or releases it) loses it when its lease ends, and a holder whose
// lease ended cannot release the new holder's lock.
func TestLockLeaseExpires(t *testing.T) {
	srv := redistest.Start(t)
	var log logBuffer
	b := open(t, srv, testOptions(&log))
	ctx := context.Background()
	const lease = 200 * time.Millisecond

	// The crashed holder: a lock taken as TryLock takes it, never renewed.
	raw := rawClient(t, srv)
	if err := raw.SetNX(ctx, b.lockKey("render:/p"), "crashed-holder", lease).Err(); err != nil {
		t.Fatal(err)
	}
	taken := time.Now()
	if _, ok, err := b.TryLock(ctx, "render:/p", time.Minute); err != nil || ok {
		t.Fatalf("TryLock while the crashed holder's lease runs = %v, %v; want false, nil", ok, err)
	}
	var unlock func()
	waitFor(t, "the crashed holder's lease to end", func() bool {
		u, ok, _ := b.TryLock(ctx, "render:/p", time.Minute)
		unlock = u
		return ok
	})
	if d := time.Since(taken); d < lease/2 {
		t.Errorf("lock taken over after %v; want about its %v lease", d, lease)
	}
	defer unlock()

	// The old holder comes back and releases: the new holder keeps it.
	old := &heldLock{s: b, key: b.lockKey("render:/p"), token: "crashed-holder", done: make(chan struct{})}
	old.release()
	if _, ok, _ := b.TryLock(ctx, "render:/p", time.Minute); ok {
		t.Errorf("the old holder's release freed the new holder's lock")
	}
}

// TestOpenWhileDown: Open does not fail when Redis is down; the store
// serves from its local tier, queues writes and revalidations, and applies
// them when Redis is back.
func TestOpenWhileDown(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	var log logBuffer
	opts := faultOptions(&log)
	opts.OpenWait = 100 * time.Millisecond
	ctx := context.Background()
	a, err := Open(ctx, srv.URL(), opts)
	if err != nil {
		t.Fatalf("Open with Redis down: %v; want no error", err)
	}
	defer a.Close()
	if a.Stats().Available {
		t.Fatalf("Stats().Available = true with Redis down")
	}
	if _, _, err := a.TryLock(ctx, "k", time.Second); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("TryLock with Redis down: %v; want ErrUnavailable", err)
	}
	a.Set(ctx, "/p", item("v1", t0, "posts"))
	a.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0.Add(time.Second))
	if got := body(t, a, "/p"); got != "v1" {
		t.Errorf("Get from the local tier = %q; want v1", got)
	}
	if st, _ := a.TagState(ctx, []string{"posts"}, t0); !st.Stale {
		t.Errorf("TagState after a revalidation while down = %+v; want stale at once", st)
	}
	if got := a.Stats().Pending; got != 2 {
		t.Errorf("Stats().Pending = %d; want 2", got)
	}

	srv.Restart()
	waitFor(t, "the store to reconnect", func() bool { return a.Stats().Available })
	b := open(t, srv, testOptions(&log))
	if got := body(t, b, "/p"); got != "v1" {
		t.Errorf("after reconnecting, Redis holds %q; want v1", got)
	}
	if st, _ := b.TagState(ctx, []string{"posts"}, t0); !st.Stale {
		t.Errorf("after reconnecting, the revalidation is not in Redis")
	}
	if n := log.count("redis unavailable"); n != 1 {
		t.Errorf("outage logged %d times; want 1:\n%s", n, log.String())
	}
	if n := log.count("redis available again"); n != 1 {
		t.Errorf("recovery logged %d times; want 1:\n%s", n, log.String())
	}
}

// TestQueueBound: item writes queued while Redis is down are bounded; the
// oldest are dropped and counted, revalidations are merged, never dropped.
func TestQueueBound(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	var log logBuffer
	opts := faultOptions(&log)
	opts.OpenWait = -1
	opts.MaxPending = 3
	a, err := Open(context.Background(), srv.URL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	for i := range 5 {
		a.Set(ctx, fmt.Sprintf("/p%d", i), item("v", t0))
	}
	a.Set(ctx, "/p4", item("v", t0)) // replaces its queued write
	for i := range 5 {
		a.RevalidateTags(ctx, []string{"posts", "news"}, regen.RevalidateStale, t0.Add(time.Duration(i)*time.Second))
	}
	st := a.Stats()
	if st.Dropped != 2 || st.Pending != 3+2 {
		t.Errorf("Stats() Dropped = %d, Pending = %d; want 2, 5", st.Dropped, st.Pending)
	}
	if n := log.count("queue full"); n != 1 {
		t.Errorf("dropping logged %d times; want 1", n)
	}
}

// TestOptionsClient: a Store over a client the caller made, which Close
// leaves open.
func TestOptionsClient(t *testing.T) {
	srv := redistest.Start(t)
	raw := rawClient(t, srv)
	var log logBuffer
	opts := testOptions(&log)
	opts.Client = raw
	opts.Prefix = "site2"
	s, err := Open(context.Background(), "", opts)
	if err != nil {
		t.Fatalf("Open with Options.Client: %v", err)
	}
	ctx := context.Background()
	s.Set(ctx, "/p", item("v1", t0))
	if n, err := raw.Exists(ctx, "site2:item:{/p}").Result(); err != nil || n != 1 {
		t.Errorf("EXISTS site2:item:{/p} = %d, %v; want 1", n, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := raw.Ping(ctx).Err(); err != nil {
		t.Errorf("the caller's client after Close: %v; want it open", err)
	}
}
