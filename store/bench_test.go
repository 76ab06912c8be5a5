package store_test

import (
	"bytes"
	"context"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store"
)

var benchT0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// benchRoute is the route of the pages the benchmarks store: its five
// implicit tags are shared by all its pages, as the engine shares them.
const benchRoute = "/(shop)/products/[slug]"

var benchRouteTags = routecache.RouteTags(benchRoute)

// pageEntry makes the i-th page of benchRoute as the engine's newEntry
// makes it: a body of n bytes cloned from the render's buffer, four
// headers, the route's implicit tags and the path's own.
func pageEntry(rc *routecache.Cache, scratch []byte, i, n int, created time.Time) (string, *routecache.Entry) {
	path := "/products/shoe-" + strconv.Itoa(i)
	body := bytes.Clone(scratch[:n])
	tags, _ := rc.Tags(benchRoute, path, benchRouteTags, nil)
	return path, &routecache.Entry{
		Status: http.StatusOK,
		Header: http.Header{
			"Content-Type":   {"text/html; charset=utf-8"},
			"Content-Length": {strconv.Itoa(len(body))},
			"Cache-Control":  {"s-maxage=60, stale-while-revalidate=31535940"},
			"Etag":           {`"` + strconv.FormatUint(xxhash.Sum64(body), 36) + `"`},
		},
		Body:       body,
		Tags:       tags,
		Created:    created,
		Revalidate: regen.Seconds(60),
		Expire:     365 * 24 * time.Hour,
	}
}

func benchScratch() []byte {
	scratch := make([]byte, 8<<10)
	for i := range scratch {
		scratch[i] = byte('a' + i%26)
	}
	return scratch
}

// BenchmarkTagState is a page hit's tag check (a page's six tags, since
// its creation) before and after a revalidation of a tag the page does
// not carry, beside a floor (no tags) and a page whose own tag was
// revalidated. Issue 11 asks that after-unrelated-revalidation cost no
// more than 1.2 times fresh.
func BenchmarkTagState(b *testing.B) {
	ctx := context.Background()
	_, e := pageEntry(routecache.New(nil), benchScratch(), 42, 1024, benchT0)
	cases := []struct {
		name  string
		tags  []string
		reval []string // revalidated a second after the entry was made
	}{
		{"floor", nil, nil},
		{"fresh", e.Tags, nil},
		{"after-unrelated-revalidation", e.Tags, []string{"_N_T_/blog/hello"}},
		{"after-1000-unrelated-revalidations", e.Tags, nil}, // filled below
		{"stale", e.Tags, []string{e.Tags[len(e.Tags)-1]}},
	}
	for _, c := range cases {
		m := store.NewMemory(store.MemoryOptions{})
		m.RevalidateTags(ctx, []string{"products"}, regen.RevalidateStale, benchT0.Add(-time.Hour))
		if c.name == "after-1000-unrelated-revalidations" {
			for i := range 1000 {
				m.RevalidateTags(ctx, []string{"_N_T_/blog/post-" + strconv.Itoa(i)}, regen.RevalidateStale, benchT0.Add(time.Second))
			}
		}
		if c.reval != nil {
			m.RevalidateTags(ctx, c.reval, regen.RevalidateStale, benchT0.Add(time.Second))
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.TagState(ctx, c.tags, e.Created)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m.TagState(ctx, c.tags, e.Created)
				}
			})
		})
	}
}

// BenchmarkRouteGet is a page hit's lookup and tag check, through
// routecache.Get as the engine makes it, before and after a revalidation
// of a tag the page does not carry, beside a floor (the store's Get
// alone) and a page whose own tag was revalidated.
func BenchmarkRouteGet(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name  string
		reval []string // revalidated a second after the entry was made
	}{
		{"floor", nil},
		{"fresh", nil},
		{"after-unrelated-revalidation", []string{"_N_T_/blog/hello"}},
		{"stale", []string{"_N_T_/products/shoe-42"}},
	}
	for _, c := range cases {
		m := store.NewMemory(store.MemoryOptions{})
		rc := routecache.New(m)
		path, e := pageEntry(rc, benchScratch(), 42, 1024, benchT0)
		rc.Set(ctx, path, e)
		if c.reval != nil {
			m.RevalidateTags(ctx, c.reval, regen.RevalidateStale, benchT0.Add(time.Second))
		}
		now := benchT0.Add(2 * time.Second)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if c.name == "floor" {
						m.Get(ctx, path)
						continue
					}
					if e, _, _ := rc.Get(ctx, path, now); e == nil {
						b.Fatal("miss")
					}
				}
			})
		})
	}
}

// BenchmarkPageHeap fills a Memory store through routecache with pages of
// 1 KiB shaped as the engine makes them, and reports the heap they take
// per byte of body cached (heap/cached; the floor, bodies alone in a
// slice, is the "floor" case) and what the store charged per heap byte
// (charged/heap, which TestItemCharge keeps within 10%). Issue 11 asks for
// heap/cached at most 1.3.
func BenchmarkPageHeap(b *testing.B) {
	const pages, size = 100_000, 1024
	for _, name := range []string{"floor", "memory"} {
		b.Run(name+"/pages=100k", func(b *testing.B) {
			ctx := context.Background()
			scratch := benchScratch()
			var heap, charged float64
			for b.Loop() {
				st := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 40})
				rc := routecache.New(st)
				bodies := make([][]byte, 0, pages)
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for i := range pages {
					if name == "floor" {
						bodies = append(bodies, bytes.Clone(scratch[:size]))
						continue
					}
					path, e := pageEntry(rc, scratch, i, size, benchT0)
					if err := rc.Set(ctx, path, e); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
				charged = float64(st.Bytes())
				runtime.KeepAlive(st)
				runtime.KeepAlive(bodies)
			}
			b.ReportMetric(heap/(pages*size), "heap/cached")
			b.ReportMetric(heap/pages-size, "overhead-B/page")
			if name == "memory" {
				b.ReportMetric(charged/heap, "charged/heap")
			}
		})
	}
}

// BenchmarkFillGC stores a million small pages (256 bytes, engine-shaped)
// in a Memory store that holds them all, and reports the share of the
// fill's CPU time the garbage collector took (gc-cpu-fraction, from
// runtime/metrics), beside a floor that keeps only the bodies. Issue 11
// asks for at most 0.10.
func BenchmarkFillGC(b *testing.B) {
	const pages, size = 1_000_000, 256
	samples := []metrics.Sample{
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/user:cpu-seconds"},
	}
	read := func() (gc, user float64) {
		metrics.Read(samples)
		return samples[0].Value.Float64(), samples[1].Value.Float64()
	}
	for _, name := range []string{"floor", "memory"} {
		b.Run(name+"/pages=1M", func(b *testing.B) {
			ctx := context.Background()
			scratch := benchScratch()
			var frac float64
			for b.Loop() {
				st := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 40})
				rc := routecache.New(st)
				var bodies [][]byte
				runtime.GC()
				gc0, user0 := read()
				for i := range pages {
					if name == "floor" {
						bodies = append(bodies, bytes.Clone(scratch[:size]))
						continue
					}
					path, e := pageEntry(rc, scratch, i, size, benchT0)
					if err := rc.Set(ctx, path, e); err != nil {
						b.Fatal(err)
					}
				}
				// The metrics are as of the latest cycle's end: no forced
				// collection, which would add a full mark the fill did not need.
				gc1, user1 := read()
				frac = (gc1 - gc0) / ((gc1 - gc0) + (user1 - user0))
				runtime.KeepAlive(st)
				runtime.KeepAlive(bodies)
			}
			b.ReportMetric(frac, "gc-cpu-fraction")
		})
	}
}
