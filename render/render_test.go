package render_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
)

// wrap returns a layout that writes <name>child</name>.
func wrap(name string) render.Layout {
	return render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		fmt.Fprintf(w, "<%s>", name)
		if err := child.Render(ctx, w); err != nil {
			return err
		}
		fmt.Fprintf(w, "</%s>", name)
		return nil
	})
}

// text returns a page that writes s.
func text(s string) render.Page {
	return render.PageFunc(func(ctx context.Context, _ *render.Scope, w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	})
}

func layoutSeg(path string, l render.Layout) render.Segment {
	return render.Segment{Kind: render.LayoutSegment, Path: path, Layout: l}
}

func pageSeg(path string, p render.Page) render.Segment {
	return render.Segment{Kind: render.PageSegment, Path: path, Page: p}
}

func TestSegmentString(t *testing.T) {
	tests := []struct {
		seg  render.Segment
		want string
	}{
		{render.Segment{Kind: render.LayoutSegment, Path: "/blog"}, `layout "/blog"`},
		{render.Segment{Kind: render.PageSegment, Path: "/blog/[slug]"}, `page "/blog/[slug]"`},
		{render.Segment{Kind: render.LayoutSegment, Path: "/(shop)"}, `layout "/(shop)"`},
		{render.Segment{Path: "/x"}, `segment "/x"`},
	}
	for _, tt := range tests {
		if got := tt.seg.String(); got != tt.want {
			t.Errorf("Segment{Kind: %d, Path: %q}.String() = %s; want %s", tt.seg.Kind, tt.seg.Path, got, tt.want)
		}
	}
}

func TestRenderNesting(t *testing.T) {
	tests := []struct {
		name     string
		segments []render.Segment
		want     string
	}{
		{
			name:     "page alone",
			segments: []render.Segment{pageSeg("/", text("home"))},
			want:     "home",
		},
		{
			name: "root outermost",
			segments: []render.Segment{
				layoutSeg("/", wrap("html")),
				layoutSeg("/blog", wrap("main")),
				pageSeg("/blog/[slug]", text("post")),
			},
			want: "<html><main>post</main></html>",
		},
		{
			name: "nil layout passes its child",
			segments: []render.Segment{
				layoutSeg("/", wrap("html")),
				layoutSeg("/(shop)", nil),
				layoutSeg("/(shop)/cart", wrap("cart")),
				pageSeg("/(shop)/cart/items", text("items")),
			},
			want: "<html><cart>items</cart></html>",
		},
		{
			name: "nil layouts only",
			segments: []render.Segment{
				layoutSeg("/", nil),
				layoutSeg("/a", nil),
				pageSeg("/a/b", text("b")),
			},
			want: "b",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := render.Render(t.Context(), &render.Job{Route: "/r", Path: "/r", Segments: tt.segments})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if res.Status != http.StatusOK {
				t.Errorf("Render status = %d; want %d", res.Status, http.StatusOK)
			}
			if diff := cmp.Diff(tt.want, string(res.Body)); diff != "" {
				t.Errorf("Render body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderChildIntoOwnWriter checks that a layout that renders its child
// into a writer of its own receives exactly the output of the segments
// below it, whole.
func TestRenderChildIntoOwnWriter(t *testing.T) {
	var got []string
	record := func(name string) render.Layout {
		return render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			var b strings.Builder
			if err := child.Render(ctx, &b); err != nil {
				return err
			}
			got = append(got, fmt.Sprintf("%s saw %q", s.Segment(), b.String()))
			fmt.Fprintf(w, "%s(%s)", name, b.String())
			return nil
		})
	}
	res, err := render.Render(t.Context(), &render.Job{Route: "/a/b", Path: "/a/b", Segments: []render.Segment{
		layoutSeg("/", record("root")),
		layoutSeg("/a", record("a")),
		pageSeg("/a/b", text("b")),
	}})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := []string{`layout "/a" saw "b"`, `layout "/" saw "a(b)"`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layout children mismatch (-want +got):\n%s", diff)
	}
	if got, want := string(res.Body), "root(a(b))"; got != want {
		t.Errorf("Body = %q; want %q", got, want)
	}
}

// TestRenderBodyIsOwned checks that a Result's Body does not share memory
// with the buffers later renders reuse.
func TestRenderBodyIsOwned(t *testing.T) {
	job := func(s string) *render.Job {
		return &render.Job{Route: "/", Path: "/", Segments: []render.Segment{
			layoutSeg("/", wrap("html")),
			pageSeg("/", text(s)),
		}}
	}
	first, err := render.Render(t.Context(), job("first"))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	for range 10 {
		if _, err := render.Render(t.Context(), job("second, and longer")); err != nil {
			t.Fatalf("Render: %v", err)
		}
	}
	if got, want := string(first.Body), "<html>first</html>"; got != want {
		t.Errorf("first Body after later renders = %q; want %q", got, want)
	}
}

var errBoom = errors.New("boom")

func TestRenderErrors(t *testing.T) {
	failingPage := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		io.WriteString(w, "half a page")
		return errBoom
	})
	failingLayout := render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		return fmt.Errorf("nav: %w", errBoom)
	})
	tests := []struct {
		name     string
		segments []render.Segment
		wantErr  string
		wantIs   error
	}{
		{
			name:     "page error",
			segments: []render.Segment{layoutSeg("/", wrap("html")), pageSeg("/blog/[slug]", failingPage)},
			wantErr:  `render: route "/blog/[slug]": page "/blog/[slug]": boom`,
			wantIs:   errBoom,
		},
		{
			name:     "layout error",
			segments: []render.Segment{layoutSeg("/", wrap("html")), layoutSeg("/blog", failingLayout), pageSeg("/blog/[slug]", text("post"))},
			wantErr:  `render: route "/blog/[slug]": layout "/blog": nav: boom`,
			wantIs:   errBoom,
		},
		{
			name:     "no segments",
			segments: nil,
			wantErr:  `render: route "/blog/[slug]": no segments (want layouts, then a page)`,
		},
		{
			name:     "last segment a layout",
			segments: []render.Segment{layoutSeg("/", wrap("html"))},
			wantErr:  `render: route "/blog/[slug]": last segment is layout "/" (must be a page)`,
		},
		{
			name:     "page before the last",
			segments: []render.Segment{pageSeg("/", text("home")), pageSeg("/blog/[slug]", text("post"))},
			wantErr:  `render: route "/blog/[slug]": page "/" before the last segment (only layouts may wrap the page)`,
		},
		{
			name:     "page without renderer",
			segments: []render.Segment{pageSeg("/blog/[slug]", nil)},
			wantErr:  `render: route "/blog/[slug]": page "/blog/[slug]" has no renderer`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := render.Render(t.Context(), &render.Job{Route: "/blog/[slug]", Path: "/blog/hello", Segments: tt.segments})
			if err == nil {
				t.Fatalf("Render = %q, nil; want error %q", res.Body, tt.wantErr)
			}
			if res != nil {
				t.Errorf("Render result = %+v; want nil on error", res)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("Render error = %q; want %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false; want true", err, tt.wantIs)
			}
		})
	}
}

func TestRenderPanic(t *testing.T) {
	tests := []struct {
		name     string
		segments []render.Segment
		wantSeg  string
		wantErr  string
	}{
		{
			name: "page",
			segments: []render.Segment{
				layoutSeg("/", wrap("html")),
				pageSeg("/p", render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
					panic("page exploded")
				})),
			},
			wantSeg: `page "/p"`,
			wantErr: `render: route "/p": page "/p": panic: page exploded`,
		},
		{
			name: "layout",
			segments: []render.Segment{
				layoutSeg("/", render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
					var m map[string]int
					m["x"] = 1 // a runtime panic
					return nil
				})),
				pageSeg("/p", text("p")),
			},
			wantSeg: `layout "/"`,
			wantErr: `render: route "/p": layout "/": panic: assignment to entry in nil map`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := render.Render(t.Context(), &render.Job{Route: "/p", Path: "/p", Segments: tt.segments})
			if res != nil {
				t.Errorf("Render result = %+v; want nil after a panic", res)
			}
			var pe *render.PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("Render error = %v; want a *PanicError", err)
			}
			if pe.Segment != tt.wantSeg {
				t.Errorf("PanicError.Segment = %s; want %s", pe.Segment, tt.wantSeg)
			}
			if !strings.Contains(string(pe.Stack), "render_test.go") {
				t.Errorf("PanicError.Stack does not name the panicking function:\n%s", pe.Stack)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("Render error = %q; want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRenderNotFound(t *testing.T) {
	notFound := func(err error) render.Page {
		return render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			io.WriteString(w, "half a page")
			return err
		})
	}
	tests := []struct {
		name     string
		segments []render.Segment
		want     string
	}{
		{
			name: "page",
			segments: []render.Segment{
				layoutSeg("/", wrap("html")),
				layoutSeg("/blog", wrap("main")),
				pageSeg("/blog/[slug]", notFound(render.ErrNotFound)),
			},
			want: "<html><main>" + render.NotFoundBody + "</main></html>",
		},
		{
			name: "wrapped",
			segments: []render.Segment{
				layoutSeg("/", wrap("html")),
				pageSeg("/blog/[slug]", notFound(fmt.Errorf("post %q: %w", "hello", render.ErrNotFound))),
			},
			want: "<html>" + render.NotFoundBody + "</html>",
		},
		{
			name: "layout",
			segments: []render.Segment{
				layoutSeg("/", wrap("html")),
				layoutSeg("/blog", render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
					if err := child.Render(ctx, w); err != nil {
						return err
					}
					return render.ErrNotFound
				})),
				pageSeg("/blog/[slug]", text("post")),
			},
			want: "<html>" + render.NotFoundBody + "</html>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := render.Render(t.Context(), &render.Job{Route: "/blog/[slug]", Path: "/blog/hello", Segments: tt.segments})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if res.Status != http.StatusNotFound {
				t.Errorf("Render status = %d; want %d", res.Status, http.StatusNotFound)
			}
			if diff := cmp.Diff(tt.want, string(res.Body)); diff != "" {
				t.Errorf("Render body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := render.Render(ctx, &render.Job{Route: "/", Path: "/", Segments: []render.Segment{pageSeg("/", text("home"))}})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("Render(canceled) = %v, %v; want nil, context.Canceled", res, err)
	}
	if want := `render: route "/": page "/": context canceled`; err.Error() != want {
		t.Errorf("Render(canceled) error = %q; want %q", err, want)
	}
}

func TestScopeAccessors(t *testing.T) {
	tests := []struct {
		name   string
		params render.Params
		want   string
	}{
		{"params", render.Params{"slug": "hello", "rest": "a/b"}, `/blog/[slug] /blog/hello page "/blog/[slug]" slug=hello missing= params=2`},
		{"nil params", nil, `/blog/[slug] /blog/hello page "/blog/[slug]" slug= missing= params=0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
				if s.Params() == nil {
					return errors.New("Params() = nil")
				}
				fmt.Fprintf(w, "%s %s %s slug=%s missing=%s params=%d",
					s.Route(), s.Path(), s.Segment(), s.Param("slug"), s.Param("missing"), len(s.Params()))
				return nil
			})
			res, err := render.Render(t.Context(), &render.Job{
				Route:    "/blog/[slug]",
				Path:     "/blog/hello",
				Params:   tt.params,
				Segments: []render.Segment{pageSeg("/blog/[slug]", page)},
			})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(res.Body)); diff != "" {
				t.Errorf("Render body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// request returns a request with a cookie, a header and a query.
func request() *http.Request {
	r := httptest.NewRequest("GET", "/blog/hello?sort=new&page=2", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: "s1"})
	r.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	r.Header.Set("Accept-Language", "fr")
	return r
}

// reads maps each dynamic API accessor to what a page writes after using it.
var reads = map[string]func(s *render.Scope) string{
	"Cookies": func(s *render.Scope) string {
		var names []string
		for _, c := range s.Cookies() {
			names = append(names, c.Name+"="+c.Value)
		}
		return fmt.Sprintf("cookies %v", names)
	},
	"Cookie": func(s *render.Scope) string {
		v, ok := s.Cookie("session")
		return fmt.Sprintf("cookie %q %v", v, ok)
	},
	"Headers": func(s *render.Scope) string {
		h := s.Headers()
		if h == nil {
			return "headers nil"
		}
		return fmt.Sprintf("headers %q", h.Get("Accept-Language"))
	},
	"Header": func(s *render.Scope) string {
		return fmt.Sprintf("header %q", s.Header("Accept-Language"))
	},
	"SearchParams": func(s *render.Scope) string {
		q := s.SearchParams()
		if q == nil {
			return "query nil"
		}
		return fmt.Sprintf("query %q", q.Encode())
	},
}

var apiOf = map[string]regen.API{
	"Cookies":      regen.Cookies,
	"Cookie":       regen.Cookies,
	"Headers":      regen.Headers,
	"Header":       regen.Headers,
	"SearchParams": regen.SearchParams,
}

func TestDynamicAPIs(t *testing.T) {
	full := map[string]string{
		"Cookies":      "cookies [session=s1 theme=dark]",
		"Cookie":       `cookie "s1" true`,
		"Headers":      `headers "fr"`,
		"Header":       `header "fr"`,
		"SearchParams": `query "page=2&sort=new"`,
	}
	empty := map[string]string{
		"Cookies":      "cookies []",
		"Cookie":       `cookie "" false`,
		"Headers":      `headers ""`,
		"Header":       `header ""`,
		"SearchParams": `query ""`,
	}
	tests := []struct {
		name      string
		mode      regen.Dynamic
		req       *http.Request
		want      map[string]string
		wantReads bool
		wantErr   bool
	}{
		{name: "not declared", mode: regen.DynamicNotDeclared, req: request(), want: full, wantReads: true},
		{name: "auto", mode: regen.Auto, req: request(), want: full, wantReads: true},
		{name: "force-dynamic", mode: regen.ForceDynamic, req: request(), want: full, wantReads: true},
		{name: "auto prerender", mode: regen.Auto, req: nil, want: empty, wantReads: true},
		{name: "force-static", mode: regen.ForceStatic, req: request(), want: empty},
		{name: "force-static prerender", mode: regen.ForceStatic, req: nil, want: empty},
		{name: "error", mode: regen.DynamicError, req: request(), wantErr: true},
		{name: "error prerender", mode: regen.DynamicError, req: nil, wantErr: true},
	}
	for _, tt := range tests {
		for api, read := range reads {
			t.Run(tt.name+"/"+api, func(t *testing.T) {
				page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
					io.WriteString(w, read(s))
					return nil
				})
				var req *http.Request
				if tt.req != nil {
					req = request()
				}
				res, err := render.Render(t.Context(), &render.Job{
					Route:    "/blog/[slug]",
					Path:     "/blog/hello",
					Mode:     tt.mode,
					Request:  req,
					Segments: []render.Segment{layoutSeg("/", nil), pageSeg("/blog/[slug]", page)},
				})
				if tt.wantErr {
					want := fmt.Sprintf(`render: route "/blog/[slug]": page "/blog/[slug]": dynamic = "error" but the render read %s (remove the read, or use force-static or force-dynamic)`, apiOf[api])
					if err == nil || err.Error() != want {
						t.Fatalf("Render error = %v; want %q", err, want)
					}
					var me *render.ModeError
					if !errors.As(err, &me) {
						t.Fatalf("Render error = %T; want *ModeError", err)
					}
					wantME := &render.ModeError{Route: "/blog/[slug]", Segment: `page "/blog/[slug]"`, API: apiOf[api].String()}
					if diff := cmp.Diff(wantME, me); diff != "" {
						t.Errorf("ModeError mismatch (-want +got):\n%s", diff)
					}
					if res != nil {
						t.Errorf("Render result = %+v; want nil", res)
					}
					return
				}
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if diff := cmp.Diff(tt.want[api], string(res.Body)); diff != "" {
					t.Errorf("%s() mismatch (-want +got):\n%s", api, diff)
				}
				var want render.Record
				if tt.wantReads {
					want.Reads = []render.Read{{Segment: `page "/blog/[slug]"`, API: apiOf[api]}}
				}
				if diff := cmp.Diff(want, res.Record); diff != "" {
					t.Errorf("Record mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestReadsRecorded checks that reads are recorded once per segment and API,
// in the order of first reads, including reads from a segment's goroutines.
func TestReadsRecorded(t *testing.T) {
	layout := render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		s.Cookie("theme")
		s.Cookies()
		if err := child.Render(ctx, w); err != nil {
			return err
		}
		return nil
	})
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		s.SearchParams()
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { s.Header("Accept-Language") })
		}
		wg.Wait()
		s.SearchParams()
		return nil
	})
	res, err := render.Render(t.Context(), &render.Job{
		Route:    "/blog/[slug]",
		Path:     "/blog/hello",
		Request:  request(),
		Segments: []render.Segment{layoutSeg("/", layout), pageSeg("/blog/[slug]", page)},
	})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	want := render.Record{Reads: []render.Read{
		{Segment: `layout "/"`, API: regen.Cookies},
		{Segment: `page "/blog/[slug]"`, API: regen.SearchParams},
		{Segment: `page "/blog/[slug]"`, API: regen.Headers},
	}}
	if diff := cmp.Diff(want, res.Record); diff != "" {
		t.Errorf("Record mismatch (-want +got):\n%s", diff)
	}
}

// TestModeErrorFirstViolation checks that error mode fails the render with
// its first violation, whether the segment ignored the empty values, failed,
// or panicked on them.
func TestModeErrorFirstViolation(t *testing.T) {
	tests := []struct {
		name string
		page render.PageFunc
	}{
		{"ignored", func(ctx context.Context, s *render.Scope, w io.Writer) error {
			s.Headers()
			s.Cookies()
			return nil
		}},
		{"error", func(ctx context.Context, s *render.Scope, w io.Writer) error {
			if s.Header("Authorization") == "" {
				return errors.New("not signed in")
			}
			return nil
		}},
		{"panic", func(ctx context.Context, s *render.Scope, w io.Writer) error {
			_ = s.Headers()["Authorization"][0]
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layout := render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
				if err := child.Render(ctx, w); err != nil {
					return err
				}
				s.SearchParams() // never runs: the page failed first
				return nil
			})
			res, err := render.Render(t.Context(), &render.Job{
				Route:    "/account",
				Path:     "/account",
				Mode:     regen.DynamicError,
				Request:  request(),
				Segments: []render.Segment{layoutSeg("/", layout), pageSeg("/account", tt.page)},
			})
			want := &render.ModeError{Route: "/account", Segment: `page "/account"`, API: "headers"}
			var me *render.ModeError
			if !errors.As(err, &me) {
				t.Fatalf("Render = %v, %v; want a *ModeError", res, err)
			}
			if diff := cmp.Diff(want, me); diff != "" {
				t.Errorf("ModeError mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestModeErrorMessage(t *testing.T) {
	tests := []struct {
		err  *render.ModeError
		want string
	}{
		{
			&render.ModeError{Route: "/x", Segment: `page "/x"`, API: "cookies"},
			`render: route "/x": page "/x": dynamic = "error" but the render read cookies (remove the read, or use force-static or force-dynamic)`,
		},
		{
			&render.ModeError{Route: "/shop/[id]", Segment: `layout "/shop"`, API: "searchParams"},
			`render: route "/shop/[id]": layout "/shop": dynamic = "error" but the render read searchParams (remove the read, or use force-static or force-dynamic)`,
		},
		{
			&render.ModeError{Route: "/x", Segment: `page "/x"`, API: "uncached fetch https://api.example.com/posts"},
			`render: route "/x": page "/x": dynamic = "error" but the render made an uncached fetch https://api.example.com/posts (give it a revalidate or force-cache, or use force-static or force-dynamic)`,
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("ModeError%+v.Error() =\n\t%s\nwant\n\t%s", *tt.err, got, tt.want)
		}
	}
}
