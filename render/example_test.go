package render_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"

	"github.com/regen-dev/regen/render"
)

// A root layout around a blog post page. The layout reads a cookie, a
// dynamic API, and the record says so: the engine learns from it that the
// route is dynamic.
func Example() {
	root := render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		theme, ok := s.Cookie("theme")
		if !ok {
			theme = "light"
		}
		fmt.Fprintf(w, "<html class=%q><body>", theme)
		if err := child.Render(ctx, w); err != nil {
			return err
		}
		io.WriteString(w, "</body></html>")
		return nil
	})
	post := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		fmt.Fprintf(w, "<h1>Post %s</h1>", s.Param("slug"))
		return nil
	})

	req := httptest.NewRequest("GET", "/blog/hello", nil)
	req.Header.Set("Cookie", "theme=dark")
	res, err := render.Render(context.Background(), &render.Job{
		Route:  "/blog/[slug]",
		Path:   "/blog/hello",
		Params: render.Params{"slug": "hello"},
		Segments: []render.Segment{
			{Kind: render.LayoutSegment, Path: "/", Layout: root},
			{Kind: render.PageSegment, Path: "/blog/[slug]", Page: post},
		},
		Request: req,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status)
	fmt.Println(string(res.Body))
	for _, r := range res.Record.Reads {
		fmt.Printf("%s read %s\n", r.Segment, r.API)
	}
	// Output:
	// 200
	// <html class="dark"><body><h1>Post hello</h1></body></html>
	// layout "/" read cookies
}
