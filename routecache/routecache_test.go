package routecache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const year = 365 * 24 * time.Hour

func TestFreshness(t *testing.T) {
	isr := &routecache.Entry{Created: t0, Revalidate: regen.Seconds(60), Expire: time.Hour}
	tests := []struct {
		name string
		e    *routecache.Entry
		now  time.Time
		tags store.TagState
		want regen.Status
	}{
		{"just made", isr, t0, store.TagState{}, regen.Hit},
		{"before revalidate", isr, t0.Add(59 * time.Second), store.TagState{}, regen.Hit},
		{"a nanosecond before revalidate", isr, t0.Add(time.Minute - 1), store.TagState{}, regen.Hit},
		{"at revalidate", isr, t0.Add(time.Minute), store.TagState{}, regen.Stale},
		{"after revalidate", isr, t0.Add(30 * time.Minute), store.TagState{}, regen.Stale},
		{"a nanosecond before expire", isr, t0.Add(time.Hour - 1), store.TagState{}, regen.Stale},
		{"at expire", isr, t0.Add(time.Hour), store.TagState{}, regen.Miss},
		{"after expire", isr, t0.Add(2 * time.Hour), store.TagState{}, regen.Miss},
		{"made in the future (clock skew)", isr, t0.Add(-time.Minute), store.TagState{}, regen.Hit},

		{"tag stale", isr, t0, store.TagState{Stale: true}, regen.Stale},
		{"tag expired", isr, t0, store.TagState{Expired: true}, regen.Miss},
		{"tag stale and expired", isr, t0, store.TagState{Stale: true, Expired: true}, regen.Miss},
		{"tag stale after expire", isr, t0.Add(time.Hour), store.TagState{Stale: true}, regen.Miss},

		{"no expire: stale for ever", &routecache.Entry{Created: t0, Revalidate: regen.Seconds(60)},
			t0.Add(100 * year), store.TagState{}, regen.Stale},
		{"forever", &routecache.Entry{Created: t0, Revalidate: regen.Forever},
			t0.Add(100 * year), store.TagState{}, regen.Hit},
		{"forever, tag stale", &routecache.Entry{Created: t0, Revalidate: regen.Forever},
			t0.Add(time.Second), store.TagState{Stale: true}, regen.Stale},
		{"forever, at expire", &routecache.Entry{Created: t0, Revalidate: regen.Forever, Expire: year},
			t0.Add(year), store.TagState{}, regen.Miss},
		{"not declared", &routecache.Entry{Created: t0},
			t0.Add(100 * year), store.TagState{}, regen.Hit},
		{"not declared, tag expired", &routecache.Entry{Created: t0},
			t0.Add(time.Second), store.TagState{Expired: true}, regen.Miss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := routecache.Freshness(tt.e, tt.now, tt.tags); got != tt.want {
				t.Errorf("Freshness(%v, now %v, %+v) = %v; want %v",
					tt.e.Revalidate, tt.now.Sub(tt.e.Created), tt.tags, got, tt.want)
			}
		})
	}
}

// page returns an entry for path, rendered by route at created, carrying the
// route's implicit tags and tags.
func page(route, path string, created time.Time, tags ...string) *routecache.Entry {
	return &routecache.Entry{
		Status:     200,
		Body:       []byte("<p>" + path + "</p>"),
		Tags:       append(routecache.ImplicitTags(route, path), tags...),
		Created:    created,
		Revalidate: regen.Seconds(60),
		Expire:     time.Hour,
	}
}

func TestCacheGet(t *testing.T) {
	type reval struct {
		tag  string
		mode regen.RevalidateMode
		at   time.Time
	}
	tests := []struct {
		name       string
		stored     bool // an entry is stored for /blog/hello, tagged "posts"
		revals     []reval
		now        time.Time
		want       regen.Status
		wantStored bool // the entry is still stored after Get
	}{
		{name: "missing", now: t0, want: regen.Miss},
		{name: "fresh", stored: true, now: t0.Add(time.Second), want: regen.Hit, wantStored: true},
		{name: "past revalidate", stored: true, now: t0.Add(time.Minute), want: regen.Stale, wantStored: true},
		{name: "past expire is a miss, left for the next render to replace", stored: true, now: t0.Add(time.Hour), want: regen.Miss, wantStored: true},
		{
			name:       "tag revalidated in stale mode",
			stored:     true,
			revals:     []reval{{"posts", regen.RevalidateStale, t0.Add(time.Second)}},
			now:        t0.Add(2 * time.Second),
			want:       regen.Stale,
			wantStored: true,
		},
		{
			name:       "tag revalidated in expire mode is a miss",
			stored:     true,
			revals:     []reval{{"posts", regen.RevalidateExpire, t0.Add(time.Second)}},
			now:        t0.Add(2 * time.Second),
			wantStored: true,
			want:       regen.Miss,
		},
		{
			name:       "tag revalidated before the entry was made",
			stored:     true,
			revals:     []reval{{"posts", regen.RevalidateExpire, t0.Add(-time.Second)}},
			now:        t0.Add(time.Second),
			want:       regen.Hit,
			wantStored: true,
		},
		{
			name:       "tag revalidated as the entry was made",
			stored:     true,
			revals:     []reval{{"posts", regen.RevalidateExpire, t0}},
			now:        t0.Add(time.Second),
			want:       regen.Hit,
			wantStored: true,
		},
		{
			name:       "another tag revalidated",
			stored:     true,
			revals:     []reval{{"authors", regen.RevalidateExpire, t0.Add(time.Second)}},
			now:        t0.Add(2 * time.Second),
			want:       regen.Hit,
			wantStored: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			m := store.NewMemory(store.MemoryOptions{})
			c := routecache.New(m)
			var e *routecache.Entry
			if tt.stored {
				e = page("/blog/[slug]", "/blog/hello", t0, "posts")
				if err := c.Set(ctx, "/blog/hello", e); err != nil {
					t.Fatal(err)
				}
			}
			for _, r := range tt.revals {
				if err := c.RevalidateTag(ctx, r.tag, r.mode, r.at); err != nil {
					t.Fatal(err)
				}
			}
			got, st, err := c.Get(ctx, "/blog/hello", tt.now)
			if err != nil {
				t.Fatalf("Get error = %v", err)
			}
			var want *routecache.Entry
			if tt.want != regen.Miss {
				want = e
			}
			// The store returns a copy of what was set.
			if st != tt.want || (got == nil) != (want == nil) || got != nil && !cmp.Equal(got, want) {
				t.Errorf("Get(/blog/hello) = %+v, %v; want %+v, %v", got, st, want, tt.want)
			}
			if _, stored, _ := m.Get(ctx, "/blog/hello"); stored != tt.wantStored {
				t.Errorf("after Get, stored = %v; want %v", stored, tt.wantStored)
			}
		})
	}
}

func TestCacheDelete(t *testing.T) {
	ctx := t.Context()
	c := routecache.New(store.NewMemory(store.MemoryOptions{}))
	c.Set(ctx, "/a", page("/a", "/a", t0))
	if err := c.Delete(ctx, "/a"); err != nil {
		t.Fatal(err)
	}
	if e, st, _ := c.Get(ctx, "/a", t0); e != nil || st != regen.Miss {
		t.Errorf("Get(/a) after Delete = %p, %v; want nil, MISS", e, st)
	}
}

// failing is a store whose Get or TagState fails.
type failing struct {
	store.Store // nil: calls not overridden panic
	item        *store.Item
	err         error
	getErr      bool // Get fails; else TagState fails
	deleted     bool
}

func (f *failing) Get(context.Context, string) (*store.Item, bool, error) {
	if f.getErr {
		return nil, false, f.err
	}
	return f.item, true, nil
}

func (f *failing) TagState(context.Context, []string, time.Time) (store.TagState, error) {
	return store.TagState{}, f.err
}

func (f *failing) Delete(context.Context, string) error {
	f.deleted = true
	return nil
}

func TestCacheGetStoreError(t *testing.T) {
	boom := errors.New("boom")
	for _, getErr := range []bool{true, false} {
		f := &failing{item: page("/a", "/a", t0), err: boom, getErr: getErr}
		e, st, err := routecache.New(f).Get(t.Context(), "/a", t0)
		if e != nil || st != regen.Miss || !errors.Is(err, boom) {
			t.Errorf("Get with failing store (Get fails: %v) = %p, %v, %v; want nil, MISS, boom", getErr, e, st, err)
		}
		if f.deleted {
			t.Errorf("Get with failing store (Get fails: %v) deleted the entry; want it kept", getErr)
		}
	}
}

func TestCacheRevalidateTag(t *testing.T) {
	at := t0.Add(10 * time.Second)
	now := t0.Add(20 * time.Second) // before any entry's revalidate
	entries := map[string]*routecache.Entry{
		"/posts/1":  page("/posts/[id]", "/posts/1", t0, "posts", "post-1"),
		"/posts/2":  page("/posts/[id]", "/posts/2", t0, "posts", "post-2"),
		"/about":    page("/about", "/about", t0),
		"/posts":    page("/posts", "/posts", at, "posts"),                  // made as the tag was revalidated
		"/posts/3":  page("/posts/[id]", "/posts/3", at.Add(1), "posts"),    // made after
		"/authors":  page("/authors", "/authors", t0, "authors", "post-1x"), // a tag that merely shares a prefix
		"/posts/1x": page("/posts/[id]", "/posts/1x", t0, "postsx"),
	}
	tests := []struct {
		tag  string
		mode regen.RevalidateMode
		want map[string]regen.Status
	}{
		{"posts", regen.RevalidateStale, map[string]regen.Status{
			"/posts/1": regen.Stale, "/posts/2": regen.Stale, "/about": regen.Hit, "/posts": regen.Hit,
			"/posts/3": regen.Hit, "/authors": regen.Hit, "/posts/1x": regen.Hit,
		}},
		{"posts", regen.RevalidateExpire, map[string]regen.Status{
			"/posts/1": regen.Miss, "/posts/2": regen.Miss, "/about": regen.Hit, "/posts": regen.Hit,
			"/posts/3": regen.Hit, "/authors": regen.Hit, "/posts/1x": regen.Hit,
		}},
		{"post-1", regen.RevalidateStale, map[string]regen.Status{
			"/posts/1": regen.Stale, "/posts/2": regen.Hit, "/about": regen.Hit, "/posts": regen.Hit,
			"/posts/3": regen.Hit, "/authors": regen.Hit, "/posts/1x": regen.Hit,
		}},
		{"nothing", regen.RevalidateExpire, map[string]regen.Status{
			"/posts/1": regen.Hit, "/posts/2": regen.Hit, "/about": regen.Hit, "/posts": regen.Hit,
			"/posts/3": regen.Hit, "/authors": regen.Hit, "/posts/1x": regen.Hit,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.tag+"/"+tt.mode.String(), func(t *testing.T) {
			ctx := t.Context()
			c := routecache.New(store.NewMemory(store.MemoryOptions{}))
			for path, e := range entries {
				c.Set(ctx, path, e)
			}
			if err := c.RevalidateTag(ctx, tt.tag, tt.mode, at); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, statuses(t, c, entries, now)); diff != "" {
				t.Errorf("after RevalidateTag(%q, %v), statuses (-want +got):\n%s", tt.tag, tt.mode, diff)
			}
		})
	}
}

// statuses returns the status of each path of entries at now.
func statuses(t *testing.T, c *routecache.Cache, entries map[string]*routecache.Entry, now time.Time) map[string]regen.Status {
	t.Helper()
	got := make(map[string]regen.Status)
	for path := range entries {
		_, st, err := c.Get(t.Context(), path, now)
		if err != nil {
			t.Fatalf("Get(%q) error = %v", path, err)
		}
		got[path] = st
	}
	return got
}

var kindNames = map[routecache.PathKind]string{routecache.Page: "Page", routecache.Layout: "Layout"}

func TestPathTag(t *testing.T) {
	tests := []struct {
		path string
		kind routecache.PathKind
		want string
	}{
		{"/", routecache.Page, "_N_T_/"},
		{"", routecache.Page, "_N_T_/"},
		{"/blog/hello", routecache.Page, "_N_T_/blog/hello"},
		{"/blog/hello/", routecache.Page, "_N_T_/blog/hello"},
		{"/blog/[slug]", routecache.Page, "_N_T_/blog/[slug]/page"},
		{"/docs/[...path]", routecache.Page, "_N_T_/docs/[...path]/page"},
		{"/(marketing)/about", routecache.Page, "_N_T_/(marketing)/about/page"},
		{"/(marketing)", routecache.Page, "_N_T_/(marketing)/page"},
		{"/wiki/Go_(language)", routecache.Page, "_N_T_/wiki/Go_(language)"},
		{"/", routecache.Layout, "_N_T_/layout"},
		{"/blog", routecache.Layout, "_N_T_/blog/layout"},
		{"/blog/", routecache.Layout, "_N_T_/blog/layout"},
		{"/(shop)", routecache.Layout, "_N_T_/(shop)/layout"},
		{"/blog/[slug]", routecache.Layout, "_N_T_/blog/[slug]/layout"},
	}
	for _, tt := range tests {
		if got := routecache.PathTag(tt.path, tt.kind); got != tt.want {
			t.Errorf("PathTag(%q, %s) = %q; want %q", tt.path, kindNames[tt.kind], got, tt.want)
		}
	}
}

func TestCacheRevalidatePath(t *testing.T) {
	routes := map[string]string{ // path: route
		"/":           "/",
		"/blog":       "/blog",
		"/blog/hello": "/blog/[slug]",
		"/blog/world": "/blog/[slug]",
		"/about":      "/(marketing)/about",
		"/pricing":    "/(marketing)/pricing",
		"/shop/shoe":  "/(shop)/shop/[slug]",
		"/blogger":    "/blogger",
	}
	at := t0.Add(10 * time.Second)
	now := t0.Add(20 * time.Second)
	H, S, M := regen.Hit, regen.Stale, regen.Miss
	tests := []struct {
		name string
		path string
		kind routecache.PathKind
		mode regen.RevalidateMode
		want map[string]regen.Status
	}{
		{"concrete path", "/blog/hello", routecache.Page, regen.RevalidateStale, map[string]regen.Status{
			"/": H, "/blog": H, "/blog/hello": S, "/blog/world": H, "/about": H, "/pricing": H, "/shop/shoe": H, "/blogger": H,
		}},
		{"concrete path, expire", "/blog/hello", routecache.Page, regen.RevalidateExpire, map[string]regen.Status{
			"/": H, "/blog": H, "/blog/hello": M, "/blog/world": H, "/about": H, "/pricing": H, "/shop/shoe": H, "/blogger": H,
		}},
		{"concrete path with a trailing slash", "/blog/hello/", routecache.Page, regen.RevalidateStale, map[string]regen.Status{
			"/": H, "/blog": H, "/blog/hello": S, "/blog/world": H, "/about": H, "/pricing": H, "/shop/shoe": H, "/blogger": H,
		}},
		{"root path", "/", routecache.Page, regen.RevalidateStale, map[string]regen.Status{
			"/": S, "/blog": H, "/blog/hello": H, "/blog/world": H, "/about": H, "/pricing": H, "/shop/shoe": H, "/blogger": H,
		}},
		{"page route", "/blog/[slug]", routecache.Page, regen.RevalidateStale, map[string]regen.Status{
			"/": H, "/blog": H, "/blog/hello": S, "/blog/world": S, "/about": H, "/pricing": H, "/shop/shoe": H, "/blogger": H,
		}},
		{"page route, expire", "/blog/[slug]", routecache.Page, regen.RevalidateExpire, map[string]regen.Status{
			"/": H, "/blog": H, "/blog/hello": M, "/blog/world": M, "/about": H, "/pricing": H, "/shop/shoe": H, "/blogger": H,
		}},
		{"page route in a group", "/(marketing)/about", routecache.Page, regen.RevalidateStale, map[string]regen.Status{
			"/": H, "/blog": H, "/blog/hello": H, "/blog/world": H, "/about": S, "/pricing": H, "/shop/shoe": H, "/blogger": H,
		}},
		{"path of a page in a group", "/about", routecache.Page, regen.RevalidateStale, map[string]regen.Status{
			"/": H, "/blog": H, "/blog/hello": H, "/blog/world": H, "/about": S, "/pricing": H, "/shop/shoe": H, "/blogger": H,
		}},
		{"layout", "/blog", routecache.Layout, regen.RevalidateStale, map[string]regen.Status{
			"/": H, "/blog": S, "/blog/hello": S, "/blog/world": S, "/about": H, "/pricing": H, "/shop/shoe": H, "/blogger": H,
		}},
		{"layout, expire", "/blog", routecache.Layout, regen.RevalidateExpire, map[string]regen.Status{
			"/": H, "/blog": M, "/blog/hello": M, "/blog/world": M, "/about": H, "/pricing": H, "/shop/shoe": H, "/blogger": H,
		}},
		{"group layout", "/(marketing)", routecache.Layout, regen.RevalidateStale, map[string]regen.Status{
			"/": H, "/blog": H, "/blog/hello": H, "/blog/world": H, "/about": S, "/pricing": S, "/shop/shoe": H, "/blogger": H,
		}},
		{"layout below a group", "/(shop)/shop", routecache.Layout, regen.RevalidateStale, map[string]regen.Status{
			"/": H, "/blog": H, "/blog/hello": H, "/blog/world": H, "/about": H, "/pricing": H, "/shop/shoe": S, "/blogger": H,
		}},
		{"root layout", "/", routecache.Layout, regen.RevalidateStale, map[string]regen.Status{
			"/": S, "/blog": S, "/blog/hello": S, "/blog/world": S, "/about": S, "/pricing": S, "/shop/shoe": S, "/blogger": S,
		}},
		{"no such path", "/nope", routecache.Page, regen.RevalidateExpire, map[string]regen.Status{
			"/": H, "/blog": H, "/blog/hello": H, "/blog/world": H, "/about": H, "/pricing": H, "/shop/shoe": H, "/blogger": H,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			c := routecache.New(store.NewMemory(store.MemoryOptions{}))
			entries := make(map[string]*routecache.Entry)
			for path, route := range routes {
				entries[path] = page(route, path, t0)
				c.Set(ctx, path, entries[path])
			}
			if err := c.RevalidatePath(ctx, tt.path, tt.kind, tt.mode, at); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, statuses(t, c, entries, now)); diff != "" {
				t.Errorf("after RevalidatePath(%q, %s, %v), statuses (-want +got):\n%s", tt.path, kindNames[tt.kind], tt.mode, diff)
			}
		})
	}
}

func TestImplicitTags(t *testing.T) {
	tests := []struct {
		route, path string
		want        []string
	}{
		{"/", "/", []string{"_N_T_/layout", "_N_T_/page", "_N_T_/"}},
		{"", "", []string{"_N_T_/layout", "_N_T_/page", "_N_T_/"}},
		{"/blog", "/blog", []string{
			"_N_T_/layout", "_N_T_/blog/layout", "_N_T_/blog/page", "_N_T_/blog",
		}},
		{"/blog/[slug]", "/blog/hello", []string{
			"_N_T_/layout", "_N_T_/blog/layout", "_N_T_/blog/[slug]/layout", "_N_T_/blog/[slug]/page", "_N_T_/blog/hello",
		}},
		{"/blog/[slug]/", "/blog/hello/", []string{
			"_N_T_/layout", "_N_T_/blog/layout", "_N_T_/blog/[slug]/layout", "_N_T_/blog/[slug]/page", "_N_T_/blog/hello",
		}},
		{"/(marketing)/about", "/about", []string{
			"_N_T_/layout", "_N_T_/(marketing)/layout", "_N_T_/(marketing)/about/layout", "_N_T_/(marketing)/about/page", "_N_T_/about",
		}},
		{"/(marketing)", "/", []string{
			"_N_T_/layout", "_N_T_/(marketing)/layout", "_N_T_/(marketing)/page", "_N_T_/",
		}},
		{"/docs/[[...path]]", "/docs/a/b", []string{
			"_N_T_/layout", "_N_T_/docs/layout", "_N_T_/docs/[[...path]]/layout", "_N_T_/docs/[[...path]]/page", "_N_T_/docs/a/b",
		}},
	}
	for _, tt := range tests {
		got := routecache.ImplicitTags(tt.route, tt.path)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ImplicitTags(%q, %q) (-want +got):\n%s", tt.route, tt.path, diff)
		}
		if err := regen.ValidateTags(got); err != nil {
			t.Errorf("ImplicitTags(%q, %q): %v", tt.route, tt.path, err)
		}
	}
}

// TestFreshnessNear: a Hit less than slack before its revalidate or expire
// deadline is near; one further off, or a stale entry, is not; and the
// status is Freshness's.
func TestFreshnessNear(t *testing.T) {
	isr := &routecache.Entry{Created: t0, Revalidate: regen.Seconds(60), Expire: time.Hour}
	forever := &routecache.Entry{Created: t0, Revalidate: regen.Forever, Expire: time.Hour}
	const slack = 20 * time.Millisecond
	tests := []struct {
		name     string
		e        *routecache.Entry
		age      time.Duration
		want     regen.Status
		wantNear bool
	}{
		{"far from revalidate", isr, 30 * time.Second, regen.Hit, false},
		{"at slack before revalidate", isr, 60*time.Second - slack, regen.Hit, false},
		{"within slack of revalidate", isr, 60*time.Second - slack + time.Nanosecond, regen.Hit, true},
		{"at revalidate", isr, 60 * time.Second, regen.Stale, false},
		{"within slack of expire", forever, time.Hour - time.Millisecond, regen.Hit, true},
		{"far from expire", forever, 59 * time.Minute, regen.Hit, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(tt.age)
			st, near := routecache.FreshnessNear(tt.e, now, store.TagState{}, slack)
			if st != tt.want || near != tt.wantNear {
				t.Errorf("FreshnessNear(age %v) = %v, %v; want %v, %v", tt.age, st, near, tt.want, tt.wantNear)
			}
			if f := routecache.Freshness(tt.e, now, store.TagState{}); f != st {
				t.Errorf("Freshness(age %v) = %v; FreshnessNear says %v", tt.age, f, st)
			}
		})
	}
}
