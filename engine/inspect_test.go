package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
)

// TestInspect follows one ISR path through the states Inspect and Lookup
// report: fresh, stale, a failed regeneration with its back-off, a
// tag revalidation in expire mode, and a path evicted from the store.
func TestInspect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var failing atomic.Bool
		page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			time.Sleep(2 * time.Second) // the render takes virtual time
			if failing.Load() {
				return errors.New("database down")
			}
			if _, err := s.Fetch(ctx, &fetchcache.Request{URL: "/api/posts", Tags: []string{"posts"}}); err != nil {
				return err
			}
			fmt.Fprintf(w, "post %s", s.Param("slug"))
			return nil
		})
		var site Site
		site.Page("/blog/[slug]", Page{Revalidate: sec(60), Render: page})
		site.Page("/about", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			_, err := io.WriteString(w, "about")
			return err
		})})
		var logs logBuffer
		e := newEngine(t, &site, Options{Fetcher: newOrigin(), Logger: logs.logger(), Expire: 10 * time.Minute})
		ctx := context.Background()
		start := time.Now()

		if got := e.Inspect(ctx, ""); len(got) != 0 {
			t.Fatalf("Inspect before any render = %v; want none", got)
		}
		if _, ok := e.Lookup(ctx, "/blog/a"); ok {
			t.Fatal("Lookup(/blog/a) before any render: ok")
		}
		get(e, "/blog/b")
		get(e, "/blog/a")
		get(e, "/about")

		got := e.Inspect(ctx, "/blog/[slug]")
		if len(got) != 2 || got[0].Path != "/blog/a" || got[1].Path != "/blog/b" {
			t.Fatalf("Inspect(/blog/[slug]) = %v; want /blog/a, /blog/b", got)
		}
		a := got[0]
		want := PathInfo{
			Path: "/blog/a", Route: "/blog/[slug]", State: StateFresh, Status: 200,
			Created: start.Add(2 * time.Second), Age: 2 * time.Second, Revalidate: sec(60), Expire: 10 * time.Minute,
			Tags: a.Tags, Size: a.Size,
			Render: RenderInfo{At: start.Add(2 * time.Second), Duration: 2 * time.Second},
		}
		if diff := cmp.Diff(want, a); diff != "" {
			t.Errorf("Inspect: /blog/a (-want +got):\n%s", diff)
		}
		if a.Tags[0] != "posts" || a.Size < int64(len("post a")) {
			t.Errorf("tags = %q, size = %d; want posts first and the body counted", a.Tags, a.Size)
		}
		if all := e.Inspect(ctx, ""); len(all) != 3 || all[0].Path != "/about" || all[0].Revalidate != regen.Forever {
			t.Errorf("Inspect(\"\") = %v; want /about (static) and both posts", all)
		}

		time.Sleep(60 * time.Second)
		if info, _ := e.Lookup(ctx, "/blog/a"); info.State != StateStale || info.Age != 62*time.Second {
			t.Errorf("after the interval: state %v, age %v; want stale, 62s", info.State, info.Age)
		}

		// A failed regeneration: the error and the back-off.
		failing.Store(true)
		get(e, "/blog/a")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		info, _ := e.Lookup(ctx, "/blog/a")
		failedAt := start.Add(66 * time.Second)
		if info.State != StateStale || info.Render.Error == "" || !info.Render.ErrorAt.Equal(failedAt) ||
			info.Render.Failures != 1 || !info.Render.Retry.Equal(failedAt.Add(DefaultRetryBackoff)) {
			t.Errorf("after a failed regeneration: %+v; want stale, the error at %v, 1 failure, retry 2s later", info, failedAt)
		}

		// A revalidation in expire mode.
		if err := e.RevalidateTag(ctx, "posts", regen.RevalidateExpire); err != nil {
			t.Fatal(err)
		}
		if info, _ := e.Lookup(ctx, "/blog/b"); info.State != StateExpired {
			t.Errorf("after RevalidateTag(expire): state %v; want expired", info.State)
		}

		// An entry gone from the store stays listed, as gone.
		if err := e.routes.Delete(ctx, "/blog/b"); err != nil {
			t.Fatal(err)
		}
		if info, ok := e.Lookup(ctx, "/blog/b"); !ok || info.State != StateGone || info.Render.At.IsZero() {
			t.Errorf("Lookup after the entry was deleted = %+v, %v; want gone, with its render", info, ok)
		}
		if _, ok := e.Lookup(ctx, "/nowhere"); ok {
			t.Error("Lookup(/nowhere): ok")
		}
	})
}

// TestInspectBounded: the index keeps the most recently rendered paths.
func TestInspectBounded(t *testing.T) {
	x := newPathIndex(3)
	now := time.Unix(1e9, 0)
	for i := range 5 {
		x.rendered(fmt.Sprintf("/p/%d", i), "/p/[n]", now, now.Add(time.Millisecond))
	}
	var got []string
	for _, p := range x.snapshot("") {
		got = append(got, p.path)
	}
	if diff := cmp.Diff([]string{"/p/2", "/p/3", "/p/4"}, got); diff != "" {
		t.Errorf("paths kept (-want +got):\n%s", diff)
	}
}

// TestInspectConcurrent runs Inspect beside renders and failures (for -race).
func TestInspectConcurrent(t *testing.T) {
	var site Site
	site.Page("/p/[n]", Page{Revalidate: sec(60), Render: fetchPage("p", nil)})
	e := newEngine(t, &site, Options{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				get(e, fmt.Sprintf("/p/%d", i*50+j))
				e.indexFailure(fmt.Sprintf("/p/%d", j), errors.New("x"), time.Now())
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			e.Inspect(context.Background(), "/p/[n]")
		}
	})
	wg.Wait()
	if n := len(e.Inspect(context.Background(), "")); n != 200 {
		t.Errorf("paths = %d; want 200", n)
	}
}

// BenchmarkInspect measures Inspect over the index of rendered paths, per
// path listed, beside its floor: reading one entry and its tags from the
// store, which Inspect does for each path.
func BenchmarkInspect(b *testing.B) {
	for _, n := range []int{100, MaxIndexedPaths} {
		b.Run(fmt.Sprintf("paths=%d", n), func(b *testing.B) {
			var site Site
			site.Page("/p/[n]", Page{Revalidate: sec(60), Render: fetchPage("p", nil)})
			e, err := New(&site, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			for i := range n {
				get(e, fmt.Sprintf("/p/%d", i))
			}
			ctx := context.Background()
			if got := len(e.Inspect(ctx, "")); got != n {
				b.Fatalf("Inspect lists %d paths; want %d", got, n)
			}
			b.Run("floor=GetTagged", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					store.GetTagged(ctx, e.store, "/p/1")
				}
			})
			b.Run("Inspect", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					e.Inspect(ctx, "")
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/path")
			})
		})
	}
}

// TestInspectPrerendered: Inspect also lists the prerendered paths another
// engine (a regen build, another instance) left in the store, and only
// those the store holds.
func TestInspectPrerendered(t *testing.T) {
	var site Site
	site.Page("/p/[id]", Page{Revalidate: sec(60), StaticParams: []render.Params{{"id": "a"}, {"id": "b"}},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			_, err := io.WriteString(w, "p "+s.Param("id"))
			return err
		})})
	st := store.NewMemory(store.MemoryOptions{})
	builder := newEngine(t, &site, Options{Store: st})
	ctx := context.Background()
	if _, err := builder.Prerender(ctx, PrerenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "/p/b"); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, &site, Options{Store: st})
	got := e.Inspect(ctx, "/p/[id]")
	if len(got) != 1 || got[0].Path != "/p/a" || got[0].State != StateFresh || got[0].Route != "/p/[id]" {
		t.Errorf("Inspect = %+v; want /p/a fresh, rendered by the other engine", got)
	}
	if all := e.Inspect(ctx, ""); len(all) != 1 {
		t.Errorf("Inspect(\"\") = %d paths; want 1", len(all))
	}
}
