package disk

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store"
)

// benchItem is a page as the engine stores it.
func benchItem(body string) *store.Item {
	it := htmlItem(body, regen.Seconds(60), append([]string{"posts"}, routecache.ImplicitTags("/blog/[slug]", "/blog/x")...)...)
	it.Header = http.Header{
		"Content-Type":   {"text/html; charset=utf-8"},
		"Content-Length": {strconv.Itoa(len(body))},
		"Cache-Control":  {"s-maxage=60, stale-while-revalidate=31535940"},
		"Etag":           {`"3f9a0c2b7d1e5"`},
	}
	return it
}

// BenchmarkDiskGet measures the hit path: the disk store answers from its
// memory tier, beside a bare store.Memory (the floor). "read-back" has a
// memory tier too small for the pages, so most Gets read a file.
func BenchmarkDiskGet(b *testing.B) {
	const pages = 1000
	keys := make([]string, pages)
	for i := range keys {
		keys[i] = fmt.Sprintf("/blog/post-%d", i)
	}
	body := strings.Repeat("<p>regen</p>", 400) // 4.8 KB
	fill := func(b *testing.B, s store.Store) {
		for _, k := range keys {
			if err := s.Set(context.Background(), k, benchItem(body)); err != nil {
				b.Fatal(err)
			}
		}
	}
	run := func(b *testing.B, s store.Store) {
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			i := 0
			for pb.Next() {
				if _, ok, err := s.Get(ctx, keys[i%pages]); !ok || err != nil {
					b.Errorf("Get(%q) = %v, %v", keys[i%pages], ok, err)
					return
				}
				i += 7
			}
		})
	}
	b.Run("store=memory", func(b *testing.B) {
		m := store.NewMemory(store.MemoryOptions{})
		fill(b, m)
		run(b, m)
	})
	b.Run("store=disk", func(b *testing.B) {
		dir := b.TempDir()
		s := open(b, dir, Options{Batch: true})
		fill(b, s)
		s.Close()
		run(b, open(b, dir, Options{})) // loaded by Open, as after a restart
	})
	b.Run("store=disk/read-back", func(b *testing.B) {
		dir := b.TempDir()
		s := open(b, dir, Options{Batch: true})
		fill(b, s)
		s.Close()
		run(b, open(b, dir, Options{Memory: store.MemoryOptions{MaxBytes: 64 << 10, Shards: 1}}))
	})
}

// BenchmarkDiskSet measures a page's Set in a store holding pages pages:
// with Batch, its file written and synced; without, what the caller waits
// for (write-back: the memory tier and the queue, or the writers when the
// queue is full). Keys repeat, so queued writes coalesce.
func BenchmarkDiskSet(b *testing.B) {
	body := strings.Repeat("<p>regen</p>", 400)
	for _, pages := range []int{10, 1000} {
		for _, batch := range []bool{false, true} {
			b.Run(fmt.Sprintf("pages=%d/batch=%v", pages, batch), func(b *testing.B) {
				ctx := context.Background()
				s := open(b, b.TempDir(), Options{Batch: batch})
				for i := range pages {
					mustSet(b, s, fmt.Sprintf("/p/%d", i), benchItem(body))
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := s.Set(ctx, fmt.Sprintf("/p/%d", i%pages), benchItem(body)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
	b.Run("data", func(b *testing.B) {
		ctx := context.Background()
		s := open(b, b.TempDir(), Options{})
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := s.Set(ctx, fmt.Sprintf("fetch:%d", i%100), benchItem(body)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// pageBody returns an HTML page of about size bytes: a head, a nav and
// paragraphs, as a rendered blog post.
func pageBody(size int) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Post</title>` +
		`<link rel="stylesheet" href="/_next/static/css/app.css"></head><body><nav><a href="/">Home</a> ` +
		`<a href="/blog">Blog</a></nav><main><article><h1>A post</h1>`)
	for i := 0; b.Len() < size-len("</article></main></body></html>")-100; i++ {
		fmt.Fprintf(&b, "<p>Paragraph %d of the post, with <a href=\"/blog/post-%d\">a link</a> and some text to read.</p>", i, i)
	}
	b.WriteString("</article></main></body></html>")
	return b.String()
}

// BenchmarkNewPage measures new pages stored under b.RunParallel, each a
// unique path with a 6 KiB HTML body and the tags the engine stores with
// it, into a bare store.Memory (the floor) and into the disk store, whose
// time includes the final Flush: the background writers' work, syncs
// included, is paid in full. pages/s is the throughput. For disk,
// fsyncs/page counts the syncs (fsync and syncfs) the writers made per
// page, and set-ns/op what a caller of Set waited (the request that
// rendered the page).
func BenchmarkNewPage(b *testing.B) {
	body := pageBody(6 << 10)
	route := routecache.RouteTags("/blog/[slug]")
	item := func(key string) *store.Item {
		it := htmlItem(body, regen.Seconds(60), append([]string{"posts"}, routecache.PathTags(route, key)...)...)
		it.Header = http.Header{
			"Content-Type":   {"text/html; charset=utf-8"},
			"Content-Length": {strconv.Itoa(len(body))},
			"Cache-Control":  {"s-maxage=60, stale-while-revalidate=31535940"},
			"Etag":           {`"3f9a0c2b7d1e5"`},
		}
		return it
	}
	run := func(b *testing.B, s store.Store, flush func() error) {
		var n atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				key := "/blog/post-" + strconv.FormatInt(n.Add(1), 10)
				if err := s.Set(ctx, key, item(key)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		set := time.Since(start)
		if flush != nil {
			if err := flush(); err != nil {
				b.Fatal(err)
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pages/s")
		if flush != nil {
			b.ReportMetric(float64(set.Nanoseconds())/float64(b.N), "set-ns/op")
		}
	}
	b.Run("store=memory", func(b *testing.B) {
		run(b, store.NewMemory(store.MemoryOptions{}), nil)
	})
	b.Run("store=disk", func(b *testing.B) {
		s := open(b, b.TempDir(), Options{})
		before := s.syncs.Load()
		run(b, s, s.Flush)
		b.ReportMetric(float64(s.syncs.Load()-before)/float64(b.N), "fsyncs/page")
	})
}

// BenchmarkBuildStore measures the store's part of a build: Batch mode
// Sets of pages tiny pages (94 bytes, as regen build's synthetic pages),
// from two goroutines as the build's renders make them, then Close, which
// makes them durable and writes the manifest; beside the floor, the same
// Sets into a bare store.Memory.
func BenchmarkBuildStore(b *testing.B) {
	const pages = 10000
	body := strings.Repeat("x", 94)
	items := make([]*store.Item, pages)
	keys := make([]string, pages)
	for i := range items {
		keys[i] = fmt.Sprintf("/p/p%d", i)
		items[i] = benchItem(body)
	}
	fill := func(b *testing.B, s store.Store) {
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() {
				for i := w; i < pages; i += 2 {
					if err := s.Set(context.Background(), keys[i], items[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	b.Run("store=memory", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fill(b, store.NewMemory(store.MemoryOptions{}))
		}
		b.ReportMetric(float64(pages)*float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	})
	b.Run("store=disk/batch", func(b *testing.B) {
		parent := b.TempDir()
		b.ReportAllocs()
		var syncs int64
		i := 0
		for b.Loop() {
			s, err := Open(filepath.Join(parent, strconv.Itoa(i)), Options{Batch: true, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			fill(b, s)
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			syncs += s.syncs.Load()
			i++
		}
		b.ReportMetric(float64(pages)*float64(b.N)/b.Elapsed().Seconds(), "pages/s")
		b.ReportMetric(float64(syncs)/float64(b.N), "syncs/op")
	})
}
