package engine

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
)

// TestCacheLifePolicy: a route's revalidate is the lowest among its
// segments, fetches and their cache profiles; its expire the lowest expire
// of the profiles it uses, else Options.Expire; Cache-Control says both.
func TestCacheLifePolicy(t *testing.T) {
	editorial := regen.CacheLife{Stale: 300 * time.Second, Revalidate: sec(600), Expire: 86400 * time.Second}
	tests := []struct {
		name    string
		build   func(s *Site)
		opts    Options
		kind    Kind
		rev     regen.Revalidate
		expire  time.Duration
		stale   time.Duration
		cc      string
		reasons string
	}{
		{
			name:  "page hours",
			build: func(s *Site) { s.Page("/p", Page{CacheLife: "hours", Render: fetchPage("p", nil)}) },
			kind:  ISR, rev: sec(3600), expire: 86400 * time.Second, stale: 300 * time.Second,
			cc:      "s-maxage=3600, stale-while-revalidate=82800",
			reasons: "revalidate 3600 from page /p; expire 86400 from page /p (cacheLife hours)",
		},
		{
			name: "layout minutes beats page hours",
			build: func(s *Site) {
				s.Layout("/", Layout{CacheLife: "minutes"})
				s.Page("/p", Page{CacheLife: "hours", Render: fetchPage("p", nil)})
			},
			kind: ISR, rev: sec(60), expire: 3600 * time.Second, stale: 300 * time.Second,
			cc:      "s-maxage=60, stale-while-revalidate=3540",
			reasons: "revalidate 60 from layout /; expire 3600 from layout / (cacheLife minutes)",
		},
		{
			name: "fetch seconds under a plain revalidate",
			build: func(s *Site) {
				s.Page("/p", Page{Revalidate: sec(3600), Render: fetchPage("p", nil),
					Fetches: []Fetch{{URL: "/api/x", CacheLife: "seconds"}}})
			},
			kind: ISR, rev: sec(1), expire: 60 * time.Second, stale: 30 * time.Second,
			cc: "s-maxage=1, stale-while-revalidate=59",
		},
		{
			name:  "default profile: no expire, Options.Expire",
			build: func(s *Site) { s.Page("/p", Page{CacheLife: "default", Render: fetchPage("p", nil)}) },
			opts:  Options{Expire: 2 * time.Hour},
			kind:  ISR, rev: sec(900), expire: 2 * time.Hour,
			cc: "s-maxage=900, stale-while-revalidate=6300",
		},
		{
			name:  "no profile: Options.Expire",
			build: func(s *Site) { s.Page("/p", Page{Revalidate: sec(60), Render: fetchPage("p", nil)}) },
			kind:  ISR, rev: sec(60), expire: DefaultExpire,
			cc: "s-maxage=60, stale-while-revalidate=31535940",
		},
		{
			name: "custom profile",
			build: func(s *Site) {
				s.Handler("/feed.xml", Handler{CacheLife: "editorial", Render: fetchPage("feed", nil)})
			},
			opts: Options{CacheLife: map[string]regen.CacheLife{"editorial": editorial}},
			kind: ISR, rev: sec(600), expire: 86400 * time.Second, stale: 300 * time.Second,
			cc: "s-maxage=600, stale-while-revalidate=85800",
		},
		{
			name: "custom profile on the Site, Options winning",
			build: func(s *Site) {
				s.CacheLife("editorial", regen.CacheLife{Revalidate: sec(30), Expire: time.Hour})
				s.CacheLife("weekly", editorial)
				s.Handler("/feed.xml", Handler{CacheLife: "editorial", Render: fetchPage("feed", nil),
					Fetches: []Fetch{{URL: "/api/w", CacheLife: "weekly"}}})
			},
			opts: Options{CacheLife: map[string]regen.CacheLife{"editorial": {Revalidate: sec(1200), Expire: 2 * 86400 * time.Second}}},
			kind: ISR, rev: sec(600), expire: 86400 * time.Second, stale: 300 * time.Second,
			cc: "s-maxage=600, stale-while-revalidate=85800",
		},
		{
			name: "custom profile replaces a built-in",
			build: func(s *Site) {
				s.Page("/p", Page{CacheLife: "hours", Render: fetchPage("p", nil)})
			},
			opts: Options{CacheLife: map[string]regen.CacheLife{"hours": {Revalidate: sec(7200), Expire: 3 * time.Hour}}},
			kind: ISR, rev: sec(7200), expire: 3 * time.Hour,
			cc: "s-maxage=7200, stale-while-revalidate=3600",
		},
		{
			name: "a render's fetch with a profile",
			build: func(s *Site) {
				s.Page("/p", Page{Render: fetchPage("p", nil, fetchcache.Request{URL: "/api/x", CacheLife: mustLife(t, "minutes")})})
			},
			kind: ISR, rev: sec(60), expire: 3600 * time.Second,
			cc: "s-maxage=60, stale-while-revalidate=3540",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var site Site
			tt.build(&site)
			tt.opts.Fetcher = newOrigin()
			e := newEngine(t, &site, tt.opts)
			path := "/p"
			if strings.Contains(tt.name, "custom profile") && !strings.Contains(tt.name, "replaces") {
				path = "/feed.xml"
			}
			get(e, path)
			r := get(e, path) // the stored entry's header, once the render revealed its fetches
			if r.status != "HIT" {
				t.Errorf("second GET %s = %s; want HIT", path, r.status)
			}
			if r.code != http.StatusOK {
				t.Fatalf("GET = %d %q", r.code, r.body)
			}
			if got := r.header.Get("Cache-Control"); got != tt.cc {
				t.Errorf("Cache-Control = %q; want %q", got, tt.cc)
			}
			p := e.Routes()[0]
			if p.Kind != tt.kind || p.Revalidate != tt.rev || p.Expire != tt.expire || p.Stale != tt.stale {
				t.Errorf("policy = %v, revalidate %v, expire %v, stale %v; want %v, %v, %v, %v (%v)",
					p.Kind, p.Revalidate, p.Expire, p.Stale, tt.kind, tt.rev, tt.expire, tt.stale, &p)
			}
			if tt.reasons != "" && p.String() != tt.reasons {
				t.Errorf("reasons = %q; want %q", p.String(), tt.reasons)
			}
		})
	}
}

func mustLife(t *testing.T, name string) regen.CacheLife {
	c, ok := regen.BuiltinCacheLife(name)
	if !ok {
		t.Fatalf("no built-in profile %q", name)
	}
	return c
}

// TestCacheLifeConfigErrors: a profile beside a revalidate, an unknown
// profile and a bad custom profile fail New, naming the route, the field
// and the fix.
func TestCacheLifeConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(s *Site)
		opts  Options
		want  string
	}{
		{
			name:  "both on a page",
			build: func(s *Site) { s.Page("/p", Page{Revalidate: sec(60), CacheLife: "hours", Render: nopPage}) },
			want:  `engine: route "/p": page /p: revalidate 60 and cacheLife "hours" both declared (remove one: cacheLife gives the revalidate)`,
		},
		{
			name: "both on a fetch",
			build: func(s *Site) {
				s.Page("/p", Page{Render: nopPage, Fetches: []Fetch{{URL: "/x", Revalidate: sec(5), CacheLife: "hours"}}})
			},
			want: `engine: route "/p": page /p: revalidate 5 and cacheLife "hours" both declared (remove one: cacheLife gives the revalidate)`,
		},
		{
			name: "unknown on a layout",
			build: func(s *Site) {
				s.Layout("/", Layout{CacheLife: "hourly"})
				s.Page("/p", Page{Render: nopPage})
			},
			want: `engine: route "/p": layout /: unknown cache profile "hourly" (known: days, default, hours, max, minutes, seconds, weeks) (use one of them, or add it to Options.CacheLife)`,
		},
		{
			name:  "bad custom profile",
			build: func(s *Site) { s.Page("/p", Page{Render: nopPage}) },
			opts:  Options{CacheLife: map[string]regen.CacheLife{"slow": {Revalidate: sec(600), Expire: 60 * time.Second}}},
			want:  `engine: route "/": cache profile "slow" (Site.CacheLife or Options.CacheLife): revalidate 600 is not below expire 60 (lower revalidate or raise expire)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var site Site
			tt.build(&site)
			_, err := New(&site, tt.opts)
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCacheLife) || err.Error() != tt.want {
				t.Errorf("New error = %v; want %s (matching ErrCacheLife)", err, tt.want)
			}
		})
	}
}

// TestRevalidateTagProfile: revalidateTag(tag, profile) serves the tagged
// pages STALE until the profile's expire, and MISS after it; the
// regenerated page is not affected.
func TestRevalidateTagProfile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOrigin()
		var site Site
		posts := fetchcache.Request{URL: "/api/posts", Tags: []string{"posts"}}
		for _, p := range []string{"/a", "/b", "/c"} {
			site.Page(p, Page{Render: fetchPage(p[1:], nil, posts)})
		}
		e := newEngine(t, &site, Options{Fetcher: o, CacheLife: map[string]regen.CacheLife{
			"editorial": {Revalidate: regen.Forever, Expire: time.Hour},
		}})
		for _, p := range []string{"/a", "/b", "/c"} {
			get(e, p)
		}
		time.Sleep(time.Second)
		o.publish("/api/posts")
		if err := e.RevalidateTag(context.Background(), "posts", regen.RevalidateProfile("editorial")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour - time.Second)
		if r := get(e, "/a"); r.status != "STALE" || r.body != "a n=0 [/api/posts@1]" {
			t.Errorf("GET /a before the profile's expire = %s %q; want STALE with the old data", r.status, r.body)
		}
		synctest.Wait()
		time.Sleep(2 * time.Second)
		if r := get(e, "/b"); r.status != "MISS" || r.body != "b n=0 [/api/posts@2]" {
			t.Errorf("GET /b after the profile's expire = %s %q; want MISS with fresh data", r.status, r.body)
		}
		if r := get(e, "/a"); r.status != "HIT" || r.body != "a n=0 [/api/posts@2]" {
			t.Errorf("GET /a, regenerated before the expire = %s %q; want HIT", r.status, r.body)
		}
		err := e.RevalidateTag(context.Background(), "posts", regen.RevalidateProfile("hourly"))
		if !errors.Is(err, ErrCacheLife) || !strings.Contains(err.Error(), `unknown cache profile "hourly"`) {
			t.Errorf("RevalidateTag with an unknown profile = %v; want ErrCacheLife naming it", err)
		}
	})
}

// TestWebhookProfile: the revalidation endpoint takes a profile name as
// mode, over real HTTP; an unknown one is a 400 naming the known ones.
func TestWebhookProfile(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	o := newOrigin()
	var site Site
	site.Page("/a", Page{Render: fetchPage("a", nil, fetchcache.Request{URL: "/api/posts", Tags: []string{"posts"}})})
	site.Page("/b", Page{Render: fetchPage("b", nil, fetchcache.Request{URL: "/api/posts", Tags: []string{"posts"}})})
	e := newEngine(t, &site, Options{Fetcher: o, Now: clock})
	srv := httptest.NewServer(http.NewServeMux())
	mux := srv.Config.Handler.(*http.ServeMux)
	mux.Handle("/api/revalidate", NewRevalidateHandler(e, RevalidateHandlerOptions{Secret: "s3cret", Logger: (&logBuffer{}).logger()}))
	mux.Handle("/", e)
	t.Cleanup(srv.Close)
	do := func(method, path, body string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer s3cret")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, res.Body)
		return res.StatusCode, res.Header.Get("X-Cache-Status"), b.String()
	}
	do("GET", "/a", "")
	do("GET", "/b", "")
	if code, _, body := do("POST", "/api/revalidate", `{"tags": ["posts"], "mode": "minutes"}`); code != 200 {
		t.Fatalf("POST mode minutes = %d %s; want 200", code, body)
	}
	advance(59 * time.Minute)
	if _, st, _ := do("GET", "/a", ""); st != "STALE" {
		t.Errorf("GET /a 59m after mode minutes = %s; want STALE", st)
	}
	advance(2 * time.Minute)
	if _, st, _ := do("GET", "/b", ""); st != "MISS" {
		t.Errorf("GET /b 61m after mode minutes = %s; want MISS (the profile's expire is 1h)", st)
	}
	code, _, body := do("POST", "/api/revalidate", `{"tags": ["posts"], "mode": "hourly"}`)
	if code != 400 || !strings.Contains(body, `unknown cache profile \"hourly\" (known: days, default, hours, max, minutes, seconds, weeks)`) {
		t.Errorf("POST mode hourly = %d %s; want 400 naming the known profiles", code, body)
	}
	if req, err := ParseRevalidateRequest([]byte(`{"tags": ["posts"], "mode": "max"}`)); err != nil || req.Mode != regen.RevalidateProfile("max") {
		t.Errorf("ParseRevalidateRequest(mode max) = %+v, %v", req, err)
	}
	if _, err := ParseRevalidateRequest([]byte(`{"tags": ["posts"], "mode": "a b"}`)); err == nil {
		t.Errorf("ParseRevalidateRequest(mode \"a b\") = nil error")
	}
}
