package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store/disk"
)

var (
	buildT0    = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	buildQuiet = slog.New(slog.DiscardHandler)
)

func buildClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// buildSite is a small site: two static pages, an ISR route with two
// static params whose page fetches its post, a route declared dynamic and
// one that a render reveals dynamic.
func buildSite(version string) *Site {
	var s Site
	s.Layout("/", Layout{Render: wrap("html")})
	s.Page("/", Page{Render: buildText("home " + version)})
	s.Page("/about", Page{Render: buildText("about " + version)})
	s.Page("/blog/[slug]", Page{
		Revalidate:   sec(60),
		StaticParams: []render.Params{{"slug": "hello"}, {"slug": "world"}},
		Render: render.PageFunc(func(ctx context.Context, sc *render.Scope, w io.Writer) error {
			res, err := sc.Fetch(ctx, &fetchcache.Request{URL: "https://api.test/posts/" + sc.Param("slug"), Tags: []string{"posts"}})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "post %s %s [%s]", sc.Param("slug"), version, res.Body)
			return nil
		}),
	})
	s.Page("/account", Page{Uses: []regen.API{regen.Cookies}, Render: buildText("account")})
	s.Page("/live", Page{Render: render.PageFunc(func(ctx context.Context, sc *render.Scope, w io.Writer) error {
		fmt.Fprintf(w, "live %d cookies", len(sc.Cookies()))
		return nil
	})})
	return &s
}

func buildText(body string) render.Page {
	return render.PageFunc(func(ctx context.Context, sc *render.Scope, w io.Writer) error {
		_, err := io.WriteString(w, body)
		return err
	})
}

// buildFiles returns every file under dir with its contents, by slash path.
func buildFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

// buildEntries lists the names in dir.
func buildEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// serveBuild opens a build's directory as a server would, with an engine
// over it; both are closed when the test ends.
func serveBuild(t *testing.T, site *Site, dir string, opts Options) (*Engine, *disk.Store) {
	t.Helper()
	ds, err := disk.Open(dir, disk.Options{Logger: buildQuiet})
	if err != nil {
		t.Fatalf("disk.Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { ds.Close() })
	opts.Store = ds
	opts.Logger = buildQuiet
	return newEngine(t, site, opts), ds
}

// TestBuildThenServe: a server started on a build serves every
// prerendered path as a HIT without rendering or fetching.
func TestBuildThenServe(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "site")
	o := newOrigin()
	opts := Options{Now: buildClock(buildT0), Fetcher: o, Logger: buildQuiet}

	// A first build, then the one that replaces it.
	if _, err := Build(ctx, buildSite("v1"), dir, BuildOptions{Options: opts}); err != nil {
		t.Fatalf("first Build: %v", err)
	}
	o.publish("https://api.test/posts/hello")
	type progress struct{ done, total int }
	var calls []progress
	site := buildSite("v2")
	res, err := Build(ctx, site, dir, BuildOptions{Options: opts, Concurrency: 3, OnPage: func(done, total int, p Prerendered) {
		calls = append(calls, progress{done, total})
	}})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if got, want := buildEntries(t, parent), []string{"site"}; !slices.Equal(got, want) {
		t.Errorf("entries beside the build = %q; want %q (no staging or old directory)", got, want)
	}
	if want := []progress{{1, 5}, {2, 5}, {3, 5}, {4, 5}, {5, 5}}; !slices.Equal(calls, want) {
		t.Errorf("OnPage calls = %v; want %v", calls, want)
	}

	bodies := map[string]string{
		"/":           "<html>home v2</html>",
		"/about":      "<html>about v2</html>",
		"/blog/hello": "<html>post hello v2 [https://api.test/posts/hello@2]</html>",
		"/blog/world": "<html>post world v2 [https://api.test/posts/world@1]</html>",
	}
	want := []BuiltPage{
		{Path: "/", Route: "/", Kind: Static, Bytes: len(bodies["/"])},
		{Path: "/about", Route: "/about", Kind: Static, Bytes: len(bodies["/about"])},
		{Path: "/blog/hello", Route: "/blog/[slug]", Kind: ISR, Bytes: len(bodies["/blog/hello"])},
		{Path: "/blog/world", Route: "/blog/[slug]", Kind: ISR, Bytes: len(bodies["/blog/world"])},
		{Path: "/live", Route: "/live", Kind: Dynamic},
	}
	if diff := cmp.Diff(want, res.Pages, cmpopts.IgnoreFields(BuiltPage{}, "Duration")); diff != "" {
		t.Errorf("Build pages mismatch (-want +got):\n%s", diff)
	}
	kinds := map[string]Kind{}
	for _, p := range res.Routes {
		kinds[p.Route] = p.Kind
	}
	if diff := cmp.Diff(map[string]Kind{"/": Static, "/about": Static, "/blog/[slug]": ISR, "/account": Dynamic, "/live": Dynamic}, kinds); diff != "" {
		t.Errorf("Build routes' kinds mismatch (-want +got):\n%s", diff)
	}
	if res.Dir != dir || res.Duration <= 0 {
		t.Errorf("Build result Dir, Duration = %q, %v; want %q and a duration", res.Dir, res.Duration, dir)
	}

	fetches := o.callsTo("https://api.test/posts/hello")
	e, ds := serveBuild(t, site, dir, Options{Now: buildClock(buildT0.Add(59 * time.Second)), Fetcher: o})
	if got := ds.Len(); got != 6 {
		t.Errorf("items on disk = %d; want 6 (4 pages, 2 fetches)", got)
	}
	for _, path := range []string{"/", "/about", "/blog/hello", "/blog/world"} {
		got := get(e, path)
		if got.code != 200 || got.status != "HIT" || got.body != bodies[path] {
			t.Errorf("GET %s = %d %s %q; want 200 HIT %q", path, got.code, got.status, got.body, bodies[path])
		}
	}
	if got := e.Stats().Renders; got != 0 {
		t.Errorf("renders after serving the build = %d; want 0", got)
	}
	if got := o.callsTo("https://api.test/posts/hello"); got != fetches {
		t.Errorf("origin calls = %d; want %d (none since the build)", got, fetches)
	}
}

// TestBuildManifest compares the manifest of a small site, times aside:
// the pages are in one pack (version 2), each at its offset.
func TestBuildManifest(t *testing.T) {
	var site Site
	site.Layout("/", Layout{Render: wrap("html")})
	site.Page("/", Page{Render: buildText("home")})
	site.Page("/blog/[slug]", Page{Revalidate: sec(60), StaticParams: []render.Params{{"slug": "hello"}}, Render: buildText("post")})
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := Build(context.Background(), &site, dir, BuildOptions{Options: Options{Now: buildClock(buildT0), Logger: buildQuiet}}); err != nil {
		t.Fatalf("Build: %v", err)
	}
	home, post := "<html>home</html>", "<html>post</html>"
	files := buildFiles(t, dir)
	var pack string
	for name := range files {
		if strings.HasPrefix(name, "packs/") {
			pack = name
		}
	}
	if len(files) != 2 || pack == "" {
		t.Fatalf("files = %q; want manifest.json and a pack", slices.Sorted(maps.Keys(files)))
	}
	wantJSON := fmt.Sprintf(`{
		"version": 2,
		"pages": {
			"/": {
				"route": "/", "revalidate": false,
				"tags": ["_N_T_/layout", "_N_T_/page", "_N_T_/"],
				"etag": %[1]q, "pack": %[7]q, "status": 200,
				"headers": {
					"Cache-Control": ["s-maxage=31536000"],
					"Content-Length": ["%[2]d"],
					"Content-Type": ["text/html; charset=utf-8"],
					"Etag": [%[1]q]
				},
				"bytes": %[2]d, "xxhash": "%016[3]x"
			},
			"/blog/hello": {
				"route": "/blog/[slug]", "revalidate": 60, "expire": 31536000,
				"tags": ["_N_T_/layout", "_N_T_/blog/layout", "_N_T_/blog/[slug]/layout", "_N_T_/blog/[slug]/page", "_N_T_/blog/hello"],
				"etag": %[4]q, "pack": %[7]q, "status": 200,
				"headers": {
					"Cache-Control": ["s-maxage=60, stale-while-revalidate=31535940"],
					"Content-Length": ["%[5]d"],
					"Content-Type": ["text/html; charset=utf-8"],
					"Etag": [%[4]q]
				},
				"bytes": %[5]d, "xxhash": "%016[6]x"
			}
		}
	}`, etag([]byte(home)), len(home), xxhash.Sum64String(home), etag([]byte(post)), len(post), xxhash.Sum64String(post), pack)
	var want, got any
	if err := json.Unmarshal([]byte(wantJSON), &want); err != nil {
		t.Fatalf("want: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	// The renders run at once: the pages are in the pack in either order.
	ignore := cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "generatedAt" || k == "offset" })
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("manifest.json mismatch (-want +got):\n%s", diff)
	}
	var m struct {
		Pages map[string]struct{ Offset, Bytes int }
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for path, body := range map[string]string{"/": home, "/blog/hello": post} {
		p := m.Pages[path]
		if p.Offset+p.Bytes > len(files[pack]) || files[pack][p.Offset:p.Offset+p.Bytes] != body {
			t.Errorf("%s: offset %d, bytes %d in the pack %q; want %q", path, p.Offset, p.Bytes, files[pack], body)
		}
	}
}

// TestBuildRegenerationSurvivesRestart: a regeneration on a server started
// on a build is written back, and the next restart serves it as a HIT.
func TestBuildRegenerationSurvivesRestart(t *testing.T) {
	var c counter
	var site Site
	site.Page("/news", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, sc *render.Scope, w io.Writer) error {
		fmt.Fprintf(w, "news v%d", c.inc())
		return nil
	})})
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := Build(context.Background(), &site, dir, BuildOptions{Options: Options{Now: buildClock(buildT0), Logger: buildQuiet}}); err != nil {
		t.Fatalf("Build: %v", err)
	}

	steps := []struct {
		name string
		at   time.Duration // since the build
		want response
	}{
		{"first server, past the interval", 61 * time.Second, response{code: 200, status: "STALE", body: "news v1"}},
		{"after a restart", 62 * time.Second, response{code: 200, status: "HIT", body: "news v2"}},
		{"after another restart", 63 * time.Second, response{code: 200, status: "HIT", body: "news v2"}},
	}
	for _, st := range steps {
		ds, err := disk.Open(dir, disk.Options{Logger: buildQuiet})
		if err != nil {
			t.Fatalf("%s: disk.Open: %v", st.name, err)
		}
		e, err := New(&site, Options{Store: ds, Now: buildClock(buildT0.Add(st.at)), Logger: buildQuiet})
		if err != nil {
			t.Fatal(err)
		}
		got := get(e, "/news")
		if got.code != st.want.code || got.status != st.want.status || got.body != st.want.body {
			t.Errorf("%s: GET /news = %d %s %q; want %d %s %q", st.name, got.code, got.status, got.body, st.want.code, st.want.status, st.want.body)
		}
		// Close waits for the background regeneration and its write.
		if err := errors.Join(e.Close(), ds.Close()); err != nil {
			t.Fatalf("%s: Close: %v", st.name, err)
		}
	}
	if got := c.get(); got != 2 {
		t.Errorf("renders = %d; want 2 (the build, one regeneration)", got)
	}
}

// TestBuildFailure: a build that fails removes its staging directory and
// leaves the previous build byte for byte.
func TestBuildFailure(t *testing.T) {
	failAfter := func(n int) *Site {
		var c counter
		var s Site
		var params []render.Params
		for i := range 12 {
			params = append(params, render.Params{"n": fmt.Sprint(i)})
		}
		s.Page("/p/[n]", Page{StaticParams: params, Render: render.PageFunc(func(ctx context.Context, sc *render.Scope, w io.Writer) error {
			if c.inc() > n {
				return errors.New("database down")
			}
			fmt.Fprintf(w, "page %s", sc.Param("n"))
			return nil
		})})
		return &s
	}
	strict := func() *Site {
		var s Site
		s.Page("/", Page{Render: buildText("home")})
		s.Page("/strict", Page{Dynamic: regen.DynamicError, Render: render.PageFunc(func(ctx context.Context, sc *render.Scope, w io.Writer) error {
			fmt.Fprintf(w, "%d cookies", len(sc.Cookies()))
			return nil
		})})
		return &s
	}
	invalid := func() *Site {
		var s Site
		s.Page("/", Page{Revalidate: regen.Seconds(-5), Render: buildText("home")})
		return &s
	}

	tests := []struct {
		name    string
		site    *Site
		cancel  bool // cancel the build's context after its second page
		check   func(err error) bool
		wantErr string
	}{
		{"render fails after 3 pages", failAfter(3), false, nil, `engine: prerender /p/`},
		{"dynamic error route reads cookies", strict(), false, func(err error) bool {
			var me *render.ModeError
			return errors.As(err, &me) && me.API == "cookies" && strings.Contains(err.Error(), me.Error())
		}, `route "/strict"`},
		{"context canceled", failAfter(100), true, func(err error) bool { return errors.Is(err, context.Canceled) }, ""},
		{"invalid configuration", invalid(), false, nil, "revalidate -5"},
	}
	for _, tt := range tests {
		for _, previous := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/previous=%v", tt.name, previous), func(t *testing.T) {
				parent := t.TempDir()
				dir := filepath.Join(parent, "site")
				opts := Options{Now: buildClock(buildT0), Fetcher: newOrigin(), Logger: buildQuiet}
				var before map[string]string
				if previous {
					if _, err := Build(context.Background(), buildSite("v1"), dir, BuildOptions{Options: opts}); err != nil {
						t.Fatalf("previous Build: %v", err)
					}
					before = buildFiles(t, dir)
				}

				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				bo := BuildOptions{Options: opts, Concurrency: 2}
				if tt.cancel {
					bo.OnPage = func(done, total int, p Prerendered) {
						if done == 2 {
							cancel()
						}
					}
				}
				res, err := Build(ctx, tt.site, dir, bo)
				if err == nil {
					t.Fatalf("Build = %+v, nil; want an error", res)
				}
				if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Build error = %v; want it to contain %q", err, tt.wantErr)
				}
				if tt.check != nil && !tt.check(err) {
					t.Errorf("Build error = %v (%T); does not match the case", err, err)
				}

				wantEntries := []string(nil)
				if previous {
					wantEntries = []string{"site"}
					if diff := cmp.Diff(before, buildFiles(t, dir)); diff != "" {
						t.Errorf("previous build changed (-before +after):\n%s", diff)
					}
				}
				if got := buildEntries(t, parent); !slices.Equal(got, wantEntries) {
					t.Errorf("entries beside the build = %q; want %q", got, wantEntries)
				}
			})
		}
	}
}

// TestBuildRefusesForeignDir: Build replaces only its own builds.
func TestBuildRefusesForeignDir(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "home")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "thesis.txt"), []byte("years of work"), 0o644)
	_, err := Build(context.Background(), buildSite("v1"), dir, BuildOptions{Options: Options{Logger: buildQuiet, Fetcher: newOrigin()}})
	if err == nil || !strings.Contains(err.Error(), "refusing to replace it") {
		t.Errorf("Build into a foreign directory = %v; want a refusal", err)
	}
	if got, want := buildFiles(t, dir), map[string]string{"thesis.txt": "years of work"}; !cmp.Equal(got, want) {
		t.Errorf("directory after the refusal = %q; want %q", got, want)
	}
	if got, want := buildEntries(t, parent), []string{"home"}; !slices.Equal(got, want) {
		t.Errorf("entries beside it = %q; want %q", got, want)
	}
}

// TestBuildStoreRecordsWriteErrors: a write the engine only logs fails the
// build.
func TestBuildStoreRecordsWriteErrors(t *testing.T) {
	ds, err := disk.Open(t.TempDir(), disk.Options{Logger: buildQuiet})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	bs := &buildStore{Store: ds}
	ctx := context.Background()
	bs.Set(ctx, "/ok", &routecache.Entry{Status: 200})
	if err := bs.failed(); err != nil {
		t.Fatalf("failed() after a good write = %v; want nil", err)
	}
	bs.Set(ctx, "/../escape", &routecache.Entry{Status: 200})
	bs.Set(ctx, "/ok", nil)
	if err := bs.failed(); !errors.Is(err, disk.ErrKey) {
		t.Errorf("failed() = %v; want the first error, matching disk.ErrKey", err)
	}
}

// BenchmarkBuild builds a site of ISR pages into a fresh directory, every
// page appended to the build's pack and the whole build synced once at the
// end. Concurrency 0 is GOMAXPROCS. store/disk's BenchmarkBuildStore
// measures the store's part alone, beside a memory floor.
func BenchmarkBuild(b *testing.B) {
	for _, bc := range []struct{ pages, concurrency int }{{100, 0}, {1000, 0}, {1000, 16}} {
		pages := bc.pages
		b.Run(fmt.Sprintf("pages=%d/concurrency=%d", pages, bc.concurrency), func(b *testing.B) {
			params := make([]render.Params, pages)
			for i := range params {
				params[i] = render.Params{"slug": fmt.Sprintf("post-%d", i)}
			}
			var site Site
			site.Layout("/", Layout{Render: wrap("html")})
			site.Page("/blog/[slug]", Page{Revalidate: sec(60), StaticParams: params, Render: buildText(strings.Repeat("<p>regen</p>", 400))})
			parent := b.TempDir()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				dir := filepath.Join(parent, fmt.Sprint(i))
				if _, err := Build(context.Background(), &site, dir, BuildOptions{Options: Options{Logger: buildQuiet}, Concurrency: bc.concurrency}); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(pages)/1e3, "µs/page")
		})
	}
}
