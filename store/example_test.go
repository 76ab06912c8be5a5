package store_test

import (
	"context"
	"fmt"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

func ExampleMemory() {
	ctx := context.Background()
	m := store.NewMemory(store.MemoryOptions{MaxBytes: 64 << 20})

	made := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	page := &store.Item{
		Status:     200,
		Body:       []byte("<h1>Hello</h1>"),
		Tags:       []string{"posts", "_N_T_/blog/hello"},
		Created:    made,
		Revalidate: regen.Seconds(60),
	}
	m.Set(ctx, "/blog/hello", page)

	// Set copied the page into the store's slabs: Get returns the copy, and
	// the same one again while it is among the items last read.
	it, ok, _ := m.Get(ctx, "/blog/hello")
	again, _, _ := m.Get(ctx, "/blog/hello")
	fmt.Printf("%s %v copied: %v ready: %v\n", it.Body, ok, it != page, again == it)

	// Nothing was revalidated since the item was made.
	st, _ := m.TagState(ctx, it.Tags, it.Created)
	fmt.Printf("stale=%v expired=%v\n", st.Stale, st.Expired)

	// A post changed: every item tagged "posts" is stale from now on.
	m.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, made.Add(time.Minute))
	st, _ = m.TagState(ctx, it.Tags, it.Created)
	fmt.Printf("stale=%v expired=%v\n", st.Stale, st.Expired)

	// revalidateTag("posts", "hours"): stale now, expired a day later.
	at := made.Add(90 * time.Second)
	m.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateProfile("hours"), at)
	st, _ = m.TagState(ctx, it.Tags, it.Created)
	fmt.Println("expire at", st.ExpireAt.Sub(at), st.ExpiredAt(at.Add(time.Hour)), st.ExpiredAt(at.Add(24*time.Hour)))

	// An expire-mode revalidation makes it expired, and stale too.
	m.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateExpire, made.Add(2*time.Minute))
	st, _ = m.TagState(ctx, it.Tags, it.Created)
	fmt.Printf("stale=%v expired=%v\n", st.Stale, st.Expired)

	fmt.Println(m.Len(), m.Bytes(), m.Evictions())
	// Output:
	// <h1>Hello</h1> true copied: true ready: true
	// stale=false expired=false
	// stale=true expired=false
	// expire at 24h0m0s false true
	// stale=true expired=true
	// 1 4112 0
}
