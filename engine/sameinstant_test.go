package engine

import (
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/store"
	"github.com/regen-dev/regen/store/disk"
)

// TestSameInstantRevalidation: with a clock that does not move, a
// revalidation made right after a render (at the same clock reading) still
// follows it, in the memory store and in the disk store: the page is STALE,
// then regenerated, then a HIT; and in expire mode, a MISS.
func TestSameInstantRevalidation(t *testing.T) {
	for _, kind := range []string{"memory", "disk"} {
		t.Run(kind, func(t *testing.T) {
			var st store.Store = store.NewMemory(store.MemoryOptions{})
			if kind == "disk" {
				ds, err := disk.Open(t.TempDir(), disk.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ds.Close() })
				st = ds
			}
			o := newOrigin()
			fixed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var site Site
			site.Page("/p", Page{Revalidate: sec(60), Render: fetchPage("p", nil, fetchcache.Request{URL: "/api/p", Tags: []string{"t"}})})
			e := newEngine(t, &site, Options{Store: st, Fetcher: o, Now: func() time.Time { return fixed }, Scheduler: inlineScheduler})
			if r := get(e, "/p"); r.status != "MISS" || r.body != "p n=0 [/api/p@1]" {
				t.Fatalf("first GET = %s %q", r.status, r.body)
			}
			o.publish("/api/p")
			if err := e.RevalidateTag(t.Context(), "t", regen.RevalidateStale); err != nil {
				t.Fatal(err)
			}
			if r := get(e, "/p"); r.status != "STALE" || r.body != "p n=0 [/api/p@1]" {
				t.Errorf("GET after a same-instant revalidation = %s %q; want STALE with the old page", r.status, r.body)
			}
			if r := get(e, "/p"); r.status != "HIT" || r.body != "p n=0 [/api/p@2]" {
				t.Errorf("GET after the regeneration = %s %q; want HIT with the new data", r.status, r.body)
			}
			if err := e.RevalidatePath(t.Context(), "/p", PagePath, regen.RevalidateExpire); err != nil {
				t.Fatal(err)
			}
			if r := get(e, "/p"); r.status != "MISS" {
				t.Errorf("GET after a same-instant path expiry = %s; want MISS", r.status)
			}
		})
	}
}
