package fetchcache_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/store"
)

const year = 365 * 24 * time.Hour

func TestFetchRevalidate(t *testing.T) {
	type step struct {
		after  time.Duration // slept before the fetch
		status regen.Status
		body   string
		calls  int64 // origin calls once background work is done
	}
	tests := []struct {
		name    string
		req     fetchcache.Request
		call    fetchcache.Call
		wantRev regen.Revalidate
		steps   []step
	}{
		{
			name:    "revalidate 60",
			req:     fetchcache.Request{Revalidate: regen.Seconds(60)},
			wantRev: regen.Seconds(60),
			steps: []step{
				{0, regen.Miss, "v1", 1},
				{30 * time.Second, regen.Hit, "v1", 1},
				{29 * time.Second, regen.Hit, "v1", 1},
				{time.Second, regen.Stale, "v1", 2},
				{0, regen.Hit, "v2", 2},
				{59 * time.Second, regen.Hit, "v2", 2},
				{time.Second, regen.Stale, "v2", 3},
				{time.Hour, regen.Stale, "v3", 4},
				{0, regen.Hit, "v4", 4},
			},
		},
		{
			name:    "nothing declared caches forever",
			wantRev: regen.Forever,
			steps: []step{
				{0, regen.Miss, "v1", 1},
				{year, regen.Hit, "v1", 1},
			},
		},
		{
			name:    "default revalidate",
			call:    fetchcache.Call{DefaultRevalidate: regen.Seconds(10)},
			wantRev: regen.Seconds(10),
			steps: []step{
				{0, regen.Miss, "v1", 1},
				{9 * time.Second, regen.Hit, "v1", 1},
				{time.Second, regen.Stale, "v1", 2},
				{0, regen.Hit, "v2", 2},
			},
		},
		{
			name:    "default revalidate Forever",
			call:    fetchcache.Call{DefaultRevalidate: regen.Forever},
			wantRev: regen.Forever,
			steps: []step{
				{0, regen.Miss, "v1", 1},
				{year, regen.Hit, "v1", 1},
			},
		},
		{
			name:    "declared revalidate beats the default",
			req:     fetchcache.Request{Revalidate: regen.Seconds(5)},
			call:    fetchcache.Call{DefaultRevalidate: regen.Seconds(10)},
			wantRev: regen.Seconds(5),
			steps: []step{
				{0, regen.Miss, "v1", 1},
				{5 * time.Second, regen.Stale, "v1", 2},
			},
		},
		{
			name:    "declared Forever beats the default",
			req:     fetchcache.Request{Revalidate: regen.Forever},
			call:    fetchcache.Call{DefaultRevalidate: regen.Seconds(10)},
			wantRev: regen.Forever,
			steps: []step{
				{0, regen.Miss, "v1", 1},
				{year, regen.Hit, "v1", 1},
			},
		},
		{
			name:    "force-cache in a dynamic route",
			req:     fetchcache.Request{Cache: regen.ForceCache},
			call:    fetchcache.Call{DefaultRevalidate: regen.Never},
			wantRev: regen.Forever,
			steps: []step{
				{0, regen.Miss, "v1", 1},
				{year, regen.Hit, "v1", 1},
			},
		},
		{
			name:    "force-cache takes the route's revalidate",
			req:     fetchcache.Request{Cache: regen.ForceCache},
			call:    fetchcache.Call{DefaultRevalidate: regen.Seconds(10)},
			wantRev: regen.Seconds(10),
			steps: []step{
				{0, regen.Miss, "v1", 1},
				{10 * time.Second, regen.Stale, "v1", 2},
			},
		},
		{
			name:    "force-cache with its own revalidate",
			req:     fetchcache.Request{Cache: regen.ForceCache, Revalidate: regen.Seconds(3)},
			call:    fetchcache.Call{DefaultRevalidate: regen.Never},
			wantRev: regen.Seconds(3),
			steps: []step{
				{0, regen.Miss, "v1", 1},
				{3 * time.Second, regen.Stale, "v1", 2},
			},
		},
		{
			name:    "no-store",
			req:     fetchcache.Request{Cache: regen.NoStore},
			wantRev: regen.Never,
			steps: []step{
				{0, regen.Bypass, "v1", 1},
				{0, regen.Bypass, "v2", 2},
				{time.Second, regen.Bypass, "v3", 3},
			},
		},
		{
			name:    "no-store wins over a declared revalidate",
			req:     fetchcache.Request{Cache: regen.NoStore, Revalidate: regen.Seconds(60)},
			wantRev: regen.Never,
			steps: []step{
				{0, regen.Bypass, "v1", 1},
				{0, regen.Bypass, "v2", 2},
			},
		},
		{
			name:    "revalidate 0",
			req:     fetchcache.Request{Revalidate: regen.Never},
			call:    fetchcache.Call{DefaultRevalidate: regen.Seconds(60)},
			wantRev: regen.Never,
			steps: []step{
				{0, regen.Bypass, "v1", 1},
				{0, regen.Bypass, "v2", 2},
			},
		},
		{
			name:    "revalidate 0 wins over force-cache",
			req:     fetchcache.Request{Cache: regen.ForceCache, Revalidate: regen.Never},
			wantRev: regen.Never,
			steps: []step{
				{0, regen.Bypass, "v1", 1},
				{0, regen.Bypass, "v2", 2},
			},
		},
		{
			name:    "default revalidate 0",
			call:    fetchcache.Call{DefaultRevalidate: regen.Never},
			wantRev: regen.Never,
			steps: []step{
				{0, regen.Bypass, "v1", 1},
				{0, regen.Bypass, "v2", 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{})
				req := tt.req
				req.URL = "https://api.example.com/posts"
				for i, s := range tt.steps {
					time.Sleep(s.after)
					body, res := e.fetch(t, &req, tt.call)
					synctest.Wait()
					if res.Status != s.status || body != s.body {
						t.Errorf("step %d: Fetch = %v %q; want %v %q", i, res.Status, body, s.status, s.body)
					}
					if got := e.origin.calls.Load(); got != s.calls {
						t.Errorf("step %d: origin called %d times; want %d", i, got, s.calls)
					}
					if res.Revalidate != tt.wantRev {
						t.Errorf("step %d: Result.Revalidate = %v; want %v", i, res.Revalidate, tt.wantRev)
					}
				}
				if got := e.log.len(); got != 0 {
					t.Errorf("logged %d records; want none", got)
				}
			})
		})
	}
}

func TestFetchResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, fetchcache.Options{})
		req := &fetchcache.Request{URL: "https://api.example.com/posts", Tags: []string{"posts"}}
		resp, res, err := e.c.Fetch(t.Context(), req, fetchcache.Call{ImplicitTags: []string{"_N_T_/blog"}})
		if err != nil {
			t.Fatal(err)
		}
		want := fetchcache.Result{
			Key:        fetchcache.Key(req),
			Status:     regen.Miss,
			Revalidate: regen.Forever,
			Tags:       []string{"posts"},
		}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("Fetch result mismatch (-want +got):\n%s", diff)
		}
		wantResp := &fetchcache.Response{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("v1")}
		if diff := cmp.Diff(wantResp, resp); diff != "" {
			t.Errorf("Fetch response mismatch (-want +got):\n%s", diff)
		}

		// The entry holds the explicit tags, then the implicit ones, and
		// the time the fetch started.
		it, ok, _ := e.store.Get(t.Context(), res.Key)
		if !ok {
			t.Fatalf("no entry stored under %q", res.Key)
		}
		if diff := cmp.Diff([]string{"posts", "_N_T_/blog"}, it.Tags); diff != "" {
			t.Errorf("stored tags mismatch (-want +got):\n%s", diff)
		}
		if !it.Created.Equal(time.Now()) || it.Revalidate != regen.Forever || it.Expire != 0 {
			t.Errorf("stored Created, Revalidate, Expire = %v, %v, %v; want %v, false, 0", it.Created, it.Revalidate, it.Expire, time.Now())
		}
	})
}

func TestFetchCallNow(t *testing.T) {
	// Call.Now, not the clock, dates a foreground fetch and judges its age.
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, fetchcache.Options{})
		req := &fetchcache.Request{URL: "https://api.example.com/posts", Revalidate: regen.Seconds(60)}
		at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		steps := []struct {
			now    time.Time
			status regen.Status
			body   string
		}{
			{at, regen.Miss, "v1"},
			{at.Add(59 * time.Second), regen.Hit, "v1"},
			{at.Add(60 * time.Second), regen.Stale, "v1"},
		}
		for i, s := range steps {
			body, res := e.fetch(t, req, fetchcache.Call{Now: s.now})
			if res.Status != s.status || body != s.body {
				t.Errorf("step %d: Fetch = %v %q; want %v %q", i, res.Status, body, s.status, s.body)
			}
		}
		synctest.Wait()
		e.checkCalls(t, 2)
	})
}

func TestFetchConcurrentMisses(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
	}{
		{"slow origin", time.Second},
		{"instant origin", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{})
				e.origin.delay = tt.delay
				req := &fetchcache.Request{URL: "https://api.example.com/posts"}
				const n = 1000
				var (
					wg      sync.WaitGroup
					mu      sync.Mutex
					answers = map[string]int{}
				)
				for range n {
					wg.Go(func() {
						body, res := e.fetch(t, req, fetchcache.Call{})
						mu.Lock()
						answers[res.Status.String()+" "+body]++
						mu.Unlock()
					})
				}
				wg.Wait()
				e.checkCalls(t, 1)
				total := 0
				for a, k := range answers {
					if a != "MISS v1" && a != "HIT v1" {
						t.Errorf("%d callers got %q; want MISS or HIT v1", k, a)
					}
					total += k
				}
				if total != n {
					t.Errorf("%d answers; want %d", total, n)
				}
				if tt.delay > 0 && answers["MISS v1"] != n {
					t.Errorf("%d callers got MISS v1; want all %d, waiting for one call", answers["MISS v1"], n)
				}
			})
		})
	}
}

func TestFetchConcurrentStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, fetchcache.Options{})
		req := &fetchcache.Request{URL: "https://api.example.com/posts", Revalidate: regen.Seconds(60)}
		e.fetch(t, req, fetchcache.Call{})
		time.Sleep(time.Minute)
		e.origin.delay = time.Second

		const n = 1000
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				body, res := e.fetch(t, req, fetchcache.Call{})
				if res.Status != regen.Stale || body != "v1" {
					t.Errorf("Fetch = %v %q; want STALE v1", res.Status, body)
				}
			})
		}
		wg.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		e.checkCalls(t, 2)

		body, res := e.fetch(t, req, fetchcache.Call{})
		if res.Status != regen.Hit || body != "v2" {
			t.Errorf("after the refresh, Fetch = %v %q; want HIT v2", res.Status, body)
		}
	})
}

func TestFetchRefreshFailure(t *testing.T) {
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{}) // RetryBackoff 2s
				req := &fetchcache.Request{URL: "https://api.example.com/posts", Revalidate: regen.Seconds(60)}
				e.fetch(t, req, fetchcache.Call{})
				e.origin.failWith(f.fail)

				steps := []struct {
					after  time.Duration
					body   string
					status regen.Status
					calls  int64
					logs   int
				}{
					{time.Minute, "v1", regen.Stale, 2, 1}, // refresh fails: back off 2s
					{0, "v1", regen.Stale, 2, 1},           // backing off
					{1999 * time.Millisecond, "v1", regen.Stale, 2, 1},
					{time.Millisecond, "v1", regen.Stale, 3, 2}, // retry fails: back off 4s
					{3999 * time.Millisecond, "v1", regen.Stale, 3, 2},
					{time.Millisecond, "v1", regen.Stale, 4, 3}, // back off 8s
					{7999 * time.Millisecond, "v1", regen.Stale, 4, 3},
					{time.Millisecond, "v1", regen.Stale, 5, 4}, // back off 16s
				}
				for i, s := range steps {
					time.Sleep(s.after)
					body, res := e.fetch(t, req, fetchcache.Call{})
					synctest.Wait()
					if res.Status != s.status || body != s.body {
						t.Errorf("step %d: Fetch = %v %q; want %v %q", i, res.Status, body, s.status, s.body)
					}
					if got := e.origin.calls.Load(); got != s.calls {
						t.Errorf("step %d: origin called %d times; want %d", i, got, s.calls)
					}
					if got := e.log.len(); got != s.logs {
						t.Errorf("step %d: logged %d records; want %d", i, got, s.logs)
					}
				}
				a := e.log.attrs(0)
				if a["key"] != fetchcache.Key(req) || a["url"] != req.URL || a["error"] == "" {
					t.Errorf("log record = %v; want the key, the URL and the error", a)
				}

				// The origin heals: the next try succeeds and resets the back-off.
				e.origin.failWith(nil)
				time.Sleep(16 * time.Second)
				e.fetch(t, req, fetchcache.Call{})
				synctest.Wait()
				e.checkCalls(t, 6)
				body, res := e.fetch(t, req, fetchcache.Call{})
				if res.Status != regen.Hit || body != "v6" {
					t.Errorf("after healing, Fetch = %v %q; want HIT v6", res.Status, body)
				}
				e.origin.failWith(f.fail)
				time.Sleep(time.Minute)
				e.fetch(t, req, fetchcache.Call{})
				synctest.Wait()
				time.Sleep(2 * time.Second) // the back-off starts over at 2s
				e.fetch(t, req, fetchcache.Call{})
				synctest.Wait()
				e.checkCalls(t, 8)
			})
		})
	}
}

func TestFetchRetryBackoffCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, fetchcache.Options{RetryBackoff: 2 * time.Minute})
		req := &fetchcache.Request{URL: "https://api.example.com/posts", Revalidate: regen.Seconds(1)}
		e.fetch(t, req, fetchcache.Call{})
		e.origin.failWith(failures[0].fail)
		// Stale after 1s; then waits of 2m, 4m, 8m capped to 5m, 5m.
		for i, wait := range []time.Duration{time.Second, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
			time.Sleep(wait - time.Millisecond)
			e.fetch(t, req, fetchcache.Call{})
			synctest.Wait()
			e.checkCalls(t, int64(1+i))
			time.Sleep(time.Millisecond)
			e.fetch(t, req, fetchcache.Call{})
			synctest.Wait()
			e.checkCalls(t, int64(2+i))
		}
	})
}

func TestFetchRefreshStale(t *testing.T) {
	tests := []struct {
		name       string
		fail       fetchcache.FetcherFunc
		wantStatus regen.Status
		wantBody   string
		wantLogs   int
	}{
		{"refresh succeeds", nil, regen.Miss, "v2", 0},
		{"refresh fails with an error", failures[0].fail, regen.Stale, "v1", 1},
		{"refresh answers 503", failures[1].fail, regen.Stale, "v1", 1},
		{"refresh panics", failures[2].fail, regen.Stale, "v1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{})
				req := &fetchcache.Request{URL: "https://api.example.com/posts", Revalidate: regen.Seconds(60)}
				e.fetch(t, req, fetchcache.Call{})
				time.Sleep(time.Minute)
				e.origin.failWith(tt.fail)
				e.origin.delay = time.Second

				start := time.Now()
				body, res := e.fetch(t, req, fetchcache.Call{RefreshStale: true})
				if res.Status != tt.wantStatus || body != tt.wantBody {
					t.Errorf("Fetch = %v %q; want %v %q", res.Status, body, tt.wantStatus, tt.wantBody)
				}
				if waited := time.Since(start); waited != time.Second {
					t.Errorf("Fetch returned after %v; want 1s, the refresh's time", waited)
				}
				e.checkCalls(t, 2)
				if got := e.log.len(); got != tt.wantLogs {
					t.Errorf("logged %d records; want %d", got, tt.wantLogs)
				}
			})
		})
	}
}

func TestFetchRefreshStaleJoinsBackgroundRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, fetchcache.Options{})
		req := &fetchcache.Request{URL: "https://api.example.com/posts", Revalidate: regen.Seconds(60)}
		e.fetch(t, req, fetchcache.Call{})
		time.Sleep(time.Minute)
		e.origin.delay = time.Second

		if body, res := e.fetch(t, req, fetchcache.Call{}); res.Status != regen.Stale || body != "v1" {
			t.Errorf("Fetch = %v %q; want STALE v1", res.Status, body)
		}
		time.Sleep(500 * time.Millisecond) // the background refresh is halfway
		start := time.Now()
		if body, res := e.fetch(t, req, fetchcache.Call{RefreshStale: true}); res.Status != regen.Miss || body != "v2" {
			t.Errorf("Fetch(RefreshStale) = %v %q; want MISS v2", res.Status, body)
		}
		if waited := time.Since(start); waited != 500*time.Millisecond {
			t.Errorf("Fetch(RefreshStale) returned after %v; want 500ms", waited)
		}
		e.checkCalls(t, 2)
	})
}

// TestFetchRefreshStaleSkipsCallBeforeRevalidation: a caller that must not
// use stale data (RefreshStale, a regeneration) does not take the answer of
// a call it joined that started before the entry's tags were revalidated:
// that answer may hold the content the revalidation replaced.
func TestFetchRefreshStaleSkipsCallBeforeRevalidation(t *testing.T) {
	tests := []struct {
		name  string
		first bool // the call in flight is the first fetch (a miss), not a background refresh
		mode  regen.RevalidateMode
	}{
		{"background refresh, stale", false, regen.RevalidateStale},
		{"background refresh, expire", false, regen.RevalidateExpire},
		{"miss, stale", true, regen.RevalidateStale},
		{"miss, expire", true, regen.RevalidateExpire},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{})
				req := &fetchcache.Request{URL: "https://api.example.com/posts", Revalidate: regen.Seconds(60), Tags: []string{"posts"}}
				e.origin.delay = time.Second
				wantCalls, want := int64(2), "v2"
				if tt.first {
					go e.c.Fetch(context.Background(), req, fetchcache.Call{}) // v1, made from 0s to 1s
				} else {
					e.fetch(t, req, fetchcache.Call{})
					time.Sleep(time.Minute)
					e.fetch(t, req, fetchcache.Call{}) // STALE; refreshes to v2 in the background, over 1s
					wantCalls, want = 3, "v3"
				}
				time.Sleep(500 * time.Millisecond)
				e.revalidate(t, tt.mode, "posts") // the posts change while the call is in flight
				start := time.Now()
				if body, _ := e.fetch(t, req, fetchcache.Call{RefreshStale: true}); body != want {
					t.Errorf("Fetch(RefreshStale) = %q; want %q, fetched after the revalidation", body, want)
				}
				if waited := time.Since(start); waited != 1500*time.Millisecond {
					t.Errorf("Fetch(RefreshStale) returned after %v; want 1.5s (the call in flight, then its own)", waited)
				}
				e.checkCalls(t, wantCalls)
			})
		})
	}
}

func TestFetchTagRevalidation(t *testing.T) {
	tests := []struct {
		name       string
		stored     []string // the implicit tags of the call that stores the entry
		implicit   []string // the implicit tags of the calls that read it
		revalidate string
		mode       regen.RevalidateMode
		want       regen.Status // of the first read after the revalidation
	}{
		{"explicit tag, stale", nil, nil, "posts", regen.RevalidateStale, regen.Stale},
		{"explicit tag, expire", nil, nil, "posts", regen.RevalidateExpire, regen.Miss},
		{"stored implicit tag, stale", []string{"_N_T_/blog"}, nil, "_N_T_/blog", regen.RevalidateStale, regen.Stale},
		{"stored implicit tag, expire", []string{"_N_T_/blog"}, nil, "_N_T_/blog", regen.RevalidateExpire, regen.Miss},
		{"caller's implicit tag, stale", nil, []string{"_N_T_/shop"}, "_N_T_/shop", regen.RevalidateStale, regen.Stale},
		{"caller's implicit tag, expire", nil, []string{"_N_T_/shop"}, "_N_T_/shop", regen.RevalidateExpire, regen.Miss},
		{"other tag", []string{"_N_T_/blog"}, []string{"_N_T_/shop"}, "comments", regen.RevalidateExpire, regen.Hit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{})
				req := &fetchcache.Request{URL: "https://api.example.com/posts", Tags: []string{"posts"}}
				e.fetch(t, req, fetchcache.Call{ImplicitTags: tt.stored})
				time.Sleep(time.Second)
				e.revalidate(t, tt.mode, tt.revalidate)
				e.origin.delay = time.Second

				read := fetchcache.Call{ImplicitTags: tt.implicit}
				start := time.Now()
				body, res := e.fetch(t, req, read)
				waited := time.Since(start)
				switch tt.want {
				case regen.Stale: // served at once, refreshed in the background
					if res.Status != regen.Stale || body != "v1" || waited != 0 {
						t.Errorf("Fetch = %v %q after %v; want STALE v1 at once", res.Status, body, waited)
					}
				case regen.Miss: // the caller waits for a fresh value
					if res.Status != regen.Miss || body != "v2" || waited != time.Second {
						t.Errorf("Fetch = %v %q after %v; want MISS v2 after 1s", res.Status, body, waited)
					}
				case regen.Hit:
					if res.Status != regen.Hit || body != "v1" {
						t.Errorf("Fetch = %v %q; want HIT v1", res.Status, body)
					}
				}
				time.Sleep(time.Second)
				synctest.Wait()

				wantCalls, wantBody := int64(2), "v2"
				if tt.want == regen.Hit {
					wantCalls, wantBody = 1, "v1"
				}
				e.checkCalls(t, wantCalls)
				if body, res := e.fetch(t, req, read); res.Status != regen.Hit || body != wantBody {
					t.Errorf("next Fetch = %v %q; want HIT %q", res.Status, body, wantBody)
				}
			})
		})
	}
}

func TestFetchNon2xx(t *testing.T) {
	tests := []struct {
		name   string
		status int
		cache  regen.CacheMode
	}{
		{"404", http.StatusNotFound, regen.CacheDefault},
		{"500", http.StatusInternalServerError, regen.CacheDefault},
		{"304", http.StatusNotModified, regen.CacheDefault},
		{"404 uncached", http.StatusNotFound, regen.NoStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{})
				e.origin.failWith(func(context.Context, *fetchcache.Request) (*fetchcache.Response, error) {
					return &fetchcache.Response{Status: tt.status, Body: []byte("no")}, nil
				})
				req := &fetchcache.Request{URL: "https://api.example.com/missing", Cache: tt.cache}
				for i := range 3 {
					resp, _, err := e.c.Fetch(t.Context(), req, fetchcache.Call{})
					var se *fetchcache.StatusError
					if !errors.As(err, &se) || se.Status != tt.status || se.URL != req.URL {
						t.Fatalf("Fetch error = %v; want a *StatusError %d for %q", err, tt.status, req.URL)
					}
					if resp != nil {
						t.Errorf("Fetch response = %+v; want nil", resp)
					}
					e.checkCalls(t, int64(i+1))
				}
				if _, ok, _ := e.store.Get(t.Context(), fetchcache.Key(req)); ok {
					t.Errorf("a %d answer was stored", tt.status)
				}
			})
		})
	}
}

func TestStatusErrorMessage(t *testing.T) {
	tests := []struct {
		err  *fetchcache.StatusError
		want string
	}{
		{&fetchcache.StatusError{URL: "https://a.example/x", Status: 404}, `fetchcache: fetch "https://a.example/x": status 404 Not Found`},
		{&fetchcache.StatusError{URL: "/api", Status: 599}, `fetchcache: fetch "/api": status 599`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
	}
}

func TestFetchOriginFailure(t *testing.T) {
	tests := []struct {
		name    string
		fail    fetchcache.FetcherFunc
		cache   regen.CacheMode
		wantErr string
	}{
		{"error", failures[0].fail, regen.CacheDefault, `fetchcache: fetch "https://api.example.com/posts": connection refused`},
		{"error uncached", failures[0].fail, regen.NoStore, `fetchcache: fetch "https://api.example.com/posts": connection refused`},
		{"panic", failures[2].fail, regen.CacheDefault, `fetchcache: fetch "https://api.example.com/posts": panic: origin exploded`},
		{"panic uncached", failures[2].fail, regen.NoStore, `fetchcache: fetch "https://api.example.com/posts": panic: origin exploded`},
		{"no response", func(context.Context, *fetchcache.Request) (*fetchcache.Response, error) {
			return nil, nil
		}, regen.CacheDefault, `fetchcache: fetch "https://api.example.com/posts": fetcher returned neither a response nor an error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{})
				e.origin.failWith(tt.fail)
				req := &fetchcache.Request{URL: "https://api.example.com/posts", Cache: tt.cache}
				for i := range 2 {
					_, _, err := e.c.Fetch(t.Context(), req, fetchcache.Call{})
					if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
						t.Fatalf("Fetch error = %v; want %s", err, tt.wantErr)
					}
					if tt.fail != nil && strings.Contains(tt.name, "error") && !errors.Is(err, errOrigin) {
						t.Errorf("Fetch error = %v; want it to wrap the origin's", err)
					}
					e.checkCalls(t, int64(i+1))
				}
				if got := e.log.len(); got != 0 {
					t.Errorf("logged %d records; want none: the caller gets the error", got)
				}
				// The origin heals: nothing was stored, so this is a miss.
				e.origin.failWith(nil)
				if body, res := e.fetch(t, req, fetchcache.Call{}); body != "v3" {
					t.Errorf("after healing, Fetch = %v %q; want v3", res.Status, body)
				}
			})
		})
	}
}

func TestFetchCanceledCaller(t *testing.T) {
	tests := []struct {
		name   string
		cancel int // which caller gives up: 0 leads the call, 1 waits for it
	}{
		{"leader gives up", 0},
		{"waiter gives up", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{})
				var originErr error
				e.origin.failWith(func(ctx context.Context, _ *fetchcache.Request) (*fetchcache.Response, error) {
					time.Sleep(time.Second)
					originErr = ctx.Err()
					return &fetchcache.Response{Status: 200, Body: []byte("fresh")}, nil
				})
				req := &fetchcache.Request{URL: "https://api.example.com/posts"}

				type answer struct {
					body string
					err  error
				}
				var (
					cancels [2]context.CancelFunc
					answers [2]chan answer
				)
				for i := range 2 {
					ctx, cancel := context.WithCancel(t.Context())
					cancels[i], answers[i] = cancel, make(chan answer, 1)
					go func() {
						resp, _, err := e.c.Fetch(ctx, req, fetchcache.Call{})
						a := answer{err: err}
						if resp != nil {
							a.body = string(resp.Body)
						}
						answers[i] <- a
					}()
					synctest.Wait() // caller 0 leads, caller 1 joins
				}
				time.Sleep(500 * time.Millisecond)
				cancels[tt.cancel]()
				synctest.Wait()
				if a := <-answers[tt.cancel]; !errors.Is(a.err, context.Canceled) {
					t.Errorf("the caller who gave up got %q, %v; want context.Canceled at once", a.body, a.err)
				}
				other := 1 - tt.cancel
				if a := <-answers[other]; a.err != nil || a.body != "fresh" {
					t.Errorf("the other caller got %q, %v; want \"fresh\"", a.body, a.err)
				}
				if originErr != nil {
					t.Errorf("the origin's ctx ended: %v", originErr)
				}
				if body, res := e.fetch(t, req, fetchcache.Call{}); res.Status != regen.Hit || body != "fresh" {
					t.Errorf("next Fetch = %v %q; want HIT \"fresh\", stored", res.Status, body)
				}
				e.checkCalls(t, 1)
				cancels[other]()
			})
		})
	}
}

func TestFetchCanceledAlone(t *testing.T) {
	// A caller who gives up alone still leaves the answer in the cache, and
	// Close waits for it.
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, fetchcache.Options{})
		e.origin.delay = time.Second
		req := &fetchcache.Request{URL: "https://api.example.com/posts"}
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, _, err := e.c.Fetch(ctx, req, fetchcache.Call{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Fetch error = %v; want context.DeadlineExceeded", err)
		}
		e.c.Close()
		if time.Since(start) != time.Second {
			t.Errorf("Close returned at %v; want 1s, after the origin answered", time.Now())
		}
		if body, res := e.fetch(t, req, fetchcache.Call{}); res.Status != regen.Hit || body != "v1" {
			t.Errorf("next Fetch = %v %q; want HIT v1", res.Status, body)
		}
	})
}

func TestFetchInvalid(t *testing.T) {
	long := strings.Repeat("x", regen.MaxTagLen+1)
	many := make([]string, regen.MaxTags+1)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	tests := []struct {
		name    string
		req     fetchcache.Request
		call    fetchcache.Call
		wantTag bool // the error wraps regen.ErrTag
	}{
		// Tags that break the limits are dropped, not an error:
		// TestFetchDropsBadTags in tags_test.go.
		{"negative revalidate and bad tags", fetchcache.Request{Revalidate: regen.Seconds(-5), Tags: []string{"ok", long}}, fetchcache.Call{}, false},
		{"negative revalidate and too many tags", fetchcache.Request{Revalidate: regen.Seconds(-5), Tags: many}, fetchcache.Call{}, false},
		{"negative revalidate", fetchcache.Request{Revalidate: regen.Seconds(-5)}, fetchcache.Call{}, false},
		{"negative default revalidate", fetchcache.Request{}, fetchcache.Call{DefaultRevalidate: regen.Seconds(-5)}, false},
		{"unknown cache mode", fetchcache.Request{Cache: 7}, fetchcache.Call{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{})
				req := tt.req
				req.URL = "https://api.example.com/posts"
				_, _, err := e.c.Fetch(t.Context(), &req, tt.call)
				if err == nil || !strings.HasPrefix(err.Error(), `fetchcache: fetch "https://api.example.com/posts": `) {
					t.Errorf("Fetch error = %v; want one naming the fetch", err)
				}
				if got := errors.Is(err, regen.ErrTag); got != tt.wantTag {
					t.Errorf("errors.Is(%v, regen.ErrTag) = %v; want %v", err, got, tt.wantTag)
				}
				e.checkCalls(t, 0)
			})
		})
	}
}

func TestFetchTagLimitsReached(t *testing.T) {
	// Exactly at the limits is fine.
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, fetchcache.Options{})
		tags := make([]string, regen.MaxTags)
		for i := range tags {
			tags[i] = fmt.Sprintf("%0*d", regen.MaxTagLen, i)
		}
		req := &fetchcache.Request{URL: "https://api.example.com/posts", Tags: tags}
		if body, res := e.fetch(t, req, fetchcache.Call{}); res.Status != regen.Miss || body != "v1" {
			t.Errorf("Fetch = %v %q; want MISS v1", res.Status, body)
		}
	})
}

func TestFetchKeepsRequest(t *testing.T) {
	// A background refresh fetches the request as it was when the stale
	// read was made, even if the caller reuses it afterwards.
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, fetchcache.Options{})
		var (
			mu   sync.Mutex
			seen []string
		)
		e.origin.failWith(func(_ context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
			time.Sleep(time.Second)
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, req.Header.Get("X-Token")+" "+string(req.Body))
			return &fetchcache.Response{Status: 200, Body: []byte("ok")}, nil
		})
		req := &fetchcache.Request{
			Method: "POST", URL: "https://api.example.com/search", Revalidate: regen.Seconds(60),
			Header: http.Header{"X-Token": {"a"}}, Body: []byte("q=1"),
		}
		e.fetch(t, req, fetchcache.Call{})
		time.Sleep(time.Minute)
		e.fetch(t, req, fetchcache.Call{})
		req.Header.Set("X-Token", "b")
		copy(req.Body, "q=2")
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff([]string{"a q=1", "a q=1"}, seen); diff != "" {
			t.Errorf("origin saw (-want +got):\n%s", diff)
		}
	})
}

func TestFetchScheduler(t *testing.T) {
	// Background refreshes go through Options.Scheduler and are dated by
	// Options.Now.
	synctest.Test(t, func(t *testing.T) {
		var queue []func()
		at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		e := newEnv(t, fetchcache.Options{
			Scheduler: regen.SchedulerFunc(func(f func()) { queue = append(queue, f) }),
			Now:       func() time.Time { return at },
		})
		req := &fetchcache.Request{URL: "https://api.example.com/posts", Revalidate: regen.Seconds(60)}
		e.fetch(t, req, fetchcache.Call{Now: at.Add(-time.Hour)})
		for range 3 {
			if body, res := e.fetch(t, req, fetchcache.Call{Now: at}); res.Status != regen.Stale || body != "v1" {
				t.Errorf("Fetch = %v %q; want STALE v1", res.Status, body)
			}
		}
		if len(queue) != 1 {
			t.Fatalf("%d refreshes scheduled; want 1", len(queue))
		}
		e.checkCalls(t, 1)
		queue[0]()
		e.checkCalls(t, 2)
		it, _, _ := e.store.Get(t.Context(), fetchcache.Key(req))
		if !it.Created.Equal(at) {
			t.Errorf("refreshed entry Created = %v; want %v, from Options.Now", it.Created, at)
		}
		if body, res := e.fetch(t, req, fetchcache.Call{Now: at.Add(59 * time.Second)}); res.Status != regen.Hit || body != "v2" {
			t.Errorf("Fetch = %v %q; want HIT v2", res.Status, body)
		}
	})
}

func TestMemoize(t *testing.T) {
	type step struct {
		after  time.Duration
		status regen.Status
		value  string
		calls  int64
	}
	tests := []struct {
		name    string
		opts    fetchcache.MemoOptions
		call    fetchcache.Call
		wantRev regen.Revalidate
		steps   []step
	}{
		{
			name:    "revalidate 60",
			opts:    fetchcache.MemoOptions{Revalidate: regen.Seconds(60)},
			wantRev: regen.Seconds(60),
			steps: []step{
				{0, regen.Miss, "row 1", 1},
				{59 * time.Second, regen.Hit, "row 1", 1},
				{time.Second, regen.Stale, "row 1", 2},
				{0, regen.Hit, "row 2", 2},
			},
		},
		{
			name:    "cache profile",
			opts:    fetchcache.MemoOptions{CacheLife: regen.CacheLife{Revalidate: regen.Seconds(60), Expire: time.Hour}},
			wantRev: regen.Seconds(60),
			steps: []step{
				{0, regen.Miss, "row 1", 1},
				{59 * time.Second, regen.Hit, "row 1", 1},
				{time.Second, regen.Stale, "row 1", 2},
				{0, regen.Hit, "row 2", 2},
				{time.Hour - time.Second, regen.Stale, "row 2", 3},
				{time.Hour, regen.Miss, "row 4", 4}, // row 3 is an hour old: past the profile's expire
			},
		},
		{
			name:    "default revalidate",
			call:    fetchcache.Call{DefaultRevalidate: regen.Seconds(10)},
			wantRev: regen.Seconds(10),
			steps: []step{
				{0, regen.Miss, "row 1", 1},
				{10 * time.Second, regen.Stale, "row 1", 2},
			},
		},
		{
			name:    "forever",
			wantRev: regen.Forever,
			steps: []step{
				{0, regen.Miss, "row 1", 1},
				{year, regen.Hit, "row 1", 1},
			},
		},
		{
			name:    "uncached",
			opts:    fetchcache.MemoOptions{Revalidate: regen.Never},
			call:    fetchcache.Call{DefaultRevalidate: regen.Seconds(10)},
			wantRev: regen.Never,
			steps: []step{
				{0, regen.Bypass, "row 1", 1},
				{0, regen.Bypass, "row 2", 2},
			},
		},
		{
			name:    "uncached by default",
			call:    fetchcache.Call{DefaultRevalidate: regen.Never},
			wantRev: regen.Never,
			steps: []step{
				{0, regen.Bypass, "row 1", 1},
				{0, regen.Bypass, "row 2", 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{})
				var calls atomic.Int64
				query := func(context.Context) ([]byte, error) {
					return fmt.Appendf(nil, "row %d", calls.Add(1)), nil
				}
				for i, s := range tt.steps {
					time.Sleep(s.after)
					v, res, err := e.c.Memoize(t.Context(), []string{"user", "42"}, tt.opts, tt.call, query)
					synctest.Wait()
					if err != nil {
						t.Fatalf("step %d: Memoize error: %v", i, err)
					}
					if res.Status != s.status || string(v) != s.value {
						t.Errorf("step %d: Memoize = %v %q; want %v %q", i, res.Status, v, s.status, s.value)
					}
					if got := calls.Load(); got != s.calls {
						t.Errorf("step %d: fn called %d times; want %d", i, got, s.calls)
					}
					if res.Revalidate != tt.wantRev || !strings.HasPrefix(res.Key, "memo:") {
						t.Errorf("step %d: Result = %+v; want Revalidate %v and a memo: key", i, res, tt.wantRev)
					}
				}
			})
		})
	}
}

func TestMemoizeTags(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, fetchcache.Options{})
		var calls atomic.Int64
		query := func(context.Context) ([]byte, error) { return fmt.Appendf(nil, "row %d", calls.Add(1)), nil }
		opts := fetchcache.MemoOptions{Tags: []string{"users"}}
		parts := []string{"user", "42"}
		e.c.Memoize(t.Context(), parts, opts, fetchcache.Call{}, query)
		time.Sleep(time.Second)
		e.revalidate(t, regen.RevalidateExpire, "users")
		v, res, err := e.c.Memoize(t.Context(), parts, opts, fetchcache.Call{}, query)
		if err != nil || res.Status != regen.Miss || string(v) != "row 2" {
			t.Errorf("Memoize after revalidating its tag = %v %q, %v; want MISS \"row 2\"", res.Status, v, err)
		}
		if diff := cmp.Diff([]string{"users"}, res.Tags); diff != "" {
			t.Errorf("Result.Tags mismatch (-want +got):\n%s", diff)
		}

		many := make([]string, regen.MaxTags+1)
		for i := range many {
			many[i] = fmt.Sprint(i)
		}
		// Tags beyond the limits are dropped (as Next.js drops them), not an error.
		_, res, err = e.c.Memoize(t.Context(), []string{"user", "43"}, fetchcache.MemoOptions{Tags: many}, fetchcache.Call{}, query)
		if err != nil || len(res.Tags) != regen.MaxTags {
			t.Errorf("Memoize with %d tags = %d tags, %v; want the first %d, no error", len(many), len(res.Tags), err, regen.MaxTags)
		}
		if got := calls.Load(); got != 3 {
			t.Errorf("fn called %d times; want 3", got)
		}
	})
}

func TestMemoizeError(t *testing.T) {
	tests := []struct {
		name string
		rev  regen.Revalidate
	}{
		{"cached", regen.Seconds(60)},
		{"uncached", regen.Never},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, fetchcache.Options{})
				errDB := errors.New("db down")
				var calls atomic.Int64
				fail := func(context.Context) ([]byte, error) { calls.Add(1); return nil, errDB }
				opts := fetchcache.MemoOptions{Revalidate: tt.rev}
				for i := range 2 {
					v, _, err := e.c.Memoize(t.Context(), []string{"user", "42"}, opts, fetchcache.Call{}, fail)
					if !errors.Is(err, errDB) || err.Error() != `fetchcache: fetch "memoize:user,42": db down` {
						t.Errorf("Memoize error = %v; want the fn's, wrapped with the key parts", err)
					}
					if v != nil {
						t.Errorf("Memoize value = %q; want nil", v)
					}
					if got := calls.Load(); got != int64(i+1) {
						t.Errorf("fn called %d times; want %d: errors are not stored", got, i+1)
					}
				}
			})
		})
	}
}

func TestMemoizeConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, fetchcache.Options{})
		var calls atomic.Int64
		slow := func(context.Context) ([]byte, error) {
			time.Sleep(time.Second)
			return fmt.Appendf(nil, "row %d", calls.Add(1)), nil
		}
		var wg sync.WaitGroup
		for range 1000 {
			wg.Go(func() {
				v, res, err := e.c.Memoize(t.Context(), []string{"user", "42"}, fetchcache.MemoOptions{}, fetchcache.Call{}, slow)
				if err != nil || res.Status != regen.Miss || string(v) != "row 1" {
					t.Errorf("Memoize = %v %q, %v; want MISS \"row 1\"", res.Status, v, err)
				}
			})
		}
		wg.Wait()
		if got := calls.Load(); got != 1 {
			t.Errorf("fn called %d times; want 1", got)
		}
	})
}

// brokenStore is a real store with some of its methods failing, as a
// remote store does when it cannot be reached.
type brokenStore struct {
	*store.Memory
	get, tagState, set bool // which methods fail
}

var errStoreDown = errors.New("store down")

func (s *brokenStore) Get(ctx context.Context, key string) (*store.Item, bool, error) {
	if s.get {
		return nil, false, errStoreDown
	}
	return s.Memory.Get(ctx, key)
}

func (s *brokenStore) TagState(ctx context.Context, tags []string, since time.Time) (store.TagState, error) {
	if s.tagState {
		return store.TagState{}, errStoreDown
	}
	return s.Memory.TagState(ctx, tags, since)
}

func (s *brokenStore) Set(ctx context.Context, key string, it *store.Item) error {
	if s.set {
		return errStoreDown
	}
	return s.Memory.Set(ctx, key, it)
}

func TestFetchStoreFailure(t *testing.T) {
	tests := []struct {
		name     string
		broken   brokenStore
		seeded   bool // an entry is there, though it may not be found
		wantLogs int  // for three fetches: one each
	}{
		{"get fails", brokenStore{get: true}, true, 3},
		{"tag state fails", brokenStore{tagState: true}, true, 3},
		{"set fails", brokenStore{set: true}, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := tt.broken
				st.Memory = store.NewMemory(store.MemoryOptions{})
				if tt.seeded {
					st.Memory.Set(t.Context(), fetchcache.Key(&fetchcache.Request{URL: "https://api.example.com/posts"}),
						&store.Item{Status: 200, Body: []byte("old"), Tags: []string{"posts"}, Created: time.Now()})
				}
				e := newEnv(t, fetchcache.Options{Store: &st})
				req := &fetchcache.Request{URL: "https://api.example.com/posts"}
				for i := range 3 {
					body, res := e.fetch(t, req, fetchcache.Call{})
					if want := fmt.Sprint("v", i+1); res.Status != regen.Miss || body != want {
						t.Errorf("Fetch %d = %v %q; want MISS %q, from the origin", i, res.Status, body, want)
					}
				}
				e.checkCalls(t, 3)
				if got := e.log.len(); got != tt.wantLogs {
					t.Errorf("logged %d records; want %d", got, tt.wantLogs)
				}
				if a := e.log.attrs(0); a["error"] != errStoreDown.Error() || a["key"] != fetchcache.Key(req) {
					t.Errorf("log record = %v; want the key and the store's error", a)
				}
			})
		})
	}
}

func TestFetchRefreshStaleCanceled(t *testing.T) {
	// A regeneration that gives up while waiting for a refresh gets its
	// ctx's error; the refresh goes on and is stored.
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, fetchcache.Options{})
		req := &fetchcache.Request{URL: "https://api.example.com/posts", Revalidate: regen.Seconds(60)}
		e.fetch(t, req, fetchcache.Call{})
		time.Sleep(time.Minute)
		e.origin.delay = time.Second

		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if resp, _, err := e.c.Fetch(ctx, req, fetchcache.Call{RefreshStale: true}); !errors.Is(err, context.DeadlineExceeded) || resp != nil {
			t.Errorf("Fetch = %v, %v; want context.DeadlineExceeded", resp, err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if body, res := e.fetch(t, req, fetchcache.Call{}); res.Status != regen.Hit || body != "v2" {
			t.Errorf("next Fetch = %v %q; want HIT v2", res.Status, body)
		}
		e.checkCalls(t, 2)
	})
}

// TestCacheLifeAndRevalidate: a fetch declaring both a revalidate and a
// cache profile is refused without calling the origin.
func TestCacheLifeAndRevalidate(t *testing.T) {
	e := newEnv(t, fetchcache.Options{})
	req := &fetchcache.Request{URL: "https://api.example.com/posts", Revalidate: regen.Seconds(5),
		CacheLife: regen.CacheLife{Revalidate: regen.Seconds(60)}}
	_, _, err := e.c.Fetch(t.Context(), req, fetchcache.Call{})
	if err == nil || !strings.Contains(err.Error(), "revalidate 5 and cacheLife {revalidate: 60} both declared") {
		t.Errorf("Fetch error = %v; want both declared", err)
	}
	e.checkCalls(t, 0)
}
