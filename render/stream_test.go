package render_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
)

// stream is a render.Stream that records what it receives.
type stream struct {
	started bool
	status  int
	header  http.Header
	reads   []render.Read // the record's reads at Start
	body    strings.Builder
	flushes int
}

func (s *stream) Start(status int, header http.Header, rec *render.Record) {
	if s.started {
		panic("Start called twice")
	}
	s.started, s.status, s.header, s.reads = true, status, header, rec.Reads
}

func (s *stream) Write(p []byte) (int, error) {
	if !s.started {
		panic("Write before Start")
	}
	return s.body.Write(p)
}

func (s *stream) Flush() error { s.flushes++; return nil }

func streamJob(st render.Stream, segs ...render.Segment) *render.Job {
	return &render.Job{Route: "/p", Path: "/p", Request: request(), Segments: segs, Stream: st}
}

// head is a layout that writes <html>, its child, then </html>.
var head = render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
	io.WriteString(w, "<html>")
	if err := child.Render(ctx, w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</html>")
	return err
})

// TestStreamFromPagesFirstByte: the output is held until the page writes;
// then the layout's head and the page's first bytes leave at once, before
// the page has returned, and the rest when it has.
func TestStreamFromPagesFirstByte(t *testing.T) {
	st := &stream{}
	var seenByPage string
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		if st.started {
			t.Error("the stream started before the page wrote")
		}
		s.SetStatus(203)
		s.SetHeader("Content-Language", "en")
		io.WriteString(w, "<h1>")
		seenByPage = st.body.String() // what the client has while the page still runs
		_, err := io.WriteString(w, "</h1>")
		return err
	})
	res, err := render.Render(t.Context(), streamJob(st, layoutSeg("/", head), pageSeg("/p", page)))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if seenByPage != "<html><h1>" {
		t.Errorf("the stream had %q while the page ran; want %q", seenByPage, "<html><h1>")
	}
	if res.Streamed != render.StreamedAll || st.body.String() != string(res.Body) || string(res.Body) != "<html><h1></h1></html>" {
		t.Errorf("Streamed %v, stream %q, Body %q; want StreamedAll and the whole body streamed", res.Streamed, st.body.String(), res.Body)
	}
	if st.status != 203 || st.header.Get("Content-Language") != "en" {
		t.Errorf("Start(%d, %v); want the status and headers set before the first byte", st.status, st.header)
	}
}

// TestStreamLayoutFlush: a layout that flushes sends its head before its
// child renders; the status is then fixed for the stream, not the Result.
func TestStreamLayoutFlush(t *testing.T) {
	st := &stream{}
	layout := render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		io.WriteString(w, "<head>")
		w.(http.Flusher).Flush()
		return child.Render(ctx, w)
	})
	var seenByPage string
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		seenByPage = st.body.String()
		s.SetStatus(203) // too late for the stream
		return nil
	})
	res, err := render.Render(t.Context(), streamJob(st, layoutSeg("/", layout), pageSeg("/p", page)))
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if seenByPage != "<head>" || st.status != 200 || res.Status != 203 || res.Streamed != render.StreamedAll {
		t.Errorf("page saw %q, stream status %d, Result status %d, %v; want <head>, 200, 203, StreamedAll", seenByPage, st.status, res.Status, res.Streamed)
	}
}

// TestStreamNotStarted: a render whose page writes nothing, or that answers
// a redirect or a notFound() before its first byte, is not streamed.
func TestStreamNotStarted(t *testing.T) {
	tests := []struct {
		name   string
		page   render.PageFunc
		status int
	}{
		{"empty page", func(context.Context, *render.Scope, io.Writer) error { return nil }, 200},
		{"redirect", func(context.Context, *render.Scope, io.Writer) error { return render.Redirect("/x", false) }, 307},
		{"notFound", func(context.Context, *render.Scope, io.Writer) error { return render.ErrNotFound }, 404},
		{"violation", func(ctx context.Context, s *render.Scope, w io.Writer) error {
			s.Cookies()
			_, err := io.WriteString(w, "x")
			return err
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &stream{}
			job := streamJob(st, layoutSeg("/", head), pageSeg("/p", tt.page))
			if tt.status == 0 {
				job.Mode = regen.DynamicError
			}
			res, err := render.Render(t.Context(), job)
			if st.started {
				t.Errorf("the stream started")
			}
			if tt.status == 0 {
				if err == nil {
					t.Errorf("Render = %v; want the violation", res)
				}
				return
			}
			if err != nil || res.Status != tt.status || res.Streamed != render.NotStreamed {
				t.Errorf("Render = %v, %v; want status %d, NotStreamed", res, err, tt.status)
			}
		})
	}
}

// TestStreamTakeBack: a render that must take back bytes that have left
// (a redirect after the page's first byte) reports StreamedPart, and its
// Result is still the redirect, for a cache.
func TestStreamTakeBack(t *testing.T) {
	st := &stream{}
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		io.WriteString(w, "sent")
		return render.Redirect("/x", true)
	})
	res, err := render.Render(t.Context(), streamJob(st, layoutSeg("/", head), pageSeg("/p", page)))
	if err != nil || res.Status != 308 || res.Streamed != render.StreamedPart || st.body.String() != "<html>sent" {
		t.Errorf("Render = %v, %v, stream %q; want a 308 StreamedPart after <html>sent", res, err, st.body.String())
	}
}

// TestStreamFailureAfterFirstByte: the render fails as any other; the
// stream has a part only.
func TestStreamFailureAfterFirstByte(t *testing.T) {
	st := &stream{}
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		io.WriteString(w, "half")
		return errBoom
	})
	res, err := render.Render(t.Context(), streamJob(st, layoutSeg("/", head), pageSeg("/p", page)))
	if !errors.Is(err, errBoom) || res != nil || st.body.String() != "<html>half" {
		t.Errorf("Render = %v, %v, stream %q; want errBoom after <html>half", res, err, st.body.String())
	}
}

// TestNotFoundBoundary: the nearest not-found page above the segment that
// calls notFound() replaces everything below its layout, the layouts in
// between included; the layouts above still wrap it.
func TestNotFoundBoundary(t *testing.T) {
	nf := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		_, err := io.WriteString(w, "<nf "+s.Segment().Path+">")
		return err
	})
	gone := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		io.WriteString(w, "half a page")
		return render.ErrNotFound
	})
	boundary := func(path string) render.Segment {
		return render.Segment{Kind: render.LayoutSegment, Path: path, NotFound: nf}
	}
	tests := []struct {
		name string
		segs []render.Segment
		want string
	}{
		{"no boundary: NotFoundBody inside every layout",
			[]render.Segment{layoutSeg("/", wrap("a")), layoutSeg("/b", wrap("b")), pageSeg("/b/c", gone)},
			"<a><b>" + render.NotFoundBody + "</b></a>"},
		{"root boundary: the layouts below it are dropped",
			[]render.Segment{layoutSeg("/", wrap("a")), boundary("/"), layoutSeg("/b", wrap("b")), pageSeg("/b/c", gone)},
			"<a><nf /></a>"},
		{"nearest boundary",
			[]render.Segment{layoutSeg("/", wrap("a")), boundary("/"), layoutSeg("/b", wrap("b")), boundary("/b"), pageSeg("/b/c", gone)},
			"<a><b><nf /b></b></a>"},
		{"a not-found page that calls notFound() hands it up",
			[]render.Segment{layoutSeg("/", wrap("a")), boundary("/"), layoutSeg("/b", wrap("b")),
				{Kind: render.LayoutSegment, Path: "/b", NotFound: render.PageFunc(func(context.Context, *render.Scope, io.Writer) error { return render.ErrNotFound })},
				pageSeg("/b/c", gone)},
			"<a><nf /></a>"},
		{"a layout that hides the error",
			[]render.Segment{layoutSeg("/", wrap("a")), boundary("/"), layoutSeg("/b", render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
				child.Render(ctx, w)
				_, err := io.WriteString(w, "tail")
				return err
			})), pageSeg("/b/c", gone)},
			"<a><nf /></a>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := render.Render(t.Context(), &render.Job{Route: "/b/c", Path: "/b/c", Segments: tt.segs})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if res.Status != 404 || string(res.Body) != tt.want {
				t.Errorf("Render = %d %q; want 404 %q", res.Status, res.Body, tt.want)
			}
		})
	}
}

// TestChildMisuse: a layout renders its child exactly once, and cannot hide
// its failure.
func TestChildMisuse(t *testing.T) {
	tests := []struct {
		name   string
		layout render.LayoutFunc
		want   string
	}{
		{"never", func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error { return nil },
			`layout "/": did not render its child`},
		{"twice", func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			child.Render(ctx, w)
			child.Render(ctx, w) // its error ignored: still the render's
			return nil
		}, `layout "/": child rendered twice`},
		{"hiding a failure", func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
			child.Render(ctx, w)
			return nil
		}, `page "/p": boom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render.PageFunc(func(context.Context, *render.Scope, io.Writer) error {
				if tt.name == "hiding a failure" {
					return errBoom
				}
				return nil
			})
			res, err := render.Render(t.Context(), &render.Job{Route: "/p", Path: "/p", Segments: []render.Segment{layoutSeg("/", tt.layout), pageSeg("/p", page)}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render = %v, %v; want an error with %q", res, err, tt.want)
			}
		})
	}
}

// TestStreamRecordAtStart: Start is given what the render revealed before
// the first byte, for the engine to choose the response's headers.
func TestStreamRecordAtStart(t *testing.T) {
	st := &stream{}
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		s.Cookies()
		io.WriteString(w, "x")
		s.Headers()
		return nil
	})
	if _, err := render.Render(t.Context(), streamJob(st, layoutSeg("/", head), pageSeg("/p", page))); err != nil {
		t.Fatal(err)
	}
	want := []render.Read{{Segment: `page "/p"`, API: regen.Cookies}}
	if diff := cmp.Diff(want, st.reads); diff != "" {
		t.Errorf("reads at Start (-want +got):\n%s", diff)
	}
}

// TestStreamChunk: once started, held output leaves whenever 4 KiB are
// waiting, not only when a segment returns.
func TestStreamChunk(t *testing.T) {
	st := &stream{}
	var seen int
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		io.WriteString(w, "x") // starts the stream
		w.Write(make([]byte, 4<<10))
		seen = st.body.Len()
		return nil
	})
	if _, err := render.Render(t.Context(), streamJob(st, pageSeg("/p", page))); err != nil {
		t.Fatal(err)
	}
	if seen != 1+4<<10 {
		t.Errorf("the stream had %d bytes while the page ran; want %d (4 KiB waiting leave)", seen, 1+4<<10)
	}
}

// TestStreamNotFoundTakeBack: a notFound() whose not-found page must
// replace output that has left stops the stream (StreamedPart); the Result
// is the 404 with the not-found page, for a cache.
func TestStreamNotFoundTakeBack(t *testing.T) {
	st := &stream{}
	nf := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		_, err := io.WriteString(w, "gone")
		return err
	})
	page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		io.WriteString(w, "sent")
		return render.ErrNotFound
	})
	res, err := render.Render(t.Context(), streamJob(st, layoutSeg("/", head),
		render.Segment{Kind: render.LayoutSegment, Path: "/", NotFound: nf}, pageSeg("/p", page)))
	if err != nil || res.Status != 404 || string(res.Body) != "<html>gone</html>" || res.Streamed != render.StreamedPart {
		t.Errorf("Render = %v, %v; want a 404 <html>gone</html>, StreamedPart", res, err)
	}
	if st.status != 200 || st.body.String() != "<html>sent" {
		t.Errorf("stream: %d %q; want 200 <html>sent, then nothing", st.status, st.body.String())
	}
}
