package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
)

// origin is the outside world for tests: it counts calls per URL and
// answers with the URL's current version.
type origin struct {
	latency time.Duration

	mu       sync.Mutex // protects the maps
	calls    map[string]int
	versions map[string]int
	fail     map[string]bool
}

func newOrigin() *origin {
	return &origin{calls: map[string]int{}, versions: map[string]int{}, fail: map[string]bool{}}
}

func (o *origin) Fetch(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	o.mu.Lock()
	o.calls[req.URL]++
	v, fail := o.versions[req.URL]+1, o.fail[req.URL]
	o.mu.Unlock()
	if o.latency > 0 {
		time.Sleep(o.latency)
	}
	if fail {
		return nil, fmt.Errorf("origin down")
	}
	return &fetchcache.Response{Status: 200, Body: fmt.Appendf(nil, "%s@%d", req.URL, v)}, nil
}

func (o *origin) publish(url string) {
	o.mu.Lock()
	o.versions[url]++
	o.mu.Unlock()
}

func (o *origin) callsTo(url string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[url]
}

func (o *origin) setFail(url string, fail bool) {
	o.mu.Lock()
	o.fail[url] = fail
	o.mu.Unlock()
}

// counter counts renders of one segment.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) inc() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// fetchPage renders "<name> n=<render count>" and the bodies of its fetches.
func fetchPage(name string, c *counter, fetches ...fetchcache.Request) render.Page {
	return render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		n := 0
		if c != nil {
			n = c.inc()
		}
		fmt.Fprintf(w, "%s n=%d", name, n)
		for _, f := range fetches {
			f := f
			res, err := s.Fetch(ctx, &f)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, " [%s]", res.Body)
		}
		return nil
	})
}

// wrap is a layout writing <name>child</name>.
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

type response struct {
	code   int
	status string // X-Cache-Status
	body   string
	header http.Header
}

func get(e http.Handler, path string, hdr ...string) response {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header().Get("X-Cache-Status"), rec.Body.String(), rec.Header()}
}

// logBuffer is a slog destination tests can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// newEngine builds an engine and closes it when the test ends.
func newEngine(t *testing.T, site *Site, opts Options) *Engine {
	t.Helper()
	e, err := New(site, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func sec(n int64) regen.Revalidate { return regen.Seconds(n) }
