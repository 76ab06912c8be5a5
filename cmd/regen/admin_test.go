package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen/engine"
)

// startServeAdmin starts regen serve with --admin-addr 127.0.0.1:0 and
// returns the site's and the admin listener's base URLs.
func startServeAdmin(t *testing.T, args ...string) (base, adminBase string, stop context.CancelFunc, status <-chan int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, args...), pw, &stderr)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if t.Failed() {
			t.Logf("regen serve stderr:\n%s", stderr.String())
		}
	})
	lines := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on ") {
				lines <- sc.Text()
			}
		}
		close(lines)
		io.Copy(io.Discard, pr)
	}()
	for base == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("regen serve ended without listening; stderr:\n%s", stderr.String())
			}
			if a, ok := strings.CutPrefix(l, "admin listening on "); ok {
				adminBase = a
			} else if a, ok := strings.CutPrefix(l, "listening on "); ok {
				base = a
			}
		case st := <-done:
			t.Fatalf("regen serve = %d before listening; stderr:\n%s", st, stderr.String())
		case <-time.After(10 * time.Second):
			t.Fatalf("regen serve did not listen within 10s; stderr:\n%s", stderr.String())
		}
	}
	if adminBase == "" {
		t.Fatal(`regen serve --admin-addr did not print "admin listening on" before "listening on"`)
	}
	return base, adminBase, cancel, done
}

// TestServeAdmin: --admin-addr serves metrics, health and the inspector on
// its own listener, and none of them on the site's.
func TestServeAdmin(t *testing.T) {
	t.Setenv("REGEN_REVALIDATE_SECRET", "")
	base, adminBase, stop, status := startServeAdmin(t)
	get(t, base+"/products/sneakers", nil)
	get(t, base+"/products/sneakers", nil)

	for _, tt := range []struct {
		path, contentType, want string
	}{
		{"/healthz", "text/plain", "ok\n"},
		{"/readyz", "text/plain", "ready\n"},
		{"/metrics", "text/plain; version=0.0.4", "\ngo_goroutines "},
		{"/_regen/", "text/html", `<tr data-path="/products/sneakers">`},
		{"/_regen/api/paths?path=/products/sneakers", "application/json", `"state": "fresh"`},
	} {
		resp, body := get(t, adminBase+tt.path, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) || !strings.Contains(body, tt.want) {
			t.Errorf("GET admin %s = %d %q %.300q; want 200 %s with %q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.contentType, tt.want)
		}
		// The site's listener does not serve it: the engine answers 404.
		resp, _ = get(t, base+tt.path, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET site %s = %d; want 404 (admin routes are on --admin-addr only)", tt.path, resp.StatusCode)
		}
	}
	// The inspector's form revalidates the path.
	req, _ := http.NewRequest("POST", adminBase+"/_regen/revalidate", strings.NewReader("target=path&value=/products/sneakers"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /_regen/revalidate = %d; want 303", resp.StatusCode)
	}
	if resp, _ := get(t, base+"/products/sneakers", nil); resp.Header.Get("X-Cache-Status") != "STALE" {
		t.Errorf("GET after revalidating from the inspector = %s; want STALE", resp.Header.Get("X-Cache-Status"))
	}

	stop()
	if got := <-status; got != 0 {
		t.Errorf("regen serve after cancel = %d; want 0", got)
	}
	if _, err := http.Get(adminBase + "/healthz"); err == nil {
		t.Error("admin listener still answers after shutdown")
	}
}

// TestServeAdminReadyDeadRedis: with a Redis that does not answer, regen
// serve starts (serving from memory) and /readyz says 503, naming the
// store.
func TestServeAdminReadyDeadRedis(t *testing.T) {
	t.Setenv("REGEN_REVALIDATE_SECRET", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, adminBase, stop, status := startServeAdmin(t, "--redis", "redis://"+dead)
	resp, body := get(t, adminBase+"/readyz", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Redis does not answer") {
		t.Errorf("GET /readyz with a dead Redis = %d %q; want 503 naming Redis", resp.StatusCode, body)
	}
	if resp, _ := get(t, adminBase+"/healthz", nil); resp.StatusCode != 200 {
		t.Errorf("GET /healthz with a dead Redis = %d; want 200 (the process is up)", resp.StatusCode)
	}
	stop()
	<-status
}

// TestServeAdminAddrInUse: an --admin-addr that cannot be listened on
// fails regen serve at start.
func TestServeAdminAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", ln.Addr().String()}, &stdout, &stderr)
	if code != exitFailure || !strings.Contains(stderr.String(), "--admin-addr") {
		t.Errorf("regen serve with a busy --admin-addr = %d %q; want %d naming --admin-addr", code, stderr.String(), exitFailure)
	}
}

// TestAdminReadyWhileStopping: from the moment shutdown starts, /readyz
// answers 503 (a load balancer stops sending traffic) while /healthz stays
// 200.
func TestAdminReadyWhileStopping(t *testing.T) {
	e, err := engine.New(&engine.Site{}, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	adm := newAdminServer("127.0.0.1:0", e, newRegistry(), nil, time.Minute, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(adm.srv.Handler)
	defer srv.Close()
	if resp, body := get(t, srv.URL+"/readyz", nil); resp.StatusCode != 200 {
		t.Errorf("GET /readyz = %d %q; want 200", resp.StatusCode, body)
	}
	adm.stopping.Store(true)
	if resp, body := get(t, srv.URL+"/readyz", nil); resp.StatusCode != http.StatusServiceUnavailable || body != "not ready: shutting down\n" {
		t.Errorf("GET /readyz while stopping = %d %q; want 503 shutting down", resp.StatusCode, body)
	}
	if resp, _ := get(t, srv.URL+"/healthz", nil); resp.StatusCode != 200 {
		t.Errorf("GET /healthz while stopping = %d; want 200", resp.StatusCode)
	}
}
