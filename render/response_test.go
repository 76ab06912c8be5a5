package render_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen/render"
)

func pageFunc(f func(s *render.Scope, w io.Writer) error) render.Page {
	return render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error { return f(s, w) })
}

func layoutFunc(f func(s *render.Scope, w io.Writer, child render.Child) error) render.Layout {
	return render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		return f(s, w, child)
	})
}

func TestResponse(t *testing.T) {
	tests := []struct {
		name   string
		layout render.Layout
		page   render.Page
		status int
		header http.Header
		body   string
	}{
		{
			name:   "nothing set",
			layout: wrap("l"), page: text("p"),
			status: 200, body: "<l>p</l>",
		},
		{
			name: "status and headers from page and layout",
			layout: layoutFunc(func(s *render.Scope, w io.Writer, child render.Child) error {
				s.SetHeader("content-language", "en")
				s.AddHeader("Link", "</b>")
				return child.Render(context.Background(), w)
			}),
			page: pageFunc(func(s *render.Scope, w io.Writer) error {
				s.SetStatus(202)
				s.SetHeader("Content-Type", "application/json")
				s.AddHeader("Link", "</a>")
				_, err := io.WriteString(w, "{}")
				return err
			}),
			status: 202,
			header: http.Header{"Content-Type": {"application/json"}, "Content-Language": {"en"}, "Link": {"</b>", "</a>"}},
			body:   "{}",
		},
		{
			name: "the page's status wins, set last",
			layout: layoutFunc(func(s *render.Scope, w io.Writer, child render.Child) error {
				s.SetStatus(410)
				return child.Render(context.Background(), w)
			}),
			page:   pageFunc(func(s *render.Scope, w io.Writer) error { s.SetStatus(203); return nil }),
			status: 203,
		},
		{
			name: "notFound wins over a set status",
			layout: layoutFunc(func(s *render.Scope, w io.Writer, child render.Child) error {
				s.SetStatus(200)
				return child.Render(context.Background(), w)
			}),
			page:   pageFunc(func(s *render.Scope, w io.Writer) error { return render.ErrNotFound }),
			status: 404, body: render.NotFoundBody,
		},
		{
			name:   "a page's redirect skips the layouts",
			layout: wrap("l"),
			page: pageFunc(func(s *render.Scope, w io.Writer) error {
				s.SetStatus(203)
				s.SetHeader("X-Robots-Tag", "noindex")
				io.WriteString(w, "dropped")
				return render.Redirect("/new", false)
			}),
			status: 307,
			header: http.Header{"Location": {"/new"}, "X-Robots-Tag": {"noindex"}},
			body:   string(render.RedirectBody("/new", 307)),
		},
		{
			name: "a layout's wrapped redirect drops the page",
			layout: layoutFunc(func(s *render.Scope, w io.Writer, child render.Child) error {
				return fmt.Errorf("moved: %w", render.Redirect("https://example.com/?a=1&b=2", true))
			}),
			page:   text("p"),
			status: 308,
			header: http.Header{"Location": {"https://example.com/?a=1&b=2"}},
			body:   string(render.RedirectBody("https://example.com/?a=1&b=2", 308)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := render.Render(context.Background(), &render.Job{
				Route:    "/p",
				Path:     "/p",
				Segments: []render.Segment{layoutSeg("/", tt.layout), pageSeg("/p", tt.page)},
			})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if res.Status != tt.status {
				t.Errorf("Status = %d; want %d", res.Status, tt.status)
			}
			if diff := cmp.Diff(tt.header, res.Header); diff != "" {
				t.Errorf("Header (-want +got):\n%s", diff)
			}
			if tt.body != "" && string(res.Body) != tt.body {
				t.Errorf("Body = %q; want %q", res.Body, tt.body)
			}
		})
	}
}

func TestRedirectBody(t *testing.T) {
	tests := []struct {
		url    string
		status int
		want   string
	}{
		{"/a", 307, `content="1;url=/a"`},
		{"/a", 308, `content="0;url=/a"`},
		{`/"><script>`, 307, `content="1;url=/&#34;&gt;&lt;script&gt;"`},
	}
	for _, tt := range tests {
		if got := string(render.RedirectBody(tt.url, tt.status)); !strings.Contains(got, tt.want) {
			t.Errorf("RedirectBody(%q, %d) = %q; want it to hold %q", tt.url, tt.status, got, tt.want)
		}
	}
}

func TestResponseRefused(t *testing.T) {
	tests := []struct {
		name string
		page render.Page
		want string
	}{
		{"Set-Cookie", pageFunc(func(s *render.Scope, w io.Writer) error { s.SetHeader("set-cookie", "a=1"); return nil }), `page "/p": Set-Cookie`},
		{"Location", pageFunc(func(s *render.Scope, w io.Writer) error { s.AddHeader("Location", "/x"); return nil }), "return render.Redirect"},
		{"bad name", pageFunc(func(s *render.Scope, w io.Writer) error { s.SetHeader("X:Y", "1"); return nil }), `header name "X:Y" is not a token`},
		{"empty name", pageFunc(func(s *render.Scope, w io.Writer) error { s.SetHeader("", "1"); return nil }), `header name "" is not a token`},
		{"control in value", pageFunc(func(s *render.Scope, w io.Writer) error { s.SetHeader("X-A", "a\nb"); return nil }), "control character"},
		{"status 1xx", pageFunc(func(s *render.Scope, w io.Writer) error { s.SetStatus(103); return nil }), "status 103 (must be 200 to 599)"},
		{"empty redirect", pageFunc(func(s *render.Scope, w io.Writer) error { return render.Redirect("", false) }), "empty URL"},
		{"redirect status", pageFunc(func(s *render.Scope, w io.Writer) error { return &render.RedirectError{URL: "/a", Status: 302} }), "must be 307 or 308"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := render.Render(context.Background(), &render.Job{Route: "/p", Path: "/p", Segments: []render.Segment{pageSeg("/p", tt.page)}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render = %v, %v; want an error holding %q", res, err, tt.want)
			}
		})
	}
}

// TestResponseConcurrent: a segment's goroutines set headers at once.
func TestResponseConcurrent(t *testing.T) {
	page := pageFunc(func(s *render.Scope, w io.Writer) error {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				s.AddHeader("X-N", fmt.Sprint(i))
				s.SetStatus(200 + i)
			})
		}
		wg.Wait()
		return nil
	})
	res, err := render.Render(context.Background(), &render.Job{Route: "/p", Path: "/p", Segments: []render.Segment{pageSeg("/p", page)}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Header["X-N"]); n != 20 || res.Status < 200 || res.Status >= 220 {
		t.Errorf("%d X-N values, status %d; want 20 values, a status from 200 to 219", n, res.Status)
	}
}

// TestResponseAfterEnd: a goroutine that outlives its render sets nothing.
func TestResponseAfterEnd(t *testing.T) {
	var scope *render.Scope
	res, err := render.Render(context.Background(), &render.Job{Route: "/p", Path: "/p", Segments: []render.Segment{
		pageSeg("/p", pageFunc(func(s *render.Scope, w io.Writer) error { scope = s; return nil }))}})
	if err != nil {
		t.Fatal(err)
	}
	scope.SetHeader("X-Late", "1")
	scope.SetStatus(500)
	if res.Header != nil || res.Status != 200 {
		t.Errorf("after the render: Header %v, Status %d; want nil, 200", res.Header, res.Status)
	}
}
