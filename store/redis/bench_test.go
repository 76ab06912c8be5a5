package redis

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/internal/redistest"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
)

var benchBody = make([]byte, 4096)

func benchItem() *store.Item {
	return &store.Item{
		Status:     200,
		Header:     http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Etag": {`"abc"`}},
		Body:       benchBody,
		Tags:       []string{"posts", "_N_T_/layout", "_N_T_/blog/[slug]/page", "_N_T_/blog/hello"},
		Created:    t0,
		Revalidate: regen.Seconds(3600),
	}
}

// benchGet is what the route cache does per request: Get, then TagState.
func benchGet(b *testing.B, s store.Store, key string) {
	ctx := context.Background()
	it, ok, err := s.Get(ctx, key)
	if err != nil || !ok {
		b.Fatalf("Get(%q) = %v, %v", key, ok, err)
	}
	if st, _ := s.TagState(ctx, it.Tags, it.Created); st.Stale {
		b.Fatalf("TagState = %+v; want fresh", st)
	}
}

// BenchmarkMemoryHit is the floor: the same lookups on a store.Memory alone.
func BenchmarkMemoryHit(b *testing.B) {
	m := store.NewMemory(store.MemoryOptions{})
	m.Set(context.Background(), "/blog/hello", benchItem())
	m.RevalidateTags(context.Background(), []string{"other"}, regen.RevalidateStale, t0.Add(-time.Hour))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchGet(b, m, "/blog/hello")
		}
	})
}

// BenchmarkTwoTierLocalHit: a hit in the local tier, which never asks Redis.
func BenchmarkTwoTierLocalHit(b *testing.B) {
	srv := redistest.Start(b)
	var log logBuffer
	s := open(b, srv, testOptions(&log))
	s.Set(context.Background(), "/blog/hello", benchItem())
	s.RevalidateTags(context.Background(), []string{"other"}, regen.RevalidateStale, t0.Add(-time.Hour))
	hits := s.Stats().RedisHits
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchGet(b, s, "/blog/hello")
		}
	})
	if s.Stats().RedisHits != hits {
		b.Errorf("a local hit asked Redis")
	}
}

// BenchmarkTwoTierServeHit serves a cached page through an engine over the
// two-tier store, as engine's BenchmarkServeHit does over a store.Memory.
func BenchmarkTwoTierServeHit(b *testing.B) {
	srv := redistest.Start(b)
	var log logBuffer
	s := open(b, srv, testOptions(&log))
	var site engine.Site
	site.Page("/blog/[slug]", engine.Page{Revalidate: regen.Seconds(3600), Render: render.PageFunc(func(ctx context.Context, _ *render.Scope, w io.Writer) error {
		_, err := w.Write(benchBody)
		return err
	})})
	e, err := engine.New(&site, engine.Options{Store: s})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/blog/hello", nil)
	w := &nopWriter{h: http.Header{}}
	e.ServeHTTP(w, req)
	renders := e.Stats().Renders
	b.ReportAllocs()
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

// BenchmarkRedisHit: the local tier is cold (too small to hold anything),
// so every Get reads and decodes the item from Redis.
func BenchmarkRedisHit(b *testing.B) {
	srv := redistest.Start(b)
	var log logBuffer
	opts := testOptions(&log)
	opts.LocalMaxBytes = 1
	s := open(b, srv, opts)
	const keys = 64
	for i := range keys {
		s.Set(context.Background(), fmt.Sprintf("/blog/%d", i), benchItem())
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchGet(b, s, "/blog/0")
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				benchGet(b, s, fmt.Sprintf("/blog/%d", i%keys))
				i++
			}
		})
	})
	if s.Stats().Available != true {
		b.Errorf("store unavailable during the benchmark: %s", log.String())
	}
}

// nopWriter is a reused, minimal http.ResponseWriter.
type nopWriter struct {
	h    http.Header
	code int
}

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(code int)        { w.code = code }
