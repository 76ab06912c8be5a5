package redis

import (
	"context"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/internal/redistest"
	"github.com/regen-dev/regen/internal/storetest"
	"github.com/regen-dev/regen/store"
)

// TestProfileRevalidation runs the stores' shared test of profile
// revalidations: on one instance, then on a new instance reading the tag
// hash the first wrote (the Lua merge, the 32-byte times), then on a live
// instance that heard the messages, and after the tag hash was lost and
// written back from what the first instance remembers.
func TestProfileRevalidation(t *testing.T) {
	srv := redistest.Start(t)
	var log logBuffer
	live := open(t, srv, testOptions(&log))
	var first *Store
	storetest.ProfileRevalidation(t,
		func(t *testing.T) store.Store { first = open(t, srv, testOptions(&log)); return first },
		func(t *testing.T, s store.Store) store.Store {
			if err := first.flushTags(); err != nil {
				t.Fatal(err)
			}
			return open(t, srv, testOptions(&log))
		})
	// The live instance heard the 32-byte messages.
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	waitFor(t, "the live instance to hear the profile revalidation", func() bool {
		st, _ := live.TagState(ctx, []string{"nav"}, t0)
		return st.ExpireAt.Equal(t0.Add(13 * time.Minute))
	})

	// The tag hash lost: written back with the pair.
	raw := rawClient(t, srv)
	if err := raw.Del(ctx, first.tagsKey).Err(); err != nil {
		t.Fatal(err)
	}
	if err := first.checkEpoch(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the write-back", func() bool { return first.Stats().WrittenBack > 0 && first.Stats().Pending == 0 })
	c := open(t, srv, testOptions(&log))
	if st, _ := c.TagState(ctx, []string{"nav"}, t0); !st.ExpireAt.Equal(t0.Add(13 * time.Minute)) {
		t.Errorf("after write-back: TagState(nav) = %+v; want ExpireAt 13m", st)
	}

	// A 16-byte value an earlier version wrote merges with a profile's 32.
	if err := raw.HSet(ctx, first.tagsKey, "old", string(tagTimes{stale: timeBits(t0.Add(time.Hour))}.encode())).Err(); err != nil {
		t.Fatal(err)
	}
	first.RevalidateTags(ctx, []string{"old"}, regen.StaleUntil(time.Minute), t0.Add(30*time.Minute))
	if err := first.flushTags(); err != nil {
		t.Fatal(err)
	}
	v, err := raw.HGet(ctx, first.tagsKey, "old").Result()
	got, ok := decodeTagTimes(v)
	want := tagTimes{stale: timeBits(t0.Add(time.Hour)), marked: timeBits(t0.Add(30 * time.Minute)), deadline: timeBits(t0.Add(31 * time.Minute))}
	if err != nil || !ok || got != want {
		t.Errorf("tag hash after merging a 16-byte value = %+v, %v, %v; want %+v", got, ok, err, want)
	}
}
