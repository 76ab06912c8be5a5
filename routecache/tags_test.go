package routecache_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store"
)

// TestLongPathTags: the implicit tag of a path too long for regen.MaxTagLen
// is hashed to fit, the same way in an entry's tags and in RevalidatePath,
// so a long path can be revalidated; distinct long paths keep distinct tags,
// and a short path's tag is unchanged.
func TestLongPathTags(t *testing.T) {
	ctx := t.Context()
	long := "/p/" + strings.Repeat("a", 2040)
	other := "/p/" + strings.Repeat("a", 2039) + "b"
	route := "/p/[id]"
	c := routecache.New(store.NewMemory(store.MemoryOptions{}))
	for _, p := range []string{long, other} {
		tags := routecache.ImplicitTags(route, p)
		if err := regen.ValidateTags(tags); err != nil {
			t.Errorf("ImplicitTags(%q, %.12q...): %v", route, p, err)
		}
		if err := c.Set(ctx, p, &routecache.Entry{Status: 200, Tags: tags, Created: t0}); err != nil {
			t.Fatal(err)
		}
	}
	tags := routecache.ImplicitTags(route, long)
	own := tags[len(tags)-1]
	if own != routecache.PathTag(long, routecache.Page) || own != routecache.PathTag(long+"/", routecache.Page) {
		t.Errorf("entry tag %q, PathTag %q: want the same", own, routecache.PathTag(long, routecache.Page))
	}
	if !strings.HasPrefix(own, routecache.TagPrefix+"#") || !strings.Contains(own, ":/p/aaaa") || len(own) > regen.MaxTagLen {
		t.Errorf("long path tag %q; want %s#<hash>:<start of the path>, at most %d bytes", own, routecache.TagPrefix, regen.MaxTagLen)
	}
	if a, b := routecache.PathTag(long, routecache.Page), routecache.PathTag(other, routecache.Page); a == b {
		t.Errorf("two long paths share the tag %q", a)
	}
	if got := routecache.PathTag("/p/short", routecache.Page); got != "_N_T_/p/short" {
		t.Errorf("PathTag(/p/short) = %q; want _N_T_/p/short", got)
	}

	if err := c.RevalidatePath(ctx, long, routecache.Page, regen.RevalidateExpire, t0.Add(1)); err != nil {
		t.Fatal(err)
	}
	if _, st, _ := c.Get(ctx, long, t0.Add(2)); st != regen.Miss {
		t.Errorf("Get(long path) after RevalidatePath = %v; want MISS", st)
	}
	if _, st, _ := c.Get(ctx, other, t0.Add(2)); st != regen.Hit {
		t.Errorf("Get(other long path) after RevalidatePath(long path) = %v; want HIT", st)
	}
}

// TestLongTagsCutAtCharacters: the readable part of a hashed tag is cut at
// a character boundary, and long layout names hash the same way in
// RouteTags and PathTag.
func TestLongTagsCutAtCharacters(t *testing.T) {
	for n := range 4 {
		p := "/" + strings.Repeat("x", n) + strings.Repeat("é", 300)
		tag := routecache.PathTag(p, routecache.Page)
		if err := regen.CheckTag(tag); err != nil {
			t.Errorf("PathTag(/%sééé...) = %q: %v", strings.Repeat("x", n), tag, err)
		}
	}
	route := "/" + strings.Repeat("s", 300) + "/[id]"
	layout := "/" + strings.Repeat("s", 300)
	if got, want := routecache.RouteTags(route)[1], routecache.PathTag(layout, routecache.Layout); got != want {
		t.Errorf("RouteTags layout tag %q; PathTag(layout) %q: want the same", got, want)
	}
	if got, want := routecache.RouteTags(route)[3], routecache.PathTag(route, routecache.Page); got != want {
		t.Errorf("RouteTags page tag %q; PathTag(route) %q: want the same", got, want)
	}
}

// TestCacheTags: an entry's tags are its declared tags that keep the
// limits, then its implicit tags; each reason for a drop is reported once
// per route, and the reports are bounded.
func TestCacheTags(t *testing.T) {
	c := routecache.New(store.NewMemory(store.MemoryOptions{}))
	route := "/products/[slug]"
	rt := routecache.RouteTags(route)
	long := "product-" + strings.Repeat("x", regen.MaxTagLen)
	tags, reported := c.Tags(route, "/products/x", rt, []string{"products", long, "a\nb"})
	want := append([]string{"products"}, routecache.ImplicitTags(route, "/products/x")...)
	if diff := cmp.Diff(want, tags); diff != "" {
		t.Errorf("Tags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]regen.DroppedTag{{Tag: long, Reason: regen.TagTooLong}, {Tag: "a\nb", Reason: regen.TagControl}}, reported); diff != "" {
		t.Errorf("reported drops (-want +got):\n%s", diff)
	}
	// The same reasons again, on another path of the route: not reported.
	if _, reported := c.Tags(route, "/products/y", rt, []string{long + "y", "c\rd"}); len(reported) != 0 {
		t.Errorf("second drop for the same route and reasons reported %v; want none", reported)
	}
	// Another route: reported.
	if _, reported := c.Tags("/other", "/other", routecache.RouteTags("/other"), []string{long}); len(reported) != 1 {
		t.Errorf("drop on another route reported %v; want one", reported)
	}
	// Many routes: the reports stop, bounded.
	n := 0
	for i := range 5000 {
		r := fmt.Sprint("/r", i)
		_, reported := c.Tags(r, r, nil, []string{long})
		n += len(reported)
	}
	if n >= 5000 || n == 0 {
		t.Errorf("5000 routes with a dropped tag reported %d drops; want some, bounded", n)
	}
	// Nothing dropped: nothing reported.
	if _, reported := c.Tags(route, "/products/z", rt, []string{"products"}); reported != nil {
		t.Errorf("valid tags reported %v; want nil", reported)
	}
}

func TestRouteOf(t *testing.T) {
	tests := []struct {
		route, path string
		extra       []string
	}{
		{"/", "/", nil},
		{"/blog/[slug]", "/blog/hello", []string{"posts"}},
		{"/page", "/page", nil},
		{"/[slug]", "/page", nil},
		{"/docs/[...rest]", "/docs/a/page", nil},
		{"/(shop)/cart", "/cart", []string{"_N_T_/other/page"}},
	}
	for _, tt := range tests {
		tags := append(tt.extra, routecache.ImplicitTags(tt.route, tt.path)...)
		if got := routecache.RouteOf(tt.path, tags); got != tt.route {
			t.Errorf("RouteOf(%q, %q) = %q; want %q", tt.path, tags, got, tt.route)
		}
	}
	if got := routecache.RouteOf("/x", []string{"posts"}); got != "" {
		t.Errorf("routeOf without implicit tags = %q; want \"\"", got)
	}
	long := "/p/" + strings.Repeat("x", 300)
	if got := routecache.RouteOf(long, routecache.ImplicitTags("/p/[slug]", long)); got != "/p/[slug]" {
		t.Errorf("RouteOf of a long path = %q; want /p/[slug] (its own, hashed tag skipped)", got)
	}
}
