package fetchcache_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/store"
)

// TestFetchDropsBadTags: a fetch whose tags break the limits is made and
// cached without them, as Next.js's validateTags drops them, instead of
// failing (a "product-{slug}" tag of a long slug failed every request with
// 500). Its valid tags still revalidate it. Over a real origin on 127.0.0.1.
func TestFetchDropsBadTags(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "v%d", hits.Add(1))
	}))
	t.Cleanup(srv.Close)

	long := "product-" + strings.Repeat("x", regen.MaxTagLen)
	many := make([]string, regen.MaxTags+2)
	for i := range many {
		many[i] = "t" + strings.Repeat("y", i)
	}
	tests := []struct {
		name     string
		tags     []string
		wantTags []string
	}{
		{"too long", []string{"products", long}, []string{"products"}},
		{"empty", []string{"", "products"}, []string{"products"}},
		{"control character", []string{"products", "a\r\nb", "nul\x00"}, []string{"products"}},
		{"not UTF-8", []string{"products", "\xff\xfe"}, []string{"products"}},
		{"too many", many, many[:regen.MaxTags]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			st := store.NewMemory(store.MemoryOptions{})
			c := fetchcache.New(fetchcache.Options{Store: st})
			t.Cleanup(func() { c.Close() })
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			req := &fetchcache.Request{URL: srv.URL + "/p", Tags: tt.tags}
			for i, want := range []regen.Status{regen.Miss, regen.Hit} {
				resp, res, err := c.Fetch(t.Context(), req, fetchcache.Call{Now: now})
				if err != nil || res.Status != want || string(resp.Body) != "v1" {
					t.Fatalf("Fetch %d = %v, %v; want %v v1, no error", i, res.Status, err, want)
				}
				if diff := cmp.Diff(tt.wantTags, res.Tags); diff != "" {
					t.Errorf("Result.Tags (-want +got):\n%s", diff)
				}
			}
			if got := hits.Load(); got != 1 {
				t.Errorf("origin hit %d times; want 1", got)
			}
			// A kept tag revalidates the entry.
			st.RevalidateTags(t.Context(), tt.wantTags[:1], regen.RevalidateExpire, now.Add(time.Second))
			resp, res, err := c.Fetch(t.Context(), req, fetchcache.Call{Now: now.Add(2 * time.Second)})
			if err != nil || res.Status != regen.Miss || string(resp.Body) != "v2" {
				t.Errorf("Fetch after revalidating %q = %v, %v; want MISS v2", tt.wantTags[0], res.Status, err)
			}
		})
	}
}
