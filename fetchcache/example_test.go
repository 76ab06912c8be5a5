package fetchcache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/store"
)

// A fetch with revalidate 60 is fetched once, served fresh for a minute, then
// served stale once while it refreshes; revalidating its tag does the same
// on demand. Time moves through Call.Now and Options.Now, and refreshes run
// as soon as they are scheduled.
func ExampleCache_Fetch() {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	version := 0
	posts := fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
		version++
		return &fetchcache.Response{Status: 200, Body: fmt.Appendf(nil, "posts v%d", version)}, nil
	})
	st := store.NewMemory(store.MemoryOptions{})
	c := fetchcache.New(fetchcache.Options{
		Store:     st,
		Fetcher:   posts,
		Scheduler: regen.SchedulerFunc(func(f func()) { f() }),
		Now:       func() time.Time { return now },
	})
	defer c.Close()

	req := &fetchcache.Request{
		URL:        "https://api.example.com/posts",
		Revalidate: regen.Seconds(60),
		Tags:       []string{"posts"},
	}
	fetch := func(at string) {
		resp, res, err := c.Fetch(ctx, req, fetchcache.Call{Now: now})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-8s %-6s %s\n", at, res.Status, resp.Body)
	}

	fetch("0s")
	now = now.Add(30 * time.Second)
	fetch("30s")
	now = now.Add(30 * time.Second)
	fetch("60s") // stale: served at once, refreshed in the background
	fetch("60s")

	now = now.Add(time.Second)
	st.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, now)
	now = now.Add(time.Second)
	fetch("62s") // the tag was revalidated: stale once
	fetch("62s")

	now = now.Add(time.Second)
	st.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateExpire, now)
	now = now.Add(time.Second)
	fetch("64s") // expired: waits for the origin
	// Output:
	// 0s       MISS   posts v1
	// 30s      HIT    posts v1
	// 60s      STALE  posts v1
	// 60s      HIT    posts v2
	// 62s      STALE  posts v2
	// 62s      HIT    posts v3
	// 64s      MISS   posts v4
}

// Memoize caches any function's result, here a database query, under
// explicit key parts.
func ExampleCache_Memoize() {
	ctx := context.Background()
	c := fetchcache.New(fetchcache.Options{})
	defer c.Close()

	queries := 0
	user := func(ctx context.Context) ([]byte, error) {
		queries++
		return []byte(`{"id":42,"name":"Ada"}`), nil
	}
	opts := fetchcache.MemoOptions{Revalidate: regen.Seconds(300), Tags: []string{"users"}}
	for range 3 {
		v, res, err := c.Memoize(ctx, []string{"user", "42"}, opts, fetchcache.Call{}, user)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(res.Status, string(v))
	}
	fmt.Println("queries:", queries)
	// Output:
	// MISS {"id":42,"name":"Ada"}
	// HIT {"id":42,"name":"Ada"}
	// HIT {"id":42,"name":"Ada"}
	// queries: 1
}
