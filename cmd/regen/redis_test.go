package main

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/regen-dev/regen/internal/redistest"
)

// TestServeRedis runs two instances of regen serve on one Redis: a page one
// renders is a HIT on the other.
func TestServeRedis(t *testing.T) {
	t.Setenv("REGEN_REVALIDATE_SECRET", "")
	rs := redistest.Start(t)
	args := []string{"--redis", rs.URL(), "--redis-prefix", "cmdtest"}
	base1, stop1, status1 := startServe(t, args...)
	base2, stop2, status2 := startServe(t, args...)

	resp, _ := get(t, base1+"/products/sneakers", nil)
	if got := resp.Header.Get("X-Cache-Status"); got != "MISS" {
		t.Errorf("GET /products/sneakers on the first instance = %s; want MISS", got)
	}
	resp, body := get(t, base2+"/products/sneakers", nil)
	if got := resp.Header.Get("X-Cache-Status"); got != "HIT" {
		t.Errorf("GET /products/sneakers on the second instance = %s; want HIT (rendered by the first)", got)
	}
	if resp.StatusCode != 200 || len(body) == 0 {
		t.Errorf("GET on the second instance = %d with %d bytes", resp.StatusCode, len(body))
	}

	stop1()
	stop2()
	if got1, got2 := <-status1, <-status2; got1 != 0 || got2 != 0 {
		t.Errorf("regen serve after cancel = %d, %d; want 0, 0", got1, got2)
	}
}

// TestServeRedisCluster runs two regen serve processes on a 3-master
// Redis Cluster through a redis+cluster:// URL: a page one renders is a
// HIT on the other. The same cluster given as a single-node URL is refused
// at start, naming the URL form to use.
func TestServeRedisCluster(t *testing.T) {
	t.Setenv("REGEN_REVALIDATE_SECRET", "")
	rc := redistest.StartCluster(t, 3)

	var stdout, stderr bytes.Buffer
	status := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--redis", rc.Masters[0].URL()}, &stdout, &stderr)
	if status != exitFailure || !strings.Contains(stderr.String(), "redis+cluster://") {
		t.Errorf("regen serve --redis %s (a cluster node) = %d, stderr:\n%s\nwant status 1 naming redis+cluster://", rc.Masters[0].URL(), status, stderr.String())
	}

	// Two regen serve processes of their own.
	args := []string{"--redis", rc.URL(), "--redis-prefix", "cmdtest"}
	p1, p2 := startProcess(t, nil, args...), startProcess(t, nil, args...)
	for _, path := range []string{"/products/sneakers", "/products/boots", "/products/hats"} {
		resp, _ := get(t, p1.base+path, nil)
		if got := resp.Header.Get("X-Cache-Status"); got != "MISS" {
			t.Errorf("GET %s on the first instance = %s; want MISS", path, got)
		}
		resp, body := get(t, p2.base+path, nil)
		if got := resp.Header.Get("X-Cache-Status"); got != "HIT" {
			t.Errorf("GET %s on the second instance = %s; want HIT (rendered by the first)", path, got)
		}
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("GET %s on the second instance = %d with %d bytes", path, resp.StatusCode, len(body))
		}
	}
	for _, p := range []*regenProcess{p1, p2} {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := <-p.done; err != nil {
			t.Errorf("regen serve after SIGTERM: %v; want status 0\n%s", err, p.stderr.String())
		}
	}
}
