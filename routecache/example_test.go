package routecache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store"
)

// The ISR story of one page: rendered once, served from the cache while
// fresh, served stale once its revalidate interval has passed while a new
// render replaces it, and dropped by an on-demand revalidation in expire mode.
func ExampleCache() {
	ctx := context.Background()
	c := routecache.New(store.NewMemory(store.MemoryOptions{}))
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

	// render stands for the engine rendering /blog/[slug] for /blog/hello.
	render := func(now time.Time, version int) *routecache.Entry {
		return &routecache.Entry{
			Status:     200,
			Body:       fmt.Appendf(nil, "<h1>Hello, v%d</h1>", version),
			Tags:       append(routecache.ImplicitTags("/blog/[slug]", "/blog/hello"), "posts"),
			Created:    now,
			Revalidate: regen.Seconds(60),
			Expire:     365 * 24 * time.Hour,
		}
	}
	serve := func(now time.Time) {
		e, st, err := c.Get(ctx, "/blog/hello", now)
		if err != nil {
			fmt.Println(err)
			return
		}
		body := "(render while the request waits)"
		if e != nil {
			body = string(e.Body)
		}
		fmt.Printf("t+%-7v %-5v %s\n", now.Sub(start), st, body)
	}

	c.Set(ctx, "/blog/hello", render(start, 1)) // prerendered at build
	serve(start.Add(10 * time.Second))

	// Past the revalidate interval: the old page is served at once, and a
	// background regeneration replaces it.
	now := start.Add(90 * time.Second)
	serve(now)
	c.Set(ctx, "/blog/hello", render(now, 2))
	serve(now.Add(time.Second))

	// A post was deleted: expire everything tagged "posts". The next request
	// waits for a fresh render.
	now = start.Add(2 * time.Minute)
	c.RevalidateTag(ctx, "posts", regen.RevalidateExpire, now)
	serve(now.Add(time.Second))

	// Output:
	// t+10s     HIT   <h1>Hello, v1</h1>
	// t+1m30s   STALE <h1>Hello, v1</h1>
	// t+1m31s   HIT   <h1>Hello, v2</h1>
	// t+2m1s    MISS  (render while the request waits)
}
