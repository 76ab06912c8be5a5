package render_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
)

// origin is a counting Fetcher. URLs starting with /fail answer 500; others
// answer 200 with "data of <url>".
type origin struct {
	mu    sync.Mutex // protects calls
	calls map[string]int
}

func (o *origin) Fetch(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	o.mu.Lock()
	if o.calls == nil {
		o.calls = make(map[string]int)
	}
	o.calls[req.URL]++
	o.mu.Unlock()
	if strings.HasPrefix(req.URL, "/fail") {
		return &fetchcache.Response{Status: http.StatusInternalServerError, Body: []byte("oops")}, nil
	}
	return &fetchcache.Response{Status: http.StatusOK, Body: []byte("data of " + req.URL)}, nil
}

// count returns the number of origin calls for url.
func (o *origin) count(url string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[url]
}

// newCache returns a Data Cache over f and a fresh memory store, closed when
// the test ends.
func newCache(t *testing.T, f fetchcache.Fetcher) *fetchcache.Cache {
	t.Helper()
	c := fetchcache.New(fetchcache.Options{Store: store.NewMemory(store.MemoryOptions{}), Fetcher: f})
	t.Cleanup(func() { c.Close() })
	return c
}

// fetchPage returns a page that fetches req n times and writes the bodies.
func fetchPage(req fetchcache.Request, n int) render.Page {
	return render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		for range n {
			r := req
			resp, err := s.Fetch(ctx, &r)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "[%s]", resp.Body)
		}
		return nil
	})
}

// fetchLayout returns a layout that fetches req and writes its body around
// the child.
func fetchLayout(req fetchcache.Request) render.Layout {
	return render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		r := req
		resp, err := s.Fetch(ctx, &r)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "<nav %s>", resp.Body)
		if err := child.Render(ctx, w); err != nil {
			return err
		}
		io.WriteString(w, "</nav>")
		return nil
	})
}

func TestFetchMemoized(t *testing.T) {
	tests := []struct {
		name string
		req  fetchcache.Request
		want render.Fetch // without Segment, URL and Key
	}{
		{
			name: "default",
			req:  fetchcache.Request{URL: "/api/posts", Tags: []string{"posts"}},
			want: render.Fetch{Status: regen.Miss, Revalidate: regen.Forever, Tags: []string{"posts"}},
		},
		{
			name: "revalidate 60",
			req:  fetchcache.Request{URL: "/api/posts", Revalidate: regen.Seconds(60)},
			want: render.Fetch{Status: regen.Miss, Revalidate: regen.Seconds(60), Declared: regen.Seconds(60)},
		},
		{
			name: "force-cache",
			req:  fetchcache.Request{URL: "/api/posts", Cache: regen.ForceCache},
			want: render.Fetch{Status: regen.Miss, Revalidate: regen.Forever, Cache: regen.ForceCache},
		},
		{
			name: "no-store",
			req:  fetchcache.Request{URL: "/api/posts", Cache: regen.NoStore},
			want: render.Fetch{Status: regen.Bypass, Revalidate: regen.Never, Cache: regen.NoStore, Uncached: true},
		},
		{
			name: "revalidate 0",
			req:  fetchcache.Request{URL: "/api/posts", Revalidate: regen.Never},
			want: render.Fetch{Status: regen.Bypass, Revalidate: regen.Never, Declared: regen.Never, Uncached: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &origin{}
			res, err := render.Render(t.Context(), &render.Job{
				Route: "/blog",
				Path:  "/blog",
				Segments: []render.Segment{
					layoutSeg("/", fetchLayout(tt.req)),
					pageSeg("/blog", fetchPage(tt.req, 2)),
				},
				Data: newCache(t, o),
			})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if n := o.count(tt.req.URL); n != 1 {
				t.Errorf("origin calls for %s = %d; want 1", tt.req.URL, n)
			}
			wantBody := "<nav data of /api/posts>[data of /api/posts][data of /api/posts]</nav>"
			if diff := cmp.Diff(wantBody, string(res.Body)); diff != "" {
				t.Errorf("Render body mismatch (-want +got):\n%s", diff)
			}
			want := tt.want
			want.Segment = `layout "/"` // the root layout renders first
			want.URL = tt.req.URL
			want.Key = fetchcache.Key(&tt.req)
			if diff := cmp.Diff(render.Record{Fetches: []render.Fetch{want}}, res.Record); diff != "" {
				t.Errorf("Record mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFetchDistinctCalls(t *testing.T) {
	o := &origin{}
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		for _, req := range []fetchcache.Request{
			{URL: "/api/a"},
			{URL: "/api/b"},
			{URL: "/api/a", Revalidate: regen.Seconds(60)}, // another revalidate: another Data Cache call
			{URL: "/api/a"},
			{URL: "/api/b"},
		} {
			if _, err := s.Fetch(ctx, &req); err != nil {
				return err
			}
		}
		return nil
	})
	res, err := render.Render(t.Context(), &render.Job{
		Route:    "/",
		Path:     "/",
		Segments: []render.Segment{pageSeg("/", page)},
		Data:     newCache(t, o),
	})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	// The second call for /api/a reaches the Data Cache, which answers it
	// from the entry the first one stored.
	for url, want := range map[string]int{"/api/a": 1, "/api/b": 1} {
		if n := o.count(url); n != want {
			t.Errorf("origin calls for %s = %d; want %d", url, n, want)
		}
	}
	var got []string
	for _, f := range res.Record.Fetches {
		got = append(got, fmt.Sprintf("%s revalidate %v %v", f.URL, f.Revalidate, f.Status))
	}
	want := []string{"/api/a revalidate false MISS", "/api/b revalidate false MISS", "/api/a revalidate 60 HIT"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded fetches mismatch (-want +got):\n%s", diff)
	}
}

func TestFetchConcurrent(t *testing.T) {
	tests := []struct {
		name string
		req  fetchcache.Request
	}{
		{"cached", fetchcache.Request{URL: "/api/posts", Revalidate: regen.Seconds(60)}},
		{"uncached", fetchcache.Request{URL: "/api/posts", Cache: regen.NoStore}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &origin{}
			page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
				var wg sync.WaitGroup
				errs := make([]error, 50)
				for i := range errs {
					wg.Go(func() {
						req := tt.req
						resp, err := s.Fetch(ctx, &req)
						if err == nil && string(resp.Body) != "data of /api/posts" {
							err = fmt.Errorf("body %q", resp.Body)
						}
						errs[i] = err
					})
				}
				wg.Wait()
				return errors.Join(errs...)
			})
			res, err := render.Render(t.Context(), &render.Job{
				Route:    "/",
				Path:     "/",
				Segments: []render.Segment{pageSeg("/", page)},
				Data:     newCache(t, o),
			})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if n := o.count(tt.req.URL); n != 1 {
				t.Errorf("origin calls = %d; want 1", n)
			}
			if n := len(res.Record.Fetches); n != 1 {
				t.Errorf("recorded fetches = %d; want 1", n)
			}
		})
	}
}

// TestFetchLeaderGivesUp checks that a caller whose own context ends while
// others wait for its fetch does not hand them its context's error.
func TestFetchLeaderGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls sync.Map
		slow := fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
			n, _ := calls.LoadOrStore(req.URL, new(int))
			*n.(*int)++
			select {
			case <-release:
				return &fetchcache.Response{Status: http.StatusOK, Body: []byte("slow data")}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		})
		var errA, errB error
		var bodyB string
		page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			ctxA, cancelA := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() { _, errA = s.Fetch(ctxA, &fetchcache.Request{URL: "/api/slow"}) })
			synctest.Wait() // A leads the call and waits for the origin
			wg.Go(func() {
				resp, err := s.Fetch(ctx, &fetchcache.Request{URL: "/api/slow"})
				if err == nil {
					bodyB = string(resp.Body)
				}
				errB = err
			})
			synctest.Wait() // B waits for A's call
			cancelA()
			synctest.Wait()
			close(release)
			wg.Wait()
			return nil
		})
		res, err := render.Render(t.Context(), &render.Job{
			Route:    "/",
			Path:     "/",
			Segments: []render.Segment{pageSeg("/", page)},
			Data:     newCache(t, slow),
		})
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if !errors.Is(errA, context.Canceled) {
			t.Errorf("Fetch with a canceled context = %v; want context.Canceled", errA)
		}
		if errB != nil || bodyB != "slow data" {
			t.Errorf("Fetch sharing the canceled call = %q, %v; want %q, nil", bodyB, errB, "slow data")
		}
		if n := len(res.Record.Fetches); n != 1 {
			t.Errorf("recorded fetches = %d; want 1: %+v", n, res.Record.Fetches)
		}
	})
}

func TestFetchError(t *testing.T) {
	tests := []struct {
		name    string
		page    render.PageFunc
		wantErr string
		want    string
	}{
		{
			name: "returned",
			page: func(ctx context.Context, s *render.Scope, w io.Writer) error {
				_, err := s.Fetch(ctx, &fetchcache.Request{URL: "/fail/posts", Tags: []string{"posts"}})
				return err
			},
			wantErr: `render: route "/blog": page "/blog": `,
		},
		{
			name: "rendered around",
			page: func(ctx context.Context, s *render.Scope, w io.Writer) error {
				if _, err := s.Fetch(ctx, &fetchcache.Request{URL: "/fail/posts", Tags: []string{"posts"}}); err != nil {
					io.WriteString(w, "posts unavailable")
				}
				return nil
			},
			want: "posts unavailable",
		},
		{
			name: "not found",
			page: func(ctx context.Context, s *render.Scope, w io.Writer) error {
				if _, err := s.Fetch(ctx, &fetchcache.Request{URL: "/fail/posts", Tags: []string{"posts"}}); err != nil {
					return fmt.Errorf("%w: %w", render.ErrNotFound, err)
				}
				return nil
			},
			want: render.NotFoundBody,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := render.Render(t.Context(), &render.Job{
				Route:    "/blog",
				Path:     "/blog",
				Segments: []render.Segment{pageSeg("/blog", tt.page)},
				Data:     newCache(t, &origin{}),
			})
			if tt.wantErr != "" {
				var se *fetchcache.StatusError
				if !errors.As(err, &se) || se.Status != http.StatusInternalServerError {
					t.Fatalf("Render error = %v; want a *fetchcache.StatusError with status 500", err)
				}
				if !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Errorf("Render error = %q; want prefix %q", err, tt.wantErr)
				}
				if res != nil {
					t.Errorf("Render result = %+v; want nil", res)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(res.Body)); diff != "" {
				t.Errorf("Render body mismatch (-want +got):\n%s", diff)
			}
			// The failed fetch is recorded: the page depends on it.
			want := render.Record{Fetches: []render.Fetch{{
				Segment:    `page "/blog"`,
				URL:        "/fail/posts",
				Key:        fetchcache.Key(&fetchcache.Request{URL: "/fail/posts"}),
				Revalidate: regen.Forever,
				Tags:       []string{"posts"},
			}}}
			if diff := cmp.Diff(want, res.Record, cmpopts.IgnoreFields(render.Fetch{}, "Status")); diff != "" {
				t.Errorf("Record mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFetchModes(t *testing.T) {
	tests := []struct {
		name      string
		mode      regen.Dynamic
		def       regen.Revalidate // Job.Call.DefaultRevalidate
		req       fetchcache.Request
		wantErr   string // the ModeError's message
		wantCalls int    // origin calls over two renders
		want      render.Fetch
	}{
		{
			name:      "auto default uncached",
			mode:      regen.Auto,
			def:       regen.Never,
			req:       fetchcache.Request{URL: "/api/x"},
			wantCalls: 2,
			want:      render.Fetch{Status: regen.Bypass, Revalidate: regen.Never, Uncached: true},
		},
		{
			name:      "force-static default uncached becomes cached",
			mode:      regen.ForceStatic,
			def:       regen.Never,
			req:       fetchcache.Request{URL: "/api/x"},
			wantCalls: 1,
			want:      render.Fetch{Status: regen.Hit, Revalidate: regen.Forever},
		},
		{
			name:      "force-static keeps a declared revalidate",
			mode:      regen.ForceStatic,
			def:       regen.Never,
			req:       fetchcache.Request{URL: "/api/x", Revalidate: regen.Seconds(60)},
			wantCalls: 1,
			want:      render.Fetch{Status: regen.Hit, Revalidate: regen.Seconds(60), Declared: regen.Seconds(60)},
		},
		{
			name:      "force-static keeps an explicit no-store",
			mode:      regen.ForceStatic,
			def:       regen.Never,
			req:       fetchcache.Request{URL: "/api/x", Cache: regen.NoStore},
			wantCalls: 2,
			want:      render.Fetch{Status: regen.Bypass, Revalidate: regen.Never, Cache: regen.NoStore, Uncached: true},
		},
		{
			name:      "error cached",
			mode:      regen.DynamicError,
			req:       fetchcache.Request{URL: "/api/x", Revalidate: regen.Seconds(60)},
			wantCalls: 1,
			want:      render.Fetch{Status: regen.Hit, Revalidate: regen.Seconds(60), Declared: regen.Seconds(60)},
		},
		{
			name:    "error no-store",
			mode:    regen.DynamicError,
			req:     fetchcache.Request{URL: "/api/x", Cache: regen.NoStore},
			wantErr: `render: route "/x": page "/x": dynamic = "error" but the render made an uncached fetch /api/x (give it a revalidate or force-cache, or use force-static or force-dynamic)`,
		},
		{
			name:    "error revalidate 0",
			mode:    regen.DynamicError,
			req:     fetchcache.Request{URL: "/api/x", Revalidate: regen.Never},
			wantErr: `render: route "/x": page "/x": dynamic = "error" but the render made an uncached fetch /api/x (give it a revalidate or force-cache, or use force-static or force-dynamic)`,
		},
		{
			name:    "error default uncached",
			mode:    regen.DynamicError,
			def:     regen.Never,
			req:     fetchcache.Request{URL: "/api/x"},
			wantErr: `render: route "/x": page "/x": dynamic = "error" but the render made an uncached fetch /api/x (give it a revalidate or force-cache, or use force-static or force-dynamic)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &origin{}
			data := newCache(t, o)
			var res *render.Result
			var err error
			for range 2 {
				res, err = render.Render(t.Context(), &render.Job{
					Route: "/x",
					Path:  "/x",
					Mode:  tt.mode,
					// The page ignores the fetch's error: error mode fails the render anyway.
					Segments: []render.Segment{pageSeg("/x", render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
						req := tt.req
						s.Fetch(ctx, &req)
						return nil
					}))},
					Data: data,
					Call: fetchcache.Call{DefaultRevalidate: tt.def},
				})
			}
			if n := o.count(tt.req.URL); n != tt.wantCalls {
				t.Errorf("origin calls over two renders = %d; want %d", n, tt.wantCalls)
			}
			if tt.wantErr != "" {
				var me *render.ModeError
				if !errors.As(err, &me) || res != nil {
					t.Fatalf("Render = %+v, %v; want nil, a *ModeError", res, err)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("Render error =\n\t%s\nwant\n\t%s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			want := tt.want
			want.Segment, want.URL, want.Key = `page "/x"`, tt.req.URL, fetchcache.Key(&tt.req)
			want.Cache, want.Declared = tt.req.Cache, tt.req.Revalidate // as requested
			if diff := cmp.Diff(render.Record{Fetches: []render.Fetch{want}}, res.Record); diff != "" {
				t.Errorf("Record of the second render mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFetchErrorModeReturnsModeError(t *testing.T) {
	var got error
	_, err := render.Render(t.Context(), &render.Job{
		Route: "/x",
		Path:  "/x",
		Mode:  regen.DynamicError,
		Segments: []render.Segment{pageSeg("/x", render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			_, got = s.Fetch(ctx, &fetchcache.Request{URL: "/api/x", Cache: regen.NoStore})
			return got
		}))},
		Data: newCache(t, &origin{}),
	})
	var me *render.ModeError
	if !errors.As(got, &me) || me.API != "uncached fetch /api/x" {
		t.Errorf("Fetch in error mode = %v; want a *ModeError for uncached fetch /api/x", got)
	}
	if !errors.As(err, &me) {
		t.Errorf("Render = %v; want a *ModeError", err)
	}
}

func TestMemoize(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	query := func(ctx context.Context) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return []byte("rows"), nil
	}
	memo := func(ctx context.Context, s *render.Scope) (string, error) {
		b, err := s.Memoize(ctx, []string{"posts", "recent"}, fetchcache.MemoOptions{Revalidate: regen.Seconds(30), Tags: []string{"posts"}}, query)
		return string(b), err
	}
	layout := render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		b, err := memo(ctx, s)
		fmt.Fprintf(w, "<%s>", b)
		if err := child.Render(ctx, w); err != nil {
			return err
		}
		return err
	})
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { memo(ctx, s) })
		}
		wg.Wait()
		b, err := memo(ctx, s)
		io.WriteString(w, b)
		return err
	})
	res, err := render.Render(t.Context(), &render.Job{
		Route:    "/",
		Path:     "/",
		Segments: []render.Segment{layoutSeg("/", layout), pageSeg("/", page)},
		Data:     newCache(t, &origin{}),
	})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if calls != 1 {
		t.Errorf("Memoize calls of fn = %d; want 1", calls)
	}
	if got, want := string(res.Body), "<rows>rows"; got != want {
		t.Errorf("Render body = %q; want %q", got, want)
	}
	want := render.Record{Fetches: []render.Fetch{{
		Segment:    `layout "/"`,
		URL:        "memoize:posts,recent",
		Status:     regen.Miss,
		Revalidate: regen.Seconds(30),
		Declared:   regen.Seconds(30),
		Tags:       []string{"posts"},
	}}}
	if diff := cmp.Diff(want, res.Record, cmpopts.IgnoreFields(render.Fetch{}, "Key")); diff != "" {
		t.Errorf("Record mismatch (-want +got):\n%s", diff)
	}
	if len(res.Record.Fetches) == 1 && res.Record.Fetches[0].Key == "" {
		t.Errorf("recorded Memoize Key is empty; want the Data Cache's key")
	}
}

func TestFetchWithoutDataCache(t *testing.T) {
	_, err := render.Render(t.Context(), &render.Job{
		Route:    "/",
		Path:     "/",
		Segments: []render.Segment{pageSeg("/", fetchPage(fetchcache.Request{URL: "/api/x"}, 1))},
	})
	want := `render: route "/": page "/": render: fetch /api/x: no Data Cache (Job.Data is nil)`
	if err == nil || err.Error() != want {
		t.Errorf("Render without Data = %v; want %q", err, want)
	}
}

func TestMemoizeModes(t *testing.T) {
	tests := []struct {
		name      string
		mode      regen.Dynamic
		opts      fetchcache.MemoOptions
		wantCalls int // fn calls over two renders
		want      render.Fetch
		wantErr   string
	}{
		{
			name:      "auto default uncached",
			mode:      regen.Auto,
			wantCalls: 2,
			want:      render.Fetch{Status: regen.Bypass, Revalidate: regen.Never, Uncached: true},
		},
		{
			name:      "force-static default uncached becomes cached",
			mode:      regen.ForceStatic,
			wantCalls: 1,
			want:      render.Fetch{Status: regen.Hit, Revalidate: regen.Forever},
		},
		{
			name:      "error with a revalidate",
			mode:      regen.DynamicError,
			opts:      fetchcache.MemoOptions{Revalidate: regen.Seconds(30)},
			wantCalls: 1,
			want:      render.Fetch{Status: regen.Hit, Revalidate: regen.Seconds(30), Declared: regen.Seconds(30)},
		},
		{
			name:    "error default uncached",
			mode:    regen.DynamicError,
			wantErr: `render: route "/x": page "/x": dynamic = "error" but the render made an uncached fetch memoize:users,42 (give it a revalidate or force-cache, or use force-static or force-dynamic)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0 // fn runs in the page's goroutine, or in one the Data Cache waits for
			var mu sync.Mutex
			fn := func(ctx context.Context) ([]byte, error) {
				mu.Lock()
				defer mu.Unlock()
				calls++
				return []byte("ada"), nil
			}
			data := newCache(t, &origin{})
			var res *render.Result
			var err error
			for range 2 {
				res, err = render.Render(t.Context(), &render.Job{
					Route: "/x",
					Path:  "/x",
					Mode:  tt.mode,
					Segments: []render.Segment{pageSeg("/x", render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
						s.Memoize(ctx, []string{"users", "42"}, tt.opts, fn)
						return nil
					}))},
					Data: data,
					Call: fetchcache.Call{DefaultRevalidate: regen.Never},
				})
			}
			mu.Lock()
			defer mu.Unlock()
			if calls != tt.wantCalls {
				t.Errorf("fn calls over two renders = %d; want %d", calls, tt.wantCalls)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("Render error = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			want := tt.want
			want.Segment, want.URL = `page "/x"`, "memoize:users,42"
			if diff := cmp.Diff(render.Record{Fetches: []render.Fetch{want}}, res.Record, cmpopts.IgnoreFields(render.Fetch{}, "Key")); diff != "" {
				t.Errorf("Record of the second render mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScopeAfterRender checks that a scope kept past its render answers
// nothing and changes nothing.
func TestScopeAfterRender(t *testing.T) {
	var kept *render.Scope
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		kept = s
		return nil
	})
	res, err := render.Render(t.Context(), &render.Job{
		Route:    "/",
		Path:     "/",
		Request:  request(),
		Segments: []render.Segment{pageSeg("/", page)},
		Data:     newCache(t, &origin{}),
	})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if c := kept.Cookies(); c != nil {
		t.Errorf("Cookies() after the render = %v; want nil", c)
	}
	if _, err := kept.Fetch(t.Context(), &fetchcache.Request{URL: "/api/x"}); err == nil {
		t.Errorf("Fetch after the render = nil error; want an error")
	}
	if diff := cmp.Diff(render.Record{}, res.Record); diff != "" {
		t.Errorf("Record changed after the render (-want +got):\n%s", diff)
	}
}
