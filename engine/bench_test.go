package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
	"github.com/regen-dev/regen/store/disk"
)

// nopWriter is a reused, minimal http.ResponseWriter: the benchmarks measure
// the engine, not a recorder.
type nopWriter struct {
	h    http.Header
	code int
}

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(code int)        { w.code = code }

var benchBody = []byte("<html><body><main>" + string(make([]byte, 4096)) + "</main></body></html>")

// BenchmarkServeHit serves a cached path through the engine's
// http.Handler entry point.
func BenchmarkServeHit(b *testing.B) { benchServeHit(b, Options{}) }

// BenchmarkServeHitFixedClock is BenchmarkServeHit with Options.Now
// returning a fixed time: the engine's own cost without the clock read,
// which on virtual machines can be a large share of a hit.
func BenchmarkServeHitFixedClock(b *testing.B) {
	t := time.Now()
	benchServeHit(b, Options{Now: func() time.Time { return t }})
}

// benchEngine returns an engine serving benchBody at /blog/[slug],
// revalidated hourly, closed when b ends.
func benchEngine(b *testing.B, opts Options) *Engine {
	var site Site
	site.Page("/blog/[slug]", Page{Revalidate: sec(3600), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		_, err := w.Write(benchBody)
		return err
	})})
	e, err := New(&site, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

func benchServeHit(b *testing.B, opts Options) {
	e := benchEngine(b, opts)
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/blog/hello", nil)
	w := &nopWriter{h: http.Header{}}
	e.ServeHTTP(w, req)
	if got := w.h.Get("X-Cache-Status"); got != "MISS" {
		b.Fatalf("priming request = %s; want MISS", got)
	}
	renders := e.Stats().Renders
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &nopWriter{h: http.Header{}}
		for pb.Next() {
			e.ServeHTTP(w, req)
		}
		if w.code != 0 && (w.code != 200 || w.h.Get("X-Cache-Status") != "HIT") {
			b.Errorf("served %d %s; want 200 HIT", w.code, w.h.Get("X-Cache-Status"))
		}
	})
	b.ReportMetric(float64(e.Stats().Renders-renders)/float64(b.N), "renders/op")
}

// BenchmarkServeFloor is the floor: a plain handler writing the same bytes
// and headers from a map, with the same writer and harness.
func BenchmarkServeFloor(b *testing.B) {
	floor := floorHandler(1)
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/blog/p0", nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &nopWriter{h: http.Header{}}
		for pb.Next() {
			floor.ServeHTTP(w, req)
		}
	})
}

// floorHandler serves n pages, /blog/p0 to /blog/p{n-1}, each with its own
// header map and body, from a map.
func floorHandler(n int) http.Handler {
	type page struct {
		h    http.Header
		body []byte
	}
	pages := map[string]*page{}
	for i := range n {
		pages[fmt.Sprintf("/blog/p%d", i)] = &page{
			h: http.Header{
				"Content-Type":   {"text/html; charset=utf-8"},
				"Content-Length": {"4135"},
				"Cache-Control":  {"s-maxage=3600, stale-while-revalidate=31532400"},
				"Etag":           {fmt.Sprintf(`"abc%d"`, i)},
			},
			body: append([]byte(nil), benchBody...),
		}
	}
	hit, cs := []string{"HIT"}, []string{"regen; hit"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := pages[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		h := w.Header()
		for k, v := range p.h {
			h[k] = v
		}
		h["X-Cache-Status"] = hit
		h["Cache-Status"] = cs
		w.WriteHeader(http.StatusOK)
		w.Write(p.body)
	})
}

// BenchmarkServeHitPaths is BenchmarkServeHit over many cached paths, read
// in a scattered order, beside floor: floorHandler over as many pages. A
// site's pages do not all fit in the store's items kept ready, nor in the
// processor's caches.
func BenchmarkServeHitPaths(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		reqs := make([]*http.Request, n)
		for i := range reqs {
			reqs[i], _ = http.NewRequest(http.MethodGet, fmt.Sprintf("http://example.com/blog/p%d", i), nil)
		}
		serve := func(b *testing.B, h http.Handler) {
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := &nopWriter{h: http.Header{}}
				for i := 0; pb.Next(); i++ {
					h.ServeHTTP(w, reqs[i*7919%n])
				}
			})
		}
		b.Run(fmt.Sprintf("paths=%d/engine", n), func(b *testing.B) {
			e := benchEngine(b, Options{})
			for _, r := range reqs {
				e.ServeHTTP(&nopWriter{h: http.Header{}}, r)
			}
			renders := e.Stats().Renders
			serve(b, e)
			b.ReportMetric(float64(e.Stats().Renders-renders)/float64(b.N), "renders/op")
		})
		b.Run(fmt.Sprintf("paths=%d/floor", n), func(b *testing.B) { serve(b, floorHandler(n)) })
	}
}

// BenchmarkServeBypass is the rival: a dynamic route rendered on every
// request (SSR), a layout around a page that reads a cached fetch.
func BenchmarkServeBypass(b *testing.B) {
	var site Site
	site.Layout("/", Layout{Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		io.WriteString(w, "<html><body>")
		if err := child.Render(ctx, w); err != nil {
			return err
		}
		_, err := io.WriteString(w, "</body></html>")
		return err
	})})
	site.Page("/blog/[slug]", Page{Dynamic: regen.ForceDynamic, Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		res, err := s.Fetch(ctx, &fetchcache.Request{URL: "/api/posts/" + s.Param("slug"), Revalidate: sec(3600), Tags: []string{"posts"}})
		if err != nil {
			return err
		}
		_, err = w.Write(res.Body)
		return err
	})})
	origin := fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
		return &fetchcache.Response{Status: 200, Body: benchBody}, nil
	})
	e, err := New(&site, Options{Fetcher: origin})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/blog/hello", nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &nopWriter{h: http.Header{}}
		for pb.Next() {
			e.ServeHTTP(w, req)
		}
		if w.code != 0 && (w.code != 200 || w.h.Get("X-Cache-Status") != "BYPASS") {
			b.Errorf("served %d %s; want 200 BYPASS", w.code, w.h.Get("X-Cache-Status"))
		}
	})
}

// BenchmarkServeNewPage is issue 8's new-page throughput: every request a
// new path rendered and stored (a MISS), with the memory store and with the
// disk store (regen serve --dir), whose final Flush is timed. The disk
// store writes back in the background, so the requests do not wait for it;
// with its queue bounded, the sustained rate is the lower of the render's
// and the disk's. With origin=0 the render is nearly free and the disk's
// own rate shows; with origin=20ms (the demo shop's latency, 64 requests in
// flight) the render is what a real site's costs.
func BenchmarkServeNewPage(b *testing.B) {
	for _, bc := range []struct {
		kind    string
		latency time.Duration
	}{{"memory", 0}, {"disk", 0}, {"memory", 20 * time.Millisecond}, {"disk", 20 * time.Millisecond}} {
		kind := bc.kind
		b.Run(fmt.Sprintf("origin=%v/%s", bc.latency, kind), func(b *testing.B) {
			var site Site
			site.Layout("/", Layout{Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
				io.WriteString(w, "<html><body>")
				if err := child.Render(ctx, w); err != nil {
					return err
				}
				_, err := io.WriteString(w, "</body></html>")
				return err
			})})
			site.Page("/products/[slug]", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
				res, err := s.Fetch(ctx, &fetchcache.Request{URL: "/api/products/" + s.Param("slug"), Tags: []string{"products", "product-" + s.Param("slug")}})
				if err != nil {
					return err
				}
				_, err = w.Write(res.Body)
				return err
			})})
			origin := fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
				if bc.latency > 0 {
					time.Sleep(bc.latency)
				}
				return &fetchcache.Response{Status: 200, Body: benchBody}, nil
			})
			opts := Options{Fetcher: origin, MaxBytes: 1 << 30}
			var flush func() error
			if kind == "disk" {
				ds, err := disk.Open(b.TempDir(), disk.Options{Memory: store.MemoryOptions{MaxBytes: 1 << 30}})
				if err != nil {
					b.Fatal(err)
				}
				defer ds.Close()
				opts.Store, flush = ds, ds.Flush
			}
			e, err := New(&site, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			var n atomic.Int64
			if bc.latency > 0 {
				b.SetParallelism(32)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := &nopWriter{h: http.Header{}}
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, "http://example.com/products/p"+strconv.FormatInt(n.Add(1), 10), nil)
					clear(w.h)
					e.ServeHTTP(w, req)
					if w.code != 200 || w.h.Get("X-Cache-Status") != "MISS" {
						b.Fatalf("served %d %s; want 200 MISS", w.code, w.h.Get("X-Cache-Status"))
					}
				}
			})
			if flush != nil {
				if err := flush(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
		})
	}
}
