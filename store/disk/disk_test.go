package disk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store"
)

var (
	t0    = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	quiet = slog.New(slog.DiscardHandler)
)

// itemOpts compare items read back from disk with those stored: an empty
// header or tag list reads back as nil, and times compare by instant.
var itemOpts = cmp.Options{cmpopts.EquateEmpty()}

func open(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustSet(t testing.TB, s *Store, key string, it *store.Item) {
	t.Helper()
	if err := s.Set(context.Background(), key, it); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// files returns every file under dir with its contents, by slash path.
func files(t testing.TB, dir string) map[string]string {
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

func names(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func htmlItem(body string, rev regen.Revalidate, tags ...string) *store.Item {
	return &store.Item{
		Status:     200,
		Header:     http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Etag": {`"` + body + `"`}},
		Body:       []byte(body),
		Tags:       tags,
		Created:    t0,
		Revalidate: rev,
		Expire:     365 * 24 * time.Hour,
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		key  string
		it   *store.Item
	}{
		{"isr page", "/blog/hello", htmlItem("<h1>Hello</h1>", regen.Seconds(60), append([]string{"posts"}, routecache.ImplicitTags("/blog/[slug]", "/blog/hello")...)...)},
		{"static root", "/", &store.Item{Status: 200, Body: []byte("home"), Created: t0.Add(time.Nanosecond), Revalidate: regen.Forever}},
		{"not found page", "/gone", &store.Item{Status: 404, Body: []byte("nope"), Created: t0, Revalidate: regen.Never, Expire: 1500 * time.Millisecond}},
		{"undeclared, empty body", "/Odd Path/ünï/v1.2", &store.Item{Status: 200, Created: t0.In(time.FixedZone("X", 3600))}},
		{"fetch", "fetch:0123456789abcdef0123456789abcdef", &store.Item{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte("{\"a\":\n1}"), Tags: []string{"posts", "_N_T_/blog/[slug]/page"}, Created: t0, Revalidate: regen.Seconds(300)}},
		{"memo with odd key", "memo:../../etc/passwd\x00", &store.Item{Status: 200, Body: []byte("rows"), Created: t0, Revalidate: regen.Forever, Expire: time.Nanosecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := open(t, dir, Options{})
			mustSet(t, s, tt.key, tt.it)
			got, ok, err := s.Get(ctx, tt.key)
			if err != nil || !ok {
				t.Fatalf("Get(%q) before restart = %v, %v; want the stored item", tt.key, ok, err)
			}
			if diff := cmp.Diff(tt.it, got, itemOpts); diff != "" {
				t.Errorf("Get(%q) before restart mismatch (-want +got):\n%s", tt.key, diff)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			s2 := open(t, dir, Options{})
			got, ok, err = s2.Get(ctx, tt.key)
			if err != nil || !ok {
				t.Fatalf("Get(%q) after restart = %v, %v; want the item", tt.key, ok, err)
			}
			if diff := cmp.Diff(tt.it, got, itemOpts); diff != "" {
				t.Errorf("Get(%q) after restart mismatch (-want +got):\n%s", tt.key, diff)
			}
			if s2.Len() != 1 {
				t.Errorf("Len() = %d; want 1", s2.Len())
			}
		})
	}
}

func TestPageFile(t *testing.T) {
	long := "/" + strings.Repeat("é", 100)
	tests := []struct {
		key     string
		want    string
		wantErr bool
	}{
		{key: "/", want: "pages/index.html"},
		{key: "/blog", want: "pages/blog.html"},
		{key: "/blog/hello", want: "pages/blog/hello.html"},
		{key: "/blog/hello-world_2~", want: "pages/blog/hello-world_2~.html"},
		{key: "/index", want: "pages/%69ndex.html"},
		{key: "/blog/index", want: "pages/blog/index.html"},
		{key: "/About", want: "pages/%41bout.html"},
		{key: "/docs/v1.2", want: "pages/docs/v1%2E2.html"},
		{key: "/a.html/b", want: "pages/a%2Ehtml/b.html"},
		{key: "/.hidden", want: "pages/%2Ehidden.html"},
		{key: "/...", want: "pages/%2E%2E%2E.html"},
		{key: "/a%2F..%2Fb", want: "pages/a%252%46%2E%2E%252%46b.html"},
		{key: `/a\..\b`, want: "pages/a%5C%2E%2E%5Cb.html"},
		{key: "/caf\u00e9", want: "pages/caf%C3%A9.html"},
		{key: "/con", want: "pages/%63on.html"},
		{key: "/x/lpt1", want: "pages/x/%6Cpt1.html"},
		{key: long, want: "long/" + strings.Repeat("x", 64) + ".html"},

		{key: "/..", wantErr: true},
		{key: "/../secret", wantErr: true},
		{key: "/a/../../secret", wantErr: true},
		{key: "/./a", wantErr: true},
		{key: "//etc/passwd", wantErr: true},
		{key: "/a//b", wantErr: true},
		{key: "/a/", wantErr: true},
		{key: "fetch:x", wantErr: true},
	}
	for _, tt := range tests {
		got, err := pageFile(tt.key)
		if tt.wantErr {
			if !errors.Is(err, ErrKey) {
				t.Errorf("pageFile(%q) = %q, %v; want an error matching ErrKey", tt.key, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("pageFile(%q) error: %v", tt.key, err)
			continue
		}
		if strings.HasPrefix(tt.want, "long/") {
			if !strings.HasPrefix(got, "long/") || len(got) != len(tt.want) {
				t.Errorf("pageFile(%q) = %q; want long/<64 hex digits>.html", tt.key, got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("pageFile(%q) = %q; want %q", tt.key, got, tt.want)
		}
	}
}

// TestPageFileDistinct checks that distinct paths get distinct files, also
// under case folding, and that no file is a directory another needs.
func TestPageFileDistinct(t *testing.T) {
	keys := []string{"/", "/index", "/Index", "/INDEX", "/index.html", "/a", "/A", "/a.html", "/a.html/b",
		"/a/b", "/a/B", "/a%2Fb", "/a/index", "/%69ndex", "/a.", "/a..", "/con", "/CON", "/c%6Fn"}
	seen := map[string]string{}
	dirs := map[string]bool{}
	for _, k := range keys {
		f, err := pageFile(k)
		if err != nil {
			t.Fatalf("pageFile(%q): %v", k, err)
		}
		folded := strings.ToLower(f)
		if other, dup := seen[folded]; dup {
			t.Errorf("pageFile(%q) = pageFile(%q) = %q under case folding", k, other, f)
		}
		seen[folded] = k
		for d := filepath.Dir(f); d != "."; d = filepath.Dir(d) {
			dirs[strings.ToLower(d)] = true
		}
	}
	for f, k := range seen {
		if dirs[f] {
			t.Errorf("file %q of %q is also a directory", f, k)
		}
	}
}

func TestRefusedKeys(t *testing.T) {
	keys := []string{"/../escape", "/a/../../escape", "/..", "/./x", "//x", "/a//b", "/a/"}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			ctx := context.Background()
			parent := t.TempDir()
			dir := filepath.Join(parent, "store")
			s := open(t, dir, Options{})
			err := s.Set(ctx, key, htmlItem("evil", regen.Forever))
			if !errors.Is(err, ErrKey) {
				t.Fatalf("Set(%q) = %v; want an error matching ErrKey", key, err)
			}
			if _, ok, _ := s.Get(ctx, key); ok {
				t.Errorf("Get(%q) found the refused item", key)
			}
			if err := s.Delete(ctx, key); err != nil {
				t.Errorf("Delete(%q) = %v; want nil (nothing stored)", key, err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got, want := names(files(t, parent)), []string{"store/manifest.json"}; !slices.Equal(got, want) {
				t.Errorf("files after Set(%q) = %q; want %q", key, got, want)
			}
		})
	}
}

func TestJSONValues(t *testing.T) {
	revs := []struct {
		r    regen.Revalidate
		json string
	}{
		{regen.Forever, "false"},
		{regen.Never, "0"},
		{regen.Seconds(60), "60"},
	}
	for _, tt := range revs {
		b, _ := json.Marshal(tt.r)
		var back regen.Revalidate
		err := json.Unmarshal(b, &back)
		if string(b) != tt.json || err != nil || back != tt.r {
			t.Errorf("revalidate %v: %s, back %v, %v; want %s", tt.r, b, back, err, tt.json)
		}
	}
	durs := []struct {
		d    time.Duration
		json string
	}{
		{365 * 24 * time.Hour, "31536000"},
		{1500 * time.Millisecond, "1.5"},
		{time.Nanosecond, "0.000000001"},
		{-2*time.Second - time.Millisecond, "-2.001"},
		{-time.Millisecond, "-0.001"},
	}
	for _, tt := range durs {
		b, _ := json.Marshal(secondsJSON(tt.d))
		var back secondsJSON
		err := json.Unmarshal(b, &back)
		if string(b) != tt.json || err != nil || time.Duration(back) != tt.d {
			t.Errorf("duration %v: %s, back %v, %v; want %s", tt.d, b, time.Duration(back), err, tt.json)
		}
	}
	for _, bad := range []string{`"60"`, "1.5", "true"} {
		var r regen.Revalidate
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("revalidate %s: no error", bad)
		}
	}
	for _, bad := range []string{"1e3", "1.0000000001", `"1"`, "", "x"} {
		var d secondsJSON
		if err := d.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("duration %q: no error", bad)
		}
	}
}

func TestDeleteAndTagsPersist(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, Options{})
	mustSet(t, s, "/a", htmlItem("a", regen.Seconds(60), "posts"))
	mustSet(t, s, "/b", htmlItem("b", regen.Seconds(60), "posts"))
	mustSet(t, s, "fetch:1", htmlItem("one", regen.Seconds(60), "posts"))
	mustSet(t, s, "fetch:2", htmlItem("two", regen.Seconds(60)))
	for _, key := range []string{"/b", "fetch:2", "/never-stored"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete(%q): %v", key, err)
		}
	}
	s.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0.Add(time.Minute))
	s.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0.Add(30*time.Second)) // earlier: ignored
	s.RevalidateTags(ctx, []string{"users"}, regen.RevalidateExpire, t0.Add(2*time.Minute))
	s.Close()

	s2 := open(t, dir, Options{})
	for key, want := range map[string]bool{"/a": true, "/b": false, "fetch:1": true, "fetch:2": false} {
		if _, ok, err := s2.Get(ctx, key); ok != want || err != nil {
			t.Errorf("after restart, Get(%q) found = %v, %v; want %v", key, ok, err, want)
		}
	}
	if got, want := names(files(t, dir)), []string{LockFile, "data/" + dataFile("fetch:1")[5:], "manifest.json", "pages/a.html", "tags.json"}; !slices.Equal(got, want) {
		t.Errorf("files = %q; want %q", got, want)
	}
	states := []struct {
		tags  []string
		since time.Time
		want  store.TagState
	}{
		{[]string{"posts"}, t0, store.TagState{Stale: true}},
		{[]string{"posts"}, t0.Add(time.Minute), store.TagState{}},
		{[]string{"users", "x"}, t0, store.TagState{Stale: true, Expired: true}},
		{[]string{"x"}, t0, store.TagState{}},
	}
	for _, tt := range states {
		got, err := s2.TagState(ctx, tt.tags, tt.since)
		if err != nil || got != tt.want {
			t.Errorf("after restart, TagState(%q, %v) = %+v, %v; want %+v", tt.tags, tt.since, got, err, tt.want)
		}
	}
}

// TestCrash stops a write between its temporary file and its rename, or
// before its journal record, as a crash would, then reopens the directory
// without closing the store.
func TestCrash(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		crashIn string // the directory, relative to the store's, of the write that crashes; "record": the journal append
		want    string // the body served after the restart; "" for none
		// leftover is a file that a crashed process left, that no entry
		// names, at the new page's path: the write replaces it by a rename.
		leftover string
	}{
		{name: "page body", key: "/blog/hello", crashIn: "pages/blog", want: "v1"},
		// The body was renamed into place; the journal still describes v1.
		{name: "record after a page", key: "/blog/hello", crashIn: "record"},
		{name: "data", key: "fetch:1", crashIn: "data", want: "v1"},
		{name: "new page", key: "/new", crashIn: "pages", leftover: "pages/new.html"},
		// The body was written at its name directly; no entry names it.
		{name: "new page's record", key: "/new", crashIn: "record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s, err := Open(dir, Options{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			if tt.key != "/new" {
				mustSet(t, s, tt.key, htmlItem("v1", regen.Seconds(60)))
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if tt.leftover != "" {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, tt.leftover)), 0o755)
				os.WriteFile(filepath.Join(dir, tt.leftover), []byte("torn"), 0o644)
			}
			before := files(t, dir)
			var tmps []string
			crashed := 0
			setHooks(s, func(tmp string) bool {
				if filepath.Dir(tmp) == filepath.Join(dir, tt.crashIn) {
					tmps = append(tmps, tmp)
					return false
				}
				return true
			}, func(*record) bool {
				if tt.crashIn == "record" {
					crashed++
					return false
				}
				return true
			})
			mustSet(t, s, tt.key, htmlItem("v2", regen.Seconds(60)))
			if err := s.Flush(); err == nil {
				t.Fatalf("Flush after a crashed write = nil; want an error")
			}
			if tt.crashIn == "record" {
				if crashed != 1 {
					t.Fatalf("crashed records = %d; want 1", crashed)
				}
			} else {
				if len(tmps) != 1 {
					t.Fatalf("crashed writes = %q; want 1", tmps)
				}
				if _, err := os.Stat(tmps[0]); err != nil {
					t.Fatalf("temporary file after the crash: %v", err)
				}
			}
			s.abandon() // the process dies here: no Close

			s2 := open(t, dir, Options{})
			if len(tmps) > 0 {
				if _, err := os.Stat(tmps[0]); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("temporary file after Open: %v; want it removed", err)
				}
			}
			it, ok, err := s2.Get(ctx, tt.key)
			switch {
			case err != nil:
				t.Errorf("Get(%q) after the restart: %v", tt.key, err)
			case tt.want == "" && ok:
				t.Errorf("Get(%q) after the restart = %q; want none", tt.key, it.Body)
			case tt.want != "" && (!ok || string(it.Body) != tt.want):
				t.Errorf("Get(%q) after the restart = %v, %v; want %q", tt.key, it, ok, tt.want)
			}
			after := files(t, dir)
			for name := range after {
				if strings.Contains(name, tmpPrefix) {
					t.Errorf("file %s left after Open", name)
				}
			}
			if tt.want != "" {
				if diff := cmp.Diff(bodies(before), bodies(after)); diff != "" {
					t.Errorf("files changed by the crashed write (-before +after):\n%s", diff)
				}
			}
		})
	}
}

// bodies keeps the page and data files of a files map.
func bodies(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if strings.HasPrefix(k, "pages/") || strings.HasPrefix(k, "data/") {
			out[k] = v
		}
	}
	return out
}

func TestConcurrent(t *testing.T) {
	const writers, keysPer, versions = 8, 4, 20
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, Options{Memory: store.MemoryOptions{MaxBytes: 16 << 10, Shards: 4}})
	key := func(w, k int) string {
		if k%2 == 0 {
			return fmt.Sprintf("/w%d/k%d", w, k)
		}
		return fmt.Sprintf("fetch:w%d-k%d", w, k)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for v := range versions {
				for k := range keysPer {
					body := strings.Repeat(fmt.Sprintf("w%d k%d v%d;", w, k, v), 50)
					if err := s.Set(ctx, key(w, k), htmlItem(body, regen.Seconds(60), fmt.Sprintf("t%d", k))); err != nil {
						t.Errorf("Set: %v", err)
					}
				}
				if v%5 == 0 {
					s.RevalidateTags(ctx, []string{fmt.Sprintf("t%d", w%keysPer)}, regen.RevalidateStale, t0.Add(time.Duration(v)*time.Second))
					s.Delete(ctx, key(w, 0))
				}
			}
		})
		wg.Go(func() {
			for range versions * keysPer {
				for k := range keysPer {
					if it, ok, err := s.Get(ctx, key((w+1)%writers, k)); err != nil {
						t.Errorf("Get: %v", err)
					} else if ok && !strings.HasPrefix(string(it.Body), fmt.Sprintf("w%d k%d ", (w+1)%writers, k)) {
						t.Errorf("Get(%q) = %.20q; want its own item", key((w+1)%writers, k), it.Body)
					}
					s.TagState(ctx, []string{"t1", "t2"}, t0)
				}
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := open(t, dir, Options{})
	for w := range writers {
		for k := range keysPer {
			it, ok, err := s2.Get(ctx, key(w, k))
			want := strings.Repeat(fmt.Sprintf("w%d k%d v%d;", w, k, versions-1), 50)
			if err != nil || !ok || string(it.Body) != want {
				t.Errorf("after restart, Get(%q) = %v, %v; want version %d", key(w, k), ok, err, versions-1)
			}
		}
	}
	if got, err := s2.TagState(ctx, []string{"t3"}, t0.Add(14*time.Second)); err != nil || !got.Stale {
		t.Errorf("after restart, TagState(t3) = %+v, %v; want stale", got, err)
	}
}

// TestEvicted: items the memory tier evicts are read back from disk.
func TestEvicted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, Options{Memory: store.MemoryOptions{MaxBytes: 4 << 10, Shards: 1}})
	const n = 50
	for i := range n {
		mustSet(t, s, fmt.Sprintf("/p/%d", i), htmlItem(strings.Repeat("x", 500)+fmt.Sprint(i), regen.Forever))
		mustSet(t, s, fmt.Sprintf("memo:%d", i), htmlItem(strings.Repeat("y", 500)+fmt.Sprint(i), regen.Forever))
	}
	if s.mem.Len() >= 2*n {
		t.Fatalf("memory tier holds %d items; want fewer than %d for this test", s.mem.Len(), 2*n)
	}
	for i := range n {
		for _, k := range []string{fmt.Sprintf("/p/%d", i), fmt.Sprintf("memo:%d", i)} {
			it, ok, err := s.Get(ctx, k)
			if err != nil || !ok || !strings.HasSuffix(string(it.Body), fmt.Sprint(i)) || len(it.Body) != 500+len(fmt.Sprint(i)) {
				t.Errorf("Get(%q) = %v, %v; want its item read back", k, ok, err)
			}
		}
	}
	if s.Len() != 2*n {
		t.Errorf("Len() = %d; want %d", s.Len(), 2*n)
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name, file, content, wantErr string
	}{
		{"manifest version", "manifest.json", `{"version": 3, "pages": {}}`, "manifest.json: version 3"},
		{"manifest version 0", "manifest.json", `{"version": 0, "pages": {}}`, "manifest.json: version 0"},
		{"manifest syntax", "manifest.json", `{"version": 1,`, "manifest.json: unexpected end"},
		{"tags version", "tags.json", `{"version": 9}`, "tags.json: version 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"version": 1, "pages": {}}`), 0o644)
			os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.content), 0o644)
			_, err := Open(dir, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open = %v; want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestTamperedManifest: Open never reads a file the key would not map to,
// whatever the manifest says.
func TestTamperedManifest(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	secret := filepath.Join(parent, "secret.html")
	os.WriteFile(secret, []byte("secret"), 0o644)
	dir := filepath.Join(parent, "store")
	os.MkdirAll(dir, 0o755)
	m := fmt.Sprintf(`{"version": 1, "pages": {
		"/a": {"file": "../secret.html", "status": 200, "bytes": 6, "xxhash": %q, "tags": []},
		"/../secret": {"file": "pages/../../secret.html", "status": 200, "bytes": 6, "xxhash": %q, "tags": []}}}`,
		sum([]byte("secret")), sum([]byte("secret")))
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(m), 0o644)
	s := open(t, dir, Options{})
	for _, key := range []string{"/a", "/../secret"} {
		if it, ok, _ := s.Get(ctx, key); ok {
			t.Errorf("Get(%q) = %q; want nothing", key, it.Body)
		}
	}
	if _, err := os.Stat(secret); err != nil {
		t.Errorf("file outside the store: %v", err)
	}
}

func TestBatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, Options{Batch: true})
	mustSet(t, s, "/a", htmlItem("a", regen.Forever))
	s.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0)
	pack := s.pk.name
	// Open wrote an empty manifest; the batch's waits for Flush. The page
	// is in the pack.
	if got, want := names(files(t, dir)), []string{LockFile, "manifest.json", pack}; !slices.Equal(got, want) {
		t.Errorf("files before Flush = %q; want %q", got, want)
	}
	if m, _ := os.ReadFile(filepath.Join(dir, "manifest.json")); strings.Contains(string(m), "/a") {
		t.Errorf("manifest before Flush = %s; want no pages", m)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := names(files(t, dir)), []string{"manifest.json", pack, "tags.json"}; !slices.Equal(got, want) {
		t.Errorf("files after Close = %q; want %q", got, want)
	}
	for name, err := range map[string]error{
		"Set":            s.Set(ctx, "/b", htmlItem("b", regen.Forever)),
		"Delete":         s.Delete(ctx, "/a"),
		"RevalidateTags": s.RevalidateTags(ctx, []string{"x"}, regen.RevalidateStale, t0),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v; want ErrClosed", name, err)
		}
	}
	if _, ok, _ := s.Get(ctx, "/a"); !ok {
		t.Errorf("Get after Close found nothing; want the item")
	}
}
