package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/examples/shop"
	"github.com/regen-dev/regen/sitespec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// runCLI runs regen with args and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	status = run(context.Background(), args, &out, &errb)
	return status, out.String(), errb.String()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output differs from %s (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func TestRoutesGolden(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"demo site", []string{"routes"}, "routes-demo.golden"},
		{"small spec", []string{"routes", "testdata/small.yaml"}, "routes-small.golden"},
		{"demo site as JSON", []string{"routes", "--json"}, "routes-demo-json.golden"},
		{"small spec as JSON, flag after the spec", []string{"routes", "testdata/small.yaml", "--json"}, "routes-small-json.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, stdout, stderr := runCLI(t, tt.args...)
			if status != 0 || stderr != "" {
				t.Fatalf("regen %s = %d, stderr %q; want 0 and no stderr", strings.Join(tt.args, " "), status, stderr)
			}
			golden(t, tt.golden, stdout)
		})
	}
}

// TestRoutesJSON checks the --json form: one object per line, sorted by
// route, each exactly the engine's JSON of the route's policy with the
// fields docs/site-spec.md gives.
func TestRoutesJSON(t *testing.T) {
	status, stdout, stderr := runCLI(t, "routes", "--json")
	if status != 0 {
		t.Fatalf("regen routes --json = %d, stderr %q", status, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")

	spec, err := shop.Parse()
	if err != nil {
		t.Fatal(err)
	}
	built := spec.Build(sitespec.Options{})
	e, err := engine.New(built.Site, engine.Options{Fetcher: built.Fetcher})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var want []string
	for _, p := range e.Routes() {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, string(b))
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("regen routes --json differs from the engine's policies (-want +got):\n%s", diff)
	}

	var routes []string
	for _, l := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		var keys []string
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		wantKeys := []string{"dynamicParams", "expire", "kind", "prerender", "reasons", "revalidate", "route"}
		if obj["kind"] == "partial" {
			wantKeys = slices.Insert(wantKeys, 2, "holes")
		}
		if diff := cmp.Diff(wantKeys, keys); diff != "" {
			t.Errorf("line %q keys differ (-want +got):\n%s", l, diff)
		}
		routes = append(routes, obj["route"].(string))
		switch obj["kind"] {
		case "static":
			if obj["revalidate"] != false {
				t.Errorf("%s: static route has revalidate %v; want false", obj["route"], obj["revalidate"])
			}
		case "dynamic":
			if obj["revalidate"] != 0.0 {
				t.Errorf("%s: dynamic route has revalidate %v; want 0", obj["route"], obj["revalidate"])
			}
		case "isr":
			if n, ok := obj["revalidate"].(float64); !ok || n <= 0 {
				t.Errorf("%s: ISR route has revalidate %v; want seconds", obj["route"], obj["revalidate"])
			}
		case "partial": // the demo shop's pages: an ISR shell and the cart hole
			if n, ok := obj["revalidate"].(float64); !ok || n <= 0 || fmt.Sprint(obj["holes"]) != "[cart]" {
				t.Errorf("%s: partial route has revalidate %v, holes %v; want seconds and [cart]", obj["route"], obj["revalidate"], obj["holes"])
			}
		default:
			t.Errorf("%s: kind %v", obj["route"], obj["kind"])
		}
	}
	if !slices.IsSorted(routes) {
		t.Errorf("routes not sorted: %q", routes)
	}
}

// writeSpec writes a spec file into a temporary directory.
func writeSpec(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExitStatus(t *testing.T) {
	badSpec := writeSpec(t, "name: bad\nsegments:\n  /:\n    page:\n      revalidate: -5\n")
	conflict := writeSpec(t, "segments:\n  /[a]:\n    page: {}\n  /[b]:\n    page: {}\n")
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStdout string // a part of stdout
		wantStderr string // a part of stderr; "" wants no stderr
	}{
		{"no arguments prints usage", nil, 0, "Usage:", ""},
		{"help", []string{"help"}, 0, "Commands:", ""},
		{"help of a command", []string{"help", "serve"}, 0, "usage: regen serve", ""},
		{"help of bench", []string{"help", "bench"}, 0, "usage: regen bench", ""},
		{"-h of a command", []string{"routes", "-h"}, 0, "usage: regen routes", ""},
		{"help of an unknown command", []string{"help", "deploy"}, 2, "", `regen help: unknown command "deploy"`},
		{"unknown command", []string{"deploy"}, 2, "", `regen: unknown command "deploy"`},
		{"bad flag", []string{"routes", "--yaml"}, 2, "", "regen routes: flag provided but not defined: -yaml"},
		{"bad flag value", []string{"build", "--concurrency", "many"}, 2, "", "regen build: invalid value"},
		{"negative concurrency", []string{"build", "--concurrency", "-1", "--out", t.TempDir()}, 2, "", "--concurrency -1"},
		{"two specs", []string{"routes", "a.yaml", "b.yaml"}, 2, "", "want at most one SPEC"},
		{"missing spec", []string{"routes", filepath.Join(t.TempDir(), "none.yaml")}, 2, "", "no such file"},
		{"bad spec", []string{"routes", badSpec}, 2, "", badSpec + `:5: segment "/": page.revalidate: -5 is negative`},
		{"bad spec to build", []string{"build", "--out", t.TempDir(), badSpec}, 2, "", "page.revalidate: -5 is negative"},
		{"bad spec to serve", []string{"serve", badSpec}, 2, "", "page.revalidate: -5 is negative"},
		{"bad route tree", []string{"routes", conflict}, 2, "", conflict + `: engine: route "/[b]": conflicts with route "/[a]"`},
		{"bench gets its arguments", []string{"bench", "--rps", "-1"}, 2, "", "regen bench: --rps -1 (must be above 0)"},
		{"bad spec to bench", []string{"bench", "--quiet", badSpec}, 2, "", "page.revalidate: -5 is negative"},
		{"bench with a bad flag", []string{"bench", "--nope"}, 2, "", "regen bench: flag provided but not defined: -nope"},
		{"serve with a malformed Redis URL", []string{"serve", "--redis", "http://127.0.0.1:1"}, 2, "", "regen serve: redis: "},
		{"serve with two stores", []string{"serve", "--dir", t.TempDir(), "--redis", "redis://127.0.0.1:1/0"}, 2, "", "--dir and --redis cannot be used together"},
		{"serve on a bad address", []string{"serve", "--addr", "127.0.0.1:http-alt-nope"}, 1, "", "regen serve: listen tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, stdout, stderr := runCLI(t, tt.args...)
			if status != tt.want {
				t.Errorf("regen %s = %d; want %d (stderr %q)", strings.Join(tt.args, " "), status, tt.want, stderr)
			}
			if !strings.Contains(stdout, tt.wantStdout) {
				t.Errorf("stdout = %q; want it to contain %q", stdout, tt.wantStdout)
			}
			if tt.wantStderr == "" && stderr != "" {
				t.Errorf("stderr = %q; want none", stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q; want it to contain %q", stderr, tt.wantStderr)
			}
			for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
				if line != "" && !strings.HasPrefix(line, "regen") {
					t.Errorf("stderr line %q does not start with regen", line)
				}
			}
		})
	}
}

// startServe runs `regen serve args...` on a free port of 127.0.0.1 and
// returns its base URL, a cancel that shuts it down, and the channel its exit
// status arrives on.
func startServe(t *testing.T, args ...string) (base string, stop context.CancelFunc, status <-chan int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), pw, &stderr)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if t.Failed() {
			t.Logf("regen serve stderr:\n%s", stderr.String())
		}
	})

	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				listening <- addr
			}
		}
		close(listening)
		io.Copy(io.Discard, pr)
	}()
	select {
	case base, ok := <-listening:
		if !ok {
			t.Fatalf("regen serve ended without listening; stderr:\n%s", stderr.String())
		}
		return base, cancel, done
	case st := <-done:
		t.Fatalf("regen serve = %d before listening; stderr:\n%s", st, stderr.String())
	}
	return "", nil, nil
}

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestServe starts regen serve on the demo site, serves real requests, then
// cancels its context: it shuts down gracefully and returns 0.
func TestServe(t *testing.T) {
	t.Setenv("REGEN_REVALIDATE_SECRET", "")
	base, stop, status := startServe(t)

	resp, body := get(t, base+"/products/sneakers", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Cache-Status") != "MISS" {
		t.Errorf("first GET /products/sneakers = %d %s; want 200 MISS", resp.StatusCode, resp.Header.Get("X-Cache-Status"))
	}
	if !strings.Contains(body, `<p data-param="slug">sneakers</p>`) {
		t.Errorf("body = %q; want the product page", body)
	}
	resp, body = get(t, base+"/products/sneakers", http.Header{"Cookie": {"cart=2"}})
	if got := resp.Header.Get("X-Cache-Status"); got != "HIT" {
		t.Errorf("second GET /products/sneakers = %s; want HIT (its shell)", got)
	}
	// A partial route: the cart hole is rendered for this request.
	if got := resp.Header.Get("Cache-Control"); got != "private, no-cache, no-store, max-age=0, must-revalidate" {
		t.Errorf("Cache-Control = %q; want the private value of a partial route", got)
	}
	if !strings.Contains(body, `<div data-hole="cart">`+"\n"+`<p data-cookie="cart">2</p>`) {
		t.Errorf("body = %q; want the cart hole with the request's cookie", body)
	}
	get(t, base+"/", nil)
	resp, _ = get(t, base+"/", nil)
	if got := resp.Header.Get("Cache-Control"); got != "s-maxage=600, stale-while-revalidate=31535400" {
		t.Errorf("GET / Cache-Control = %q; want the ISR value of a 10m route", got)
	}
	resp, _ = get(t, base+"/dashboard", http.Header{"Cookie": {"session=ada"}})
	if got := resp.Header.Get("X-Cache-Status"); got != "BYPASS" {
		t.Errorf("GET /dashboard = %s; want BYPASS", got)
	}
	// Without REGEN_REVALIDATE_SECRET the endpoint is not mounted: the path
	// is the site's, which has no such route.
	req, _ := http.NewRequest("POST", base+"/api/revalidate", strings.NewReader(`{"tags":["products"]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/revalidate without a secret set = %d; want 405 (the engine's answer)", resp.StatusCode)
	}

	stop()
	if got := <-status; got != 0 {
		t.Errorf("regen serve after cancel = %d; want 0", got)
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Errorf("GET after shutdown succeeded; want the server closed")
	}
}

// TestServeRevalidate mounts the revalidation endpoint with
// REGEN_REVALIDATE_SECRET and revalidates a tag through it.
func TestServeRevalidate(t *testing.T) {
	t.Setenv("REGEN_REVALIDATE_SECRET", "s3cret")
	base, stop, status := startServe(t)

	get(t, base+"/about", nil)
	if resp, _ := get(t, base+"/about", nil); resp.Header.Get("X-Cache-Status") != "HIT" {
		t.Fatalf("second GET /about = %s; want HIT", resp.Header.Get("X-Cache-Status"))
	}
	post := func(secret, body string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/api/revalidate", strings.NewReader(body))
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("wrong", `{"tags":["cms"]}`); code != http.StatusUnauthorized {
		t.Errorf("POST with a wrong secret = %d; want 401", code)
	}
	if resp, _ := get(t, base+"/about", nil); resp.Header.Get("X-Cache-Status") != "HIT" {
		t.Errorf("GET /about after a refused revalidation = %s; want HIT", resp.Header.Get("X-Cache-Status"))
	}
	if code := post("s3cret", `{"tags":["cms"],"mode":"expire"}`); code != http.StatusOK {
		t.Errorf("POST with the secret = %d; want 200", code)
	}
	if resp, _ := get(t, base+"/about", nil); resp.Header.Get("X-Cache-Status") != "MISS" {
		t.Errorf("GET /about after expiring its tag = %s; want MISS", resp.Header.Get("X-Cache-Status"))
	}

	stop()
	if got := <-status; got != 0 {
		t.Errorf("regen serve after cancel = %d; want 0", got)
	}
}

// TestServeMissingDir checks that regen serve --dir refuses a directory that
// does not exist, in one line naming it and the command that makes a build,
// instead of creating it and serving an empty build.
func TestServeMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x", ".regen")
	status, stdout, stderr := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--dir", dir)
	want := "regen serve: --dir " + dir + ": no such directory (run regen build --out " + dir + " first)\n"
	if status != exitFailure || stderr != want {
		t.Errorf("regen serve --dir %s = %d, stderr %q; want 1 and %q", dir, status, stderr, want)
	}
	if strings.Contains(stdout, "listening") {
		t.Errorf("regen serve --dir %s listened: %q", dir, stdout)
	}
	if _, err := os.Stat(filepath.Dir(dir)); err == nil {
		t.Errorf("regen serve --dir %s created %s", dir, filepath.Dir(dir))
	}

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	status, _, stderr = runCLI(t, "serve", "--addr", "127.0.0.1:0", "--dir", file)
	if status != exitFailure || !strings.Contains(stderr, "not a directory") {
		t.Errorf("regen serve --dir on a file = %d, stderr %q; want 1 and not a directory", status, stderr)
	}
}
