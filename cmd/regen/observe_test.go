package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServeOut is startServe keeping what regen serve prints in out.
func startServeOut(t *testing.T, out *syncBuffer, args ...string) (base string, stop context.CancelFunc, status <-chan int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), out, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if t.Failed() {
			t.Logf("regen serve stderr:\n%s", stderr.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		for _, line := range strings.Split(out.String(), "\n") {
			if addr, ok := strings.CutPrefix(line, "listening on "); ok {
				return addr, cancel, done
			}
		}
		select {
		case st := <-done:
			t.Fatalf("regen serve = %d before listening; stderr:\n%s", st, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("regen serve did not print listening on within 10s")
	return "", nil, nil
}

// TestServeTracesConsole: OTEL_TRACES_EXPORTER=console prints the spans of
// a request to stdout as each ends, in the trace of its traceparent.
func TestServeTracesConsole(t *testing.T) {
	t.Setenv("REGEN_REVALIDATE_SECRET", "")
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	var out syncBuffer
	base, stop, status := startServeOut(t, &out)
	// The caller's trace context is read: the spans join its trace.
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	parent := http.Header{"Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}}
	if resp, _ := get(t, base+"/products/sneakers", parent); resp.Header.Get("X-Cache-Status") != "MISS" {
		t.Fatalf("GET /products/sneakers = %s; want MISS", resp.Header.Get("X-Cache-Status"))
	}
	stop()
	if st := <-status; st != 0 {
		t.Fatalf("regen serve = %d; want 0", st)
	}
	for _, want := range []string{`"Name": "regen.request"`, `"Name": "regen.render"`, `"Name": "regen.store.get"`, `"Value": "regen"`,
		`"TraceID": "` + traceID + `"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout has no %s:\n%.2000s", want, out.String())
		}
	}
}

// TestServeTracesOTLP: OTEL_TRACES_EXPORTER=otlp sends the spans to
// OTEL_EXPORTER_OTLP_ENDPOINT over HTTP (OTEL_EXPORTER_OTLP_PROTOCOL), at
// the latest when regen serve exits.
func TestServeTracesOTLP(t *testing.T) {
	var mu sync.Mutex
	var got bytes.Buffer
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if r.URL.Path == "/v1/traces" {
			got.Write(b)
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("REGEN_REVALIDATE_SECRET", "")
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "shop")
	var out syncBuffer
	base, stop, status := startServeOut(t, &out)
	get(t, base+"/products/sneakers", nil)
	stop()
	if st := <-status; st != 0 {
		t.Fatalf("regen serve = %d; want 0", st)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"regen.request", "regen.render", "shop"} {
		if !bytes.Contains(got.Bytes(), []byte(want)) {
			t.Errorf("the collector received no %q (%d bytes)", want, got.Len())
		}
	}
}

// TestServeTracesBad: an exporter autoexport does not know is an error at
// start.
func TestServeTracesBad(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "carrier-pigeon")
	status, _, stderr := runCLI(t, "serve", "--addr", "127.0.0.1:0")
	if status != exitUsage || !strings.Contains(stderr, "OTEL_TRACES_EXPORTER=carrier-pigeon") {
		t.Errorf("regen serve with OTEL_TRACES_EXPORTER=carrier-pigeon = %d, %q; want %d naming the variable", status, stderr, exitUsage)
	}
}

// TestServeHelpSpans: regen help serve names every span and the variables.
func TestServeHelpSpans(t *testing.T) {
	_, stdout, _ := runCLI(t, "help", "serve")
	for _, want := range []string{"regen.request", "regen.render", "regen.fetch", "regen.store.get", ".tag_state", "regen.regenerate",
		"OTEL_TRACES_EXPORTER=console", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("regen help serve does not mention %s", want)
		}
	}
}
