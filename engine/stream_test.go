package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
)

// streamSite serves one layout and a page whose render, after its first
// byte, waits for release (or its context): a slow render whose first bytes
// must reach the client before it ends.
type streamSite struct {
	srv     *httptest.Server
	e       *Engine
	release chan struct{}
	renders atomic.Int64
}

func newStreamSite(t *testing.T, pageOpts Page, after func(s *render.Scope, w io.Writer) error) *streamSite {
	t.Helper()
	ss := &streamSite{release: make(chan struct{})}
	var site Site
	site.Layout("/", Layout{Render: render.LayoutFunc(func(ctx context.Context, s *render.Scope, w io.Writer, child render.Child) error {
		io.WriteString(w, "<html><head><link rel=stylesheet href=/a.css></head><body>")
		if err := child.Render(ctx, w); err != nil {
			return err
		}
		_, err := io.WriteString(w, "</body></html>")
		return err
	})})
	pageOpts.Render = render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		ss.renders.Add(1)
		io.WriteString(w, "<h1>title</h1>")
		select {
		case <-ss.release:
		case <-ctx.Done():
			return ctx.Err()
		}
		if after != nil {
			return after(s, w)
		}
		_, err := io.WriteString(w, "<p>slow part</p>")
		return err
	})
	site.Page("/p", pageOpts)
	ss.e = newEngine(t, &site, Options{Logger: (&logBuffer{}).logger()})
	ss.srv = httptest.NewServer(ss.e)
	t.Cleanup(ss.srv.Close)
	t.Cleanup(func() {
		select {
		case <-ss.release:
		default:
			close(ss.release)
		}
	})
	return ss
}

// get starts a GET and returns the response with its body unread.
func (ss *streamSite) get(t *testing.T, cookie string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", ss.srv.URL+"/p", nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /p: %v", err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// readUntil reads from r until it has read want, and returns what it read.
func readUntil(t *testing.T, r *bufio.Reader, want string) string {
	t.Helper()
	var b strings.Builder
	for !strings.HasSuffix(b.String(), want) {
		c, err := r.ReadByte()
		if err != nil {
			t.Fatalf("reading the body: %v after %q; want %q", err, b.String(), want)
		}
		b.WriteByte(c)
	}
	return b.String()
}

// TestStreamDynamic: a dynamic page's layout head and first bytes reach the
// client while the page still renders (it cannot end before the client has
// read them), with the dynamic headers.
func TestStreamDynamic(t *testing.T) {
	ss := newStreamSite(t, Page{Dynamic: regen.ForceDynamic}, nil)
	start := time.Now()
	res := ss.get(t, "")
	body := bufio.NewReader(res.Body)
	head := readUntil(t, body, "<h1>title</h1>")
	first := time.Since(start)
	if res.StatusCode != 200 || res.Header.Get("X-Cache-Status") != "BYPASS" || !strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("GET = %d %s %q; want 200 BYPASS no-store", res.StatusCode, res.Header.Get("X-Cache-Status"), res.Header.Get("Cache-Control"))
	}
	if !strings.HasPrefix(head, "<html><head>") {
		t.Errorf("first bytes %q; want the layout's head first", head)
	}
	time.AfterFunc(300*time.Millisecond, func() { close(ss.release) }) // the slow render
	rest, err := io.ReadAll(body)
	total := time.Since(start)
	if err != nil || string(rest) != "<p>slow part</p></body></html>" {
		t.Errorf("rest = %q, %v", rest, err)
	}
	if total < 300*time.Millisecond || first >= total {
		t.Errorf("first bytes after %v, last after %v; want the first before the 300 ms render ends", first, total)
	}
	t.Logf("first byte %v, last byte %v", first, total)
}

// TestStreamMiss: a MISS streams to the request that started it; a request
// that joins the render gets the whole entry, and the next a HIT.
func TestStreamMiss(t *testing.T) {
	ss := newStreamSite(t, Page{Revalidate: sec(60)}, nil)
	res := ss.get(t, "")
	body := bufio.NewReader(res.Body)
	readUntil(t, body, "<h1>title</h1>")
	if res.Header.Get("X-Cache-Status") != "MISS" || res.Header.Get("Cache-Control") != "s-maxage=60, stale-while-revalidate=31535940" {
		t.Errorf("streamed MISS headers %s %q", res.Header.Get("X-Cache-Status"), res.Header.Get("Cache-Control"))
	}
	joined := make(chan httpResponse, 1)
	go func() {
		r, err := http.Get(ss.srv.URL + "/p")
		if err != nil {
			joined <- httpResponse{body: err.Error()}
			return
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		joined <- httpResponse{code: r.StatusCode, header: r.Header, body: string(b)}
	}()
	close(ss.release)
	const whole = "<html><head><link rel=stylesheet href=/a.css></head><body><h1>title</h1><p>slow part</p></body></html>"
	if rest, err := io.ReadAll(body); err != nil || "<html><head><link rel=stylesheet href=/a.css></head><body><h1>title</h1>"+string(rest) != whole {
		t.Errorf("streamed rest %q, %v", rest, err)
	}
	j := <-joined
	if j.code != 200 || j.body != whole || j.header.Get("Etag") == "" {
		t.Errorf("joined GET = %d %q ETag %q; want 200 with the whole entry", j.code, j.body, j.header.Get("Etag"))
	}
	hit, err := http.Get(ss.srv.URL + "/p")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(hit.Body)
	hit.Body.Close()
	if hit.Header.Get("X-Cache-Status") != "HIT" || string(b) != whole || ss.renders.Load() != 1 {
		t.Errorf("then GET = %s %q after %d renders; want a HIT of one render", hit.Header.Get("X-Cache-Status"), b, ss.renders.Load())
	}
}

// TestStreamFailureAfterFirstByte: a render that fails after its first byte
// closes the connection (the client sees a truncated body, never a complete
// response) and stores nothing: the next request renders again.
func TestStreamFailureAfterFirstByte(t *testing.T) {
	fail := true
	ss := newStreamSite(t, Page{Revalidate: sec(60)}, func(s *render.Scope, w io.Writer) error {
		if fail {
			fail = false
			return errors.New("origin went away")
		}
		_, err := io.WriteString(w, "ok")
		return err
	})
	res := ss.get(t, "")
	body := bufio.NewReader(res.Body)
	readUntil(t, body, "<h1>title</h1>")
	close(ss.release)
	if rest, err := io.ReadAll(body); err == nil {
		t.Errorf("body ended cleanly after %q; want the connection closed", rest)
	}
	again, err := http.Get(ss.srv.URL + "/p")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(again.Body)
	again.Body.Close()
	if again.Header.Get("X-Cache-Status") != "MISS" || !strings.Contains(string(b), "ok") || ss.renders.Load() != 2 {
		t.Errorf("next GET = %s %q after %d renders; want a new MISS", again.Header.Get("X-Cache-Status"), b, ss.renders.Load())
	}
}

// TestStreamDynamicAfterFirstByte: a MISS whose render reads a dynamic API
// after its first byte has announced a cacheable response: the connection
// is closed so that no cache in between keeps a personal page, nothing is
// stored, and the route is dynamic from then on.
func TestStreamDynamicAfterFirstByte(t *testing.T) {
	ss := newStreamSite(t, Page{}, func(s *render.Scope, w io.Writer) error {
		user, _ := s.Cookie("user")
		_, err := fmt.Fprintf(w, "hello %s", user)
		return err
	})
	res := ss.get(t, "user=ann")
	body := bufio.NewReader(res.Body)
	readUntil(t, body, "<h1>title</h1>")
	if res.Header.Get("X-Cache-Status") != "MISS" {
		t.Errorf("first GET %s; want MISS", res.Header.Get("X-Cache-Status"))
	}
	close(ss.release)
	if rest, err := io.ReadAll(body); err == nil {
		t.Errorf("body ended cleanly after %q; want the connection closed", rest)
	}
	next, err := http.Get(ss.srv.URL + "/p")
	if err != nil {
		t.Fatal(err)
	}
	next.Body.Close()
	if next.Header.Get("X-Cache-Status") != "BYPASS" || !strings.Contains(next.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("next GET %s %q; want BYPASS no-store", next.Header.Get("X-Cache-Status"), next.Header.Get("Cache-Control"))
	}
}

// TestStreamWriterWithoutFlush: a response writer that cannot flush (a
// middleware's wrapper without Unwrap) still gets the whole streamed
// response, only not early.
func TestStreamWriterWithoutFlush(t *testing.T) {
	var site Site
	site.Page("/p", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		io.WriteString(w, "first ")
		_, err := io.WriteString(w, "second")
		return err
	})})
	e := newEngine(t, &site, Options{})
	w := &nopWriter{h: http.Header{}}
	var body strings.Builder
	bw := &bodyWriter{nopWriter: w, body: &body}
	e.ServeHTTP(bw, httptest.NewRequest("GET", "/p", nil))
	if w.code != 200 || body.String() != "first second" || w.h.Get("X-Cache-Status") != "MISS" {
		t.Errorf("GET = %d %s %q; want 200 MISS with the whole body", w.code, w.h.Get("X-Cache-Status"), body.String())
	}
}

// bodyWriter is a nopWriter that keeps the body, and cannot flush.
type bodyWriter struct {
	*nopWriter
	body *strings.Builder
}

func (w *bodyWriter) Write(p []byte) (int, error) { return w.body.Write(p) }

// TestStreamClientLeaves: the request that started a streamed MISS goes
// away mid-render; the render goes on detached and stores its entry, which
// the next requests get without another render.
func TestStreamClientLeaves(t *testing.T) {
	ss := newStreamSite(t, Page{Revalidate: sec(60)}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", ss.srv.URL+"/p", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readUntil(t, bufio.NewReader(res.Body), "<h1>title</h1>")
	cancel() // the client leaves
	res.Body.Close()
	close(ss.release)
	for _, want := range []string{"", "HIT"} {
		r, err := http.Get(ss.srv.URL + "/p")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		// The first may join the render still storing (MISS) or find its
		// entry (HIT); either way it is the one render's whole page.
		if got := r.Header.Get("X-Cache-Status"); (want != "" && got != want) || !strings.HasSuffix(string(b), "<p>slow part</p></body></html>") {
			t.Errorf("GET after the client left = %s %q; want %s the whole page", got, b, want)
		}
	}
	if n := ss.renders.Load(); n != 1 {
		t.Errorf("%d renders; want 1 (the abandoned request's render stored the page)", n)
	}
}
