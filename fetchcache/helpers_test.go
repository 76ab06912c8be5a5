package fetchcache_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/store"
)

// origin is the outside world: a counting Fetcher whose nth call answers
// 200 "v<n>", after delay, unless a failure is set.
type origin struct {
	calls atomic.Int64
	delay time.Duration // set before use

	mu   sync.Mutex // protects fail
	fail fetchcache.FetcherFunc
}

func (o *origin) fetcher() fetchcache.Fetcher {
	return fetchcache.FetcherFunc(func(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
		n := o.calls.Add(1)
		if o.delay > 0 {
			time.Sleep(o.delay)
		}
		o.mu.Lock()
		fail := o.fail
		o.mu.Unlock()
		if fail != nil {
			return fail(ctx, req)
		}
		return &fetchcache.Response{
			Status: http.StatusOK,
			Header: http.Header{"Content-Type": {"text/plain"}},
			Body:   fmt.Appendf(nil, "v%d", n),
		}, nil
	})
}

// failWith makes the origin answer with f from now on; nil heals it.
func (o *origin) failWith(f fetchcache.FetcherFunc) {
	o.mu.Lock()
	o.fail = f
	o.mu.Unlock()
}

// Failures an origin can have.
var errOrigin = errors.New("connection refused")

var failures = []struct {
	name string
	fail fetchcache.FetcherFunc
}{
	{"error", func(context.Context, *fetchcache.Request) (*fetchcache.Response, error) {
		return nil, errOrigin
	}},
	{"status 503", func(context.Context, *fetchcache.Request) (*fetchcache.Response, error) {
		return &fetchcache.Response{Status: http.StatusServiceUnavailable, Body: []byte("down")}, nil
	}},
	{"panic", func(context.Context, *fetchcache.Request) (*fetchcache.Response, error) {
		panic("origin exploded")
	}},
}

// recorder is a slog.Handler that keeps the records it is given.
type recorder struct {
	mu      sync.Mutex // protects records
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.records = append(r.records, rec.Clone())
	r.mu.Unlock()
	return nil
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.records)
}

// attrs returns the attributes of the ith record, formatted.
func (r *recorder) attrs(i int) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]string{"msg": r.records[i].Message}
	r.records[i].Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

// env is a Cache over a fresh store, the origin and the log it writes to.
type env struct {
	c      *fetchcache.Cache
	store  *store.Memory
	origin *origin
	log    *recorder
}

// newEnv returns an env whose cache is closed when the test ends. opts'
// Store, Fetcher and Logger are set unless given.
func newEnv(t *testing.T, opts fetchcache.Options) *env {
	t.Helper()
	e := &env{store: store.NewMemory(store.MemoryOptions{}), origin: new(origin), log: new(recorder)}
	if opts.Store == nil {
		opts.Store = e.store
	}
	if opts.Fetcher == nil {
		opts.Fetcher = e.origin.fetcher()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(e.log)
	}
	e.c = fetchcache.New(opts)
	t.Cleanup(func() { e.c.Close() })
	return e
}

// fetch fetches req and fails the test on an error.
func (e *env) fetch(t *testing.T, req *fetchcache.Request, call fetchcache.Call) (string, fetchcache.Result) {
	t.Helper()
	resp, res, err := e.c.Fetch(t.Context(), req, call)
	if err != nil {
		t.Fatalf("Fetch(%q) error: %v", req.URL, err)
	}
	return string(resp.Body), res
}

// checkCalls checks that the origin was called exactly want times.
func (e *env) checkCalls(t *testing.T, want int64) {
	t.Helper()
	if got := e.origin.calls.Load(); got != want {
		t.Errorf("origin called %d times; want %d", got, want)
	}
}

// revalidate revalidates tags in mode now.
func (e *env) revalidate(t *testing.T, mode regen.RevalidateMode, tags ...string) {
	t.Helper()
	if err := e.store.RevalidateTags(t.Context(), tags, mode, time.Now()); err != nil {
		t.Fatal(err)
	}
}
