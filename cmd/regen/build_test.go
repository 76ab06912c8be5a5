package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/examples/shop"
	"github.com/regen-dev/regen/sitespec"
	"github.com/regen-dev/regen/store/disk"
)

// demoPaths are the paths regen build prerenders for the demo site.
var demoPaths = []string{
	"/", "/about", "/categories/hats", "/categories/outerwear", "/categories/shoes", "/products",
	"/products/rain-jacket", "/products/sneakers", "/products/sun-hat", "/products/wool-socks", "/sitemap.xml",
}

// TestBuildThenServe builds the demo site into a directory, then serves it
// from a fresh engine over the disk store: every prerendered path is a HIT
// with no render.
func TestBuildThenServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	status, stdout, stderr := runCLI(t, "build", "--out", dir)
	if status != 0 {
		t.Fatalf("regen build = %d; stderr:\n%s", status, stderr)
	}
	for _, want := range []string{
		"Building shop (examples/shop/site.yaml) into " + dir,
		"100%  11/11 pages",
		"├ ◐ /(shop)/products/[slug]",
		"◐  (Partial Prerender)",
		"ƒ  (Dynamic)",
		"Built 11 pages into " + dir + " in ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("regen build stdout lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Errorf("build has no manifest: %v", err)
	}

	ds, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	spec, err := shop.Parse()
	if err != nil {
		t.Fatal(err)
	}
	built := spec.Build(sitespec.Options{})
	e, err := engine.New(built.Site, engine.Options{Store: ds, Fetcher: built.Fetcher})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if diff := cmp.Diff(demoPaths, e.Paths()); diff != "" {
		t.Fatalf("demo site paths (-want +got):\n%s", diff)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	for _, path := range demoPaths {
		resp, body := get(t, srv.URL+path, nil)
		if resp.StatusCode != 200 || resp.Header.Get("X-Cache-Status") != "HIT" {
			t.Errorf("GET %s = %d %s; want 200 HIT", path, resp.StatusCode, resp.Header.Get("X-Cache-Status"))
		}
		want, ctype := `<div data-layout="/">`, "text/html; charset=utf-8"
		if path == "/sitemap.xml" { // a route handler: its fetch's body, no layout
			want, ctype = `{"url":"/api/products","version":1}`, "application/xml"
		}
		if !strings.Contains(body, want) || resp.Header.Get("Content-Type") != ctype {
			t.Errorf("GET %s = %s %q; want %s, the rendered page", path, resp.Header.Get("Content-Type"), body, ctype)
		}
	}
	if n := e.Stats().Renders; n != 0 {
		t.Errorf("renders serving the build = %d; want 0", n)
	}
	if n := built.Origin.Calls(); n != 0 {
		t.Errorf("origin calls serving the build = %d; want 0", n)
	}
}

// TestServeDir runs regen serve --dir on a build: the built pages are HITs
// from the first request.
func TestServeDir(t *testing.T) {
	t.Setenv("REGEN_REVALIDATE_SECRET", "")
	dir := filepath.Join(t.TempDir(), "out")
	if status, _, stderr := runCLI(t, "build", "--out", dir); status != 0 {
		t.Fatalf("regen build = %d; stderr:\n%s", status, stderr)
	}
	base, stop, status := startServe(t, "--dir", dir)
	resp, _ := get(t, base+"/products/sneakers", nil)
	if got := resp.Header.Get("X-Cache-Status"); got != "HIT" {
		t.Errorf("first GET /products/sneakers = %s; want HIT", got)
	}
	resp, _ = get(t, base+"/products/boots", nil)
	if got := resp.Header.Get("X-Cache-Status"); got != "MISS" {
		t.Errorf("first GET /products/boots = %s; want MISS", got)
	}
	stop()
	if got := <-status; got != 0 {
		t.Errorf("regen serve after cancel = %d; want 0", got)
	}
	// The page rendered while serving was written back to the build.
	if _, err := os.Stat(filepath.Join(dir, "pages", "products", "boots.html")); err != nil {
		t.Errorf("page rendered by regen serve not written back: %v", err)
	}
}

// TestBuildFails checks that a build whose render fails exits 1 with the
// error on stderr, and leaves the previous build as it was.
func TestBuildFails(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	spec := writeSpec(t, fmt.Sprintf(`name: broken
segments:
  /:
    page: {}
  /news:
    page:
      fetches:
        - url: %s/news
`, broken.URL))

	dir := filepath.Join(t.TempDir(), "out")
	if status, _, stderr := runCLI(t, "build", "--out", dir); status != 0 {
		t.Fatalf("regen build = %d; stderr:\n%s", status, stderr)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	packs := func() []string { // the pack files holding the build's pages
		ents, _ := os.ReadDir(filepath.Join(dir, "packs"))
		var names []string
		for _, de := range ents {
			names = append(names, de.Name())
		}
		return names
	}
	packsBefore := packs()

	status, _, stderr := runCLI(t, "build", "--out", dir, spec)
	if status != 1 {
		t.Errorf("regen build of a failing site = %d; want 1", status)
	}
	if !strings.HasPrefix(stderr, "regen build: ") || !strings.Contains(stderr, "status 500") {
		t.Errorf("stderr = %q; want regen build: and the failed fetch", stderr)
	}
	after, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("previous build's manifest after a failed build: %v", err)
	}
	if string(after) != string(manifest) {
		t.Errorf("a failed build changed the previous build's manifest")
	}
	if got := packs(); len(packsBefore) != 1 || !slices.Equal(got, packsBefore) {
		t.Errorf("packs after a failed build = %q; want the previous build's one, %q", got, packsBefore)
	}
	ents, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("build's parent directory holds %d entries; want only the build (no staging left)", len(ents))
	}
}

// TestBuildRefusesOtherDirectory checks that regen build never replaces a
// directory that is not a build.
func TestBuildRefusesOtherDirectory(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(keep, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	status, _, stderr := runCLI(t, "build", "--out", dir)
	if status != 1 || !strings.Contains(stderr, "refusing to replace it") {
		t.Errorf("regen build into a directory with other files = %d, stderr %q; want 1 and a refusal", status, stderr)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("regen build removed a file it does not own: %v", err)
	}
}

// TestServeShutdownWaitsForRegeneration makes a built page stale through the
// revalidation endpoint, requests it (STALE: a background regeneration
// starts) and shuts regen serve down at once: it returns after the
// regeneration, whose page is in the build's manifest.
func TestServeShutdownWaitsForRegeneration(t *testing.T) {
	t.Setenv("REGEN_REVALIDATE_SECRET", "s3cret")
	dir := filepath.Join(t.TempDir(), "out")
	if status, _, stderr := runCLI(t, "build", "--out", dir); status != 0 {
		t.Fatalf("regen build = %d; stderr:\n%s", status, stderr)
	}
	before := pageGeneratedAt(t, dir, "/about")

	base, stop, status := startServe(t, "--dir", dir)
	req, _ := http.NewRequest("POST", base+"/api/revalidate", strings.NewReader(`{"tags":["cms"]}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /api/revalidate = %d; want 200", resp.StatusCode)
	}
	resp, _ = get(t, base+"/about", nil)
	if got := resp.Header.Get("X-Cache-Status"); got != "STALE" {
		t.Fatalf("GET /about after revalidating its tag = %s; want STALE", got)
	}
	stop()
	if got := <-status; got != 0 {
		t.Fatalf("regen serve after cancel = %d; want 0", got)
	}
	if after := pageGeneratedAt(t, dir, "/about"); !after.After(before) {
		t.Errorf("/about generated at %v after shutdown, %v before; want the regeneration written before regen serve returned", after, before)
	}
}

// pageGeneratedAt reads when the page at path was generated from the
// manifest of the build in dir.
func pageGeneratedAt(t *testing.T, dir, path string) time.Time {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Pages map[string]struct {
			GeneratedAt time.Time `json:"generatedAt"`
		} `json:"pages"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	p, ok := m.Pages[path]
	if !ok {
		t.Fatalf("manifest has no page %s", path)
	}
	return p.GeneratedAt
}
