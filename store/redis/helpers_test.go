package redis

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/regen-dev/regen/internal/redistest"
)

// logBuffer is a slog destination tests can read.
type logBuffer struct {
	mu  sync.Mutex // protects buf
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

// count returns the number of records containing s.
func (l *logBuffer) count(s string) int { return strings.Count(l.String(), s) }

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// testOptions are generous with timeouts, so that a loaded machine running
// the race detector does not make Redis look unavailable, and quick to
// retry, so that recoveries are seen at once.
func testOptions(log *logBuffer) Options {
	return Options{
		ReadTimeout:   2 * time.Second,
		WriteTimeout:  2 * time.Second,
		RetryInterval: 20 * time.Millisecond,
		Logger:        log.logger(),
	}
}

// faultOptions make a hung Redis noticed fast.
func faultOptions(log *logBuffer) Options {
	return Options{
		ReadTimeout:   100 * time.Millisecond,
		WriteTimeout:  200 * time.Millisecond,
		RetryInterval: 20 * time.Millisecond,
		Logger:        log.logger(),
	}
}

// open opens a Store on srv, checks that it is available, and closes it
// when the test ends.
func open(t testing.TB, srv *redistest.Server, opts Options) *Store {
	t.Helper()
	return openURL(t, srv.URL(), opts)
}

// openURL is open on the Redis at url: one server or a cluster.
func openURL(t testing.TB, url string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("Open(%q) error: %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	if !s.Stats().Available {
		t.Fatalf("Open(%q): store not available after Open", url)
	}
	return s
}

// rawClient is a plain client, for looking at what the store wrote.
func rawClient(t testing.TB, srv *redistest.Server) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond every few milliseconds, for at most 10 seconds: for
// messages to cross pub/sub and for reconnections, never for time to pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
