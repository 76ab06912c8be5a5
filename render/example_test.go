package render_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
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

// printStream is a render.Stream that prints what it receives.
type printStream struct{}

func (printStream) Start(status int, header http.Header, rec *render.Record) {
	fmt.Println("start", status)
}

func (printStream) Write(p []byte) (int, error) {
	fmt.Printf("write %q\n", p)
	return len(p), nil
}

func (printStream) Flush() error { return nil }

// A render with a Stream: nothing leaves until the page writes its first
// byte; then the layout's head and that byte leave together, and the rest
// as each segment returns.
func ExampleStream() {
	layout := render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		io.WriteString(w, "<head>")
		if err := child.Render(ctx, w); err != nil {
			return err
		}
		_, err := io.WriteString(w, "</body>")
		return err
	})
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		io.WriteString(w, "<h1>")
		fmt.Println("(the page goes on rendering)")
		_, err := io.WriteString(w, "</h1>")
		return err
	})
	res, err := render.Render(context.Background(), &render.Job{
		Route: "/", Path: "/", Stream: printStream{},
		Segments: []render.Segment{
			{Kind: render.LayoutSegment, Path: "/", Layout: layout},
			{Kind: render.PageSegment, Path: "/", Page: page},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Streamed == render.StreamedAll, string(res.Body))
	// Output:
	// start 200
	// write "<head><h1>"
	// (the page goes on rendering)
	// write "</h1>"
	// write "</body>"
	// true <head><h1></h1></body>
}
