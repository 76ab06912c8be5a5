package fetchcache_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/store"
)

// benchRequest is a typical API fetch: a URL, two headers, a tag.
func benchRequest(i int) *fetchcache.Request {
	return &fetchcache.Request{
		URL:        fmt.Sprintf("https://api.example.com/products/%d", i),
		Header:     http.Header{"Accept": {"application/json"}, "Authorization": {"Bearer 0123456789abcdef"}},
		Revalidate: regen.Seconds(60),
		Tags:       []string{"products"},
	}
}

func benchCache(b *testing.B) (*fetchcache.Cache, *store.Memory) {
	st := store.NewMemory(store.MemoryOptions{})
	c := fetchcache.New(fetchcache.Options{
		Store: st,
		Fetcher: fetchcache.FetcherFunc(func(context.Context, *fetchcache.Request) (*fetchcache.Response, error) {
			return &fetchcache.Response{Status: 200, Body: make([]byte, 2048)}, nil
		}),
	})
	b.Cleanup(func() { c.Close() })
	return c, st
}

// BenchmarkFetchHit is the hot path: a fresh entry, read by many
// goroutines, with the key given as a render gives it (Call.Key) or
// computed from the request; after-unrelated-revalidation is key=given
// after a revalidation of a tag the entries do not carry.
func BenchmarkFetchHit(b *testing.B) {
	for _, keys := range []int{1, 1000} {
		for _, variant := range []string{"key=given", "key=computed", "after-unrelated-revalidation"} {
			b.Run(fmt.Sprintf("keys=%d/%s", keys, variant), func(b *testing.B) {
				c, st := benchCache(b)
				ctx := context.Background()
				now := time.Now()
				calls := make([]fetchcache.Call, keys)
				reqs := make([]*fetchcache.Request, keys)
				for i := range reqs {
					reqs[i] = benchRequest(i)
					calls[i] = fetchcache.Call{Now: now, ImplicitTags: []string{"_N_T_/layout", "_N_T_/products/[id]/page"}}
					if variant != "key=computed" {
						calls[i].Key = fetchcache.Key(reqs[i])
					}
					if _, _, err := c.Fetch(ctx, reqs[i], calls[i]); err != nil {
						b.Fatal(err)
					}
				}
				if variant == "after-unrelated-revalidation" {
					st.RevalidateTags(ctx, []string{"_N_T_/blog/hello"}, regen.RevalidateStale, now.Add(time.Millisecond))
				}
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						_, res, err := c.Fetch(ctx, reqs[i%keys], calls[i%keys])
						if err != nil || res.Status != regen.Hit {
							b.Fatalf("Fetch = %v, %v; want HIT", res.Status, err)
						}
						i++
					}
				})
			})
		}
	}
}

// BenchmarkMemoizeHit is Memoize's hot path.
func BenchmarkMemoizeHit(b *testing.B) {
	c, _ := benchCache(b)
	ctx := context.Background()
	call := fetchcache.Call{Now: time.Now()}
	parts := []string{"product", "42"}
	fn := func(context.Context) ([]byte, error) { return make([]byte, 2048), nil }
	opts := fetchcache.MemoOptions{Revalidate: regen.Seconds(60)}
	c.Memoize(ctx, parts, opts, call, fn)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, res, _ := c.Memoize(ctx, parts, opts, call, fn); res.Status != regen.Hit {
				b.Fatalf("Memoize = %v; want HIT", res.Status)
			}
		}
	})
}

// BenchmarkStoreHit is the floor under BenchmarkFetchHit: the store's own
// lookup and tag check for a key already computed.
func BenchmarkStoreHit(b *testing.B) {
	c, st := benchCache(b)
	ctx := context.Background()
	now := time.Now()
	req := benchRequest(0)
	c.Fetch(ctx, req, fetchcache.Call{Now: now})
	key := fetchcache.Key(req)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			it, _, _ := st.Get(ctx, key)
			st.TagState(ctx, it.Tags, it.Created)
		}
	})
}

// BenchmarkFetchBypass is the rival: no cache, the origin every time (here
// an origin that answers from memory, so only the cache's overhead shows).
func BenchmarkFetchBypass(b *testing.B) {
	c, _ := benchCache(b)
	ctx := context.Background()
	req := benchRequest(0)
	req.Cache = regen.NoStore
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Fetch(ctx, req, fetchcache.Call{})
		}
	})
}

func BenchmarkKey(b *testing.B) {
	for _, n := range []int{0, 4, 20} {
		b.Run(fmt.Sprintf("headers=%d", n), func(b *testing.B) {
			req := &fetchcache.Request{URL: "https://api.example.com/products/42", Header: http.Header{}}
			for i := range n {
				req.Header.Set(fmt.Sprintf("X-Header-%d", i), "value")
			}
			b.ReportAllocs()
			for b.Loop() {
				fetchcache.Key(req)
			}
		})
	}
}
