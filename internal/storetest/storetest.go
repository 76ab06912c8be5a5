// Package storetest holds the tests every store.Store implementation
// passes: Memory, store/disk and store/redis run the same ones.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

// ProfileRevalidation checks how a store records revalidations by a cache
// profile (a mode with an expire, Next.js 16's revalidateTag(tag,
// profile)) beside the stale and expire modes. open returns the store to
// test; reopen, if not nil, returns a store that sees what the first one
// recorded (the same directory reopened, another instance on the same
// Redis), whose answers must be the same.
func ProfileRevalidation(t *testing.T, open func(t *testing.T) store.Store, reopen func(t *testing.T, s store.Store) store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	s := open(t)
	rev := func(tags []string, mode regen.RevalidateMode, when time.Time) {
		t.Helper()
		if err := s.RevalidateTags(ctx, tags, mode, when); err != nil {
			t.Fatalf("RevalidateTags(%q, %v, %v) = %v", tags, mode, when, err)
		}
	}
	type check struct {
		name     string
		tags     []string
		since    time.Time
		want     store.TagState
		notYet   time.Time // ExpiredAt(notYet) must be false
		expiring time.Time // ExpiredAt(expiring) must be true, if not zero
	}
	verify := func(st store.Store, checks []check) {
		t.Helper()
		for _, c := range checks {
			got, err := st.TagState(ctx, c.tags, c.since)
			if err != nil {
				t.Fatalf("%s: TagState(%q, %v) = %v", c.name, c.tags, c.since, err)
			}
			if got.Stale != c.want.Stale || got.Expired != c.want.Expired || !c.want.Expired && !got.ExpireAt.Equal(c.want.ExpireAt) {
				t.Errorf("%s: TagState(%q, since %v) = %+v; want %+v", c.name, c.tags, c.since.Sub(t0), got, c.want)
			}
			if !c.notYet.IsZero() && got.ExpiredAt(c.notYet) {
				t.Errorf("%s: ExpiredAt(%v) = true; want false", c.name, c.notYet.Sub(t0))
			}
			if !c.expiring.IsZero() && !got.ExpiredAt(c.expiring) {
				t.Errorf("%s: ExpiredAt(%v) = false; want true", c.name, c.expiring.Sub(t0))
			}
		}
	}

	// revalidateTag("posts", {expire: 3600}) one minute in.
	rev([]string{"posts"}, regen.StaleUntil(time.Hour), at(time.Minute))
	first := []check{
		{"made before the profile revalidation", []string{"posts"}, t0,
			store.TagState{Stale: true, ExpireAt: at(61 * time.Minute)}, at(60 * time.Minute), at(61 * time.Minute)},
		{"made after it", []string{"posts"}, at(2 * time.Minute), store.TagState{}, at(1000 * time.Hour), time.Time{}},
		{"made at it", []string{"posts"}, at(time.Minute), store.TagState{}, at(1000 * time.Hour), time.Time{}},
		{"another tag", []string{"other"}, t0, store.TagState{}, at(1000 * time.Hour), time.Time{}},
	}
	verify(s, first)

	// A later profile revalidation replaces the pair, as Next.js's tags
	// manifest keeps the latest {stale, expired}; an earlier one arriving
	// late does not.
	rev([]string{"posts"}, regen.RevalidateProfile("minutes"), at(3*time.Minute))
	rev([]string{"posts"}, regen.StaleUntil(time.Second), at(2*time.Minute))
	// Two tags: the earliest deadline.
	rev([]string{"nav"}, regen.StaleUntil(10*time.Minute), at(3*time.Minute))
	second := []check{
		{"latest pair", []string{"posts"}, t0,
			store.TagState{Stale: true, ExpireAt: at(63 * time.Minute)}, at(62 * time.Minute), at(63 * time.Minute)},
		{"earliest of two tags", []string{"posts", "nav"}, t0,
			store.TagState{Stale: true, ExpireAt: at(13 * time.Minute)}, at(12 * time.Minute), at(13 * time.Minute)},
	}
	verify(s, second)

	// An expire-mode revalidation (updateTag) after them expires at once
	// (ExpireAt then does not matter); a stale-mode one keeps the
	// profile's pair.
	rev([]string{"posts"}, regen.RevalidateExpire, at(4*time.Minute))
	rev([]string{"nav"}, regen.RevalidateStale, at(5*time.Minute))
	third := []check{
		{"expired by updateTag", []string{"posts"}, at(2 * time.Minute),
			store.TagState{Stale: true, Expired: true}, time.Time{}, at(4 * time.Minute)},
		{"made after updateTag", []string{"posts"}, at(4 * time.Minute),
			store.TagState{}, at(1000 * time.Hour), time.Time{}},
		{"pair kept after a stale mark", []string{"nav"}, t0,
			store.TagState{Stale: true, ExpireAt: at(13 * time.Minute)}, at(12 * time.Minute), at(13 * time.Minute)},
		{"stale mark after the pair", []string{"nav"}, at(4 * time.Minute),
			store.TagState{Stale: true}, at(1000 * time.Hour), time.Time{}},
	}
	verify(s, third)

	if reopen != nil {
		verify(reopen(t, s), third)
	}
}
