package regentest_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/regentest"
	"github.com/regen-dev/regen/render"
)

// exampleT is a regentest.T for examples, which have no *testing.T: it
// prints failures and runs cleanups when done.
type exampleT struct{ cleanups []func() }

func (t *exampleT) Helper() {}
func (t *exampleT) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stdout, "FAIL: "+format+"\n", args...)
}
func (t *exampleT) Fatalf(format string, args ...any) { t.Errorf(format, args...); panic("fatal") }
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) done() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// blog is a site whose post pages fetch their post from a CMS, tagged
// "posts", and are regenerated at most every minute.
func blog() *engine.Site {
	var site engine.Site
	site.Page("/blog/[slug]", engine.Page{Revalidate: regen.Seconds(60), Render: render.PageFunc(
		func(ctx context.Context, s *render.Scope, w io.Writer) error {
			post, err := s.Fetch(ctx, &fetchcache.Request{URL: "https://cms.example/posts/" + s.Param("slug"), Tags: []string{"posts"}})
			if err != nil {
				return err
			}
			_, err = w.Write(post.Body)
			return err
		})})
	return &site
}

// An ISR page: rendered on its first request, fresh for a minute, then
// served stale once while it regenerates.
func Example() {
	t := &exampleT{}
	defer t.done()
	h := regentest.New(t, blog(), regentest.Options{})
	h.Origin.Set("https://cms.example/posts/hello", "Hello v1")

	fmt.Println(h.Expect("/blog/hello", "MISS"))
	fmt.Println(h.Expect("/blog/hello", "HIT"))
	h.Origin.Set("https://cms.example/posts/hello", "Hello v2")
	h.Advance(time.Minute)
	fmt.Println(h.Expect("/blog/hello", "STALE")) // the old page, while it regenerates
	fmt.Println(h.Expect("/blog/hello", "HIT"))
	fmt.Println(h.Origin.Calls("https://cms.example/posts/hello"), "origin calls")
	// Output:
	// 200 MISS "Hello v1"
	// 200 HIT "Hello v1"
	// 200 STALE "Hello v1"
	// 200 HIT "Hello v2"
	// 2 origin calls
}

// A tag revalidation, as a CMS webhook would make it, at the same instant
// as the render it follows.
func ExampleHarness_RevalidateTag() {
	t := &exampleT{}
	defer t.done()
	h := regentest.New(t, blog(), regentest.Options{})
	h.Origin.Set("https://cms.example/posts/hello", "Hello v1")
	h.Expect("/blog/hello", "MISS")

	h.Origin.Set("https://cms.example/posts/hello", "Hello v2")
	h.RevalidateTag("posts")
	fmt.Println(h.Expect("/blog/hello", "STALE"))
	fmt.Println(h.Expect("/blog/hello", "HIT"))
	// Output:
	// 200 STALE "Hello v1"
	// 200 HIT "Hello v2"
}

// A layout that reads a cookie makes every page below it dynamic: rendered
// per request, never cached. The policy says why.
func ExampleHarness_ExpectPolicy() {
	t := &exampleT{}
	defer t.done()
	var site engine.Site
	site.Layout("/", engine.Layout{Uses: []regen.API{regen.Cookies}, Render: render.LayoutFunc(
		func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			theme, _ := s.Cookie("theme")
			fmt.Fprintf(w, "[theme %s] ", theme)
			return child.Render(ctx, w)
		})})
	site.Page("/about", engine.Page{Revalidate: regen.Seconds(3600), Render: render.PageFunc(
		func(ctx context.Context, s *render.Scope, w io.Writer) error {
			_, err := io.WriteString(w, "about")
			return err
		})})
	h := regentest.New(t, &site, regentest.Options{})

	h.ExpectPolicy("/about", engine.Dynamic, regen.Never)
	p := h.Policy("/about")
	fmt.Println(p.String())
	fmt.Println(h.Expect("/about", "BYPASS", "Cookie", "theme=dark"))
	// Output:
	// dynamic because layout / reads cookies
	// 200 BYPASS "[theme dark] about"
}

// An origin that fails keeps the last good page: the regeneration fails,
// the page is served stale and retried after a back-off.
func ExampleOrigin_Fail() {
	t := &exampleT{}
	defer t.done()
	h := regentest.New(t, blog(), regentest.Options{Engine: engine.Options{Logger: quiet}})
	h.Origin.Set("https://cms.example/posts/hello", "Hello v1")
	h.Expect("/blog/hello", "MISS")

	h.Origin.Fail("https://cms.example/posts/hello")
	h.Advance(time.Minute)
	fmt.Println(h.Expect("/blog/hello", "STALE")) // the regeneration fails
	fmt.Println(h.Expect("/blog/hello", "STALE")) // still the last good page

	h.Origin.Set("https://cms.example/posts/hello", "Hello v2")
	h.Advance(engine.DefaultRetryBackoff) // the back-off after the failure
	fmt.Println(h.Expect("/blog/hello", "STALE"))
	fmt.Println(h.Expect("/blog/hello", "HIT"))
	// Output:
	// 200 STALE "Hello v1"
	// 200 STALE "Hello v1"
	// 200 STALE "Hello v1"
	// 200 HIT "Hello v2"
}
