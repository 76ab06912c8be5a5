package disk

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

// readManifest returns the version of dir's manifest.json and its pages.
func readManifest(t *testing.T, dir string) (int, map[string]*page) {
	t.Helper()
	var m manifest
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Version, m.Pages
}

// TestPack: a Batch store appends its pages to one pack, which a manifest
// of version 2 names; a store opened later reads them, at Open and when
// the memory tier evicted them, writes them again as files of their own,
// and removes the pack once no entry names it, its manifest back to
// version 1.
func TestPack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir, Options{Batch: true})
	body := func(key string, v int) string { return fmt.Sprintf("%s v%d %s", key, v, strings.Repeat("x", 100)) }
	keys := []string{"/", "/a", "/b/c", "/gone"}
	for _, k := range keys {
		mustSet(t, b, k, htmlItem(body(k, 1), regen.Forever))
	}
	mustSet(t, b, "/a", htmlItem(body("/a", 2), regen.Forever)) // appended again
	if err := b.Delete(ctx, "/gone"); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	pack := b.pk.name
	if got, want := names(files(t, dir)), []string{"manifest.json", pack}; !slices.Equal(got, want) {
		t.Errorf("files = %q; want %q", got, want)
	}
	v, pages := readManifest(t, dir)
	if v != 2 || len(pages) != 3 || pages["/a"].Pack != pack || pages["/a"].File != "" {
		t.Errorf("manifest version %d, pages %v; want version 2, 3 pages in %s", v, pages, pack)
	}

	// Read back at Open, then after the memory tier evicted them.
	want := map[string]string{"/": body("/", 1), "/a": body("/a", 2), "/b/c": body("/b/c", 1)}
	s := open(t, dir, Options{Memory: store.MemoryOptions{MaxBytes: 1, Shards: 1}})
	check := func(s *Store, want map[string]string) {
		t.Helper()
		for k, w := range want {
			it, ok, err := s.Get(ctx, k)
			if err != nil || !ok || string(it.Body) != w {
				t.Errorf("Get(%q) = %v, %v; want %q", k, ok, err, w)
			}
		}
		if _, ok, _ := s.Get(ctx, "/gone"); ok {
			t.Errorf("Get(/gone) found it; want nothing")
		}
	}
	check(s, want)

	// Written again by a server: a file of its own; deleted: nothing to
	// remove. The pack stays while an entry names it.
	mustSet(t, s, "/a", htmlItem(body("/a", 3), regen.Forever))
	if err := s.Delete(ctx, "/"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want["/a"] = body("/a", 3)
	delete(want, "/")
	s = open(t, dir, Options{})
	check(s, want)
	if _, err := os.Stat(filepath.Join(dir, pack)); err != nil {
		t.Errorf("pack while /b/c is in it: %v", err)
	}
	mustSet(t, s, "/b/c", htmlItem(body("/b/c", 2), regen.Forever))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, pack)); !os.IsNotExist(err) {
		t.Errorf("pack after every page in it was written again: %v; want it removed", err)
	}
	if v, _ := readManifest(t, dir); v != 1 {
		t.Errorf("manifest version %d; want 1 (no pack named)", v)
	}
	want["/b/c"] = body("/b/c", 2)
	check(open(t, dir, Options{}), want)
}

// TestPackCrash: a server that writes a packed page again and crashes
// between its file's rename and its journal record leaves the packed
// version served, whole.
func TestPackCrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir, Options{Batch: true})
	mustSet(t, b, "/a", htmlItem("packed", regen.Forever))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	setHooks(s, nil, func(*record) bool { return false })
	mustSet(t, s, "/a", htmlItem("new", regen.Forever))
	if err := s.Flush(); err == nil {
		t.Fatalf("Flush after a crashed write = nil; want an error")
	}
	if _, err := os.Stat(filepath.Join(dir, "pages/a.html")); err != nil {
		t.Fatalf("the new version's file: %v; want it renamed into place before the crash", err)
	}
	s.abandon() // the process dies here: no Close
	s = open(t, dir, Options{})
	if it, ok, err := s.Get(ctx, "/a"); err != nil || !ok || string(it.Body) != "packed" {
		t.Errorf("Get(/a) after the crash = %v, %v; want the packed version", ok, err)
	}
	mustSet(t, s, "/a", htmlItem("newer", regen.Forever))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if it, ok, _ := open(t, dir, Options{}).Get(ctx, "/a"); !ok || string(it.Body) != "newer" {
		t.Errorf("Get(/a) = %v; want the version written after", ok)
	}
}

// TestPackTampered: Open reads only packs by their names, inside their
// bounds, and checks each body against its entry.
func TestPackTampered(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	os.WriteFile(filepath.Join(parent, "secret.html"), []byte("secret"), 0o644)
	dir := filepath.Join(parent, "store")
	os.MkdirAll(filepath.Join(dir, packDir), 0o755)
	pack := packDir + "/0123456789abcdef.pack"
	os.WriteFile(filepath.Join(dir, pack), []byte("helloworld"), 0o644)
	entry := func(pack string, off, n int, body string) string {
		return fmt.Sprintf(`{"pack": %q, "offset": %d, "status": 200, "bytes": %d, "xxhash": %q, "tags": []}`, pack, off, n, sum([]byte(body)))
	}
	m := fmt.Sprintf(`{"version": 2, "pages": {"/ok": %s, "/outside": %s, "/past": %s, "/wrong": %s, "/both": %s},
		"data": {"fetch:ok": %[1]s, "fetch:file": %[5]s, "/route": %[1]s, "fetch:outside": %[2]s}}`,
		entry(pack, 5, 5, "world"),
		entry("../secret.html", 0, 6, "secret"),
		entry(pack, 8, 5, "ld"),
		entry(pack, 0, 5, "world"),
		strings.Replace(entry(pack, 0, 5, "hello"), "{", `{"file": "data/x", `, 1))
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(m), 0o644)
	s := open(t, dir, Options{})
	if it, ok, _ := s.Get(ctx, "/ok"); !ok || string(it.Body) != "world" {
		t.Errorf("Get(/ok) = %v; want world", ok)
	}
	if it, ok, _ := s.Get(ctx, "fetch:ok"); !ok || string(it.Body) != "world" {
		t.Errorf("Get(fetch:ok) = %v; want world", ok)
	}
	for _, key := range []string{"/outside", "/past", "/wrong", "/both", "fetch:file", "/route", "fetch:outside"} {
		if it, ok, _ := s.Get(ctx, key); ok {
			t.Errorf("Get(%q) = %q; want nothing", key, it.Body)
		}
	}
}

// TestPackReadBack: a Batch store whose memory tier evicted its pages
// reads them back from its pack, from the buffer or from the file.
func TestPackReadBack(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), Options{Batch: true, Memory: store.MemoryOptions{MaxBytes: 1, Shards: 1}})
	big := strings.Repeat("x", packBuffer/4)
	const n = 6 // the first 4 are written to the file, the others buffered
	for i := range n {
		mustSet(t, s, fmt.Sprintf("/p/%d", i), htmlItem(fmt.Sprint(i)+big, regen.Forever))
	}
	if s.pk.flushed == 0 || len(s.pk.buf) == 0 {
		t.Fatalf("pack flushed %d, buffered %d; want both", s.pk.flushed, len(s.pk.buf))
	}
	for i := range n {
		key := fmt.Sprintf("/p/%d", i)
		if it, ok, err := s.Get(ctx, key); err != nil || !ok || string(it.Body) != fmt.Sprint(i)+big {
			t.Errorf("Get(%q) = %v, %v; want it read back", key, ok, err)
		}
	}
}

// TestAppendPage: the manifest's pages are written as json.Marshal
// writes them, tricky strings included.
func TestAppendPage(t *testing.T) {
	odd := "a\"\\<>&\b\f\n\r\t\x00\x1f\x7f é \u2028\u2029 \xff\xfe end"
	pages := []*page{
		newPage("/a", "pages/a.html", htmlItem("a", regen.Forever)),
		newPage("/b", "", &store.Item{Status: 404, Revalidate: regen.Never, Tags: nil, Expire: 1500 * time.Millisecond}),
		{Route: odd, Tags: []string{odd, ""}, ETag: odd, GeneratedAt: t0.Add(123456789), Pack: "packs/0123456789abcdef.pack", Offset: 42,
			Status: 200, Headers: http.Header{odd: {odd, ""}, "Empty": {}, "Nil": nil, "A": {"1"}}, Bytes: 3, XXHash: "x"},
		{Revalidate: regen.Seconds(60)}, {Revalidate: regen.Never}, {Revalidate: regen.Forever},
	}
	pages[1].Tags = nil
	for i, p := range pages {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendPage(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("page %d: appendPage =\n%s\nwant (json.Marshal)\n%s", i, got, want)
		}
	}
	m := &manifest{Version: 2, GeneratedAt: t0, Pages: map[string]*page{odd: pages[2], "/a": pages[0]}}
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	var back manifest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("manifest does not read back: %v\n%s", err, b)
	}
	if len(back.Pages) != 2 || back.Pages["/a"] == nil || back.Pages["/a"].XXHash != pages[0].XXHash {
		t.Errorf("manifest read back with pages %v", back.Pages)
	}
}

// TestPackData: a Batch store packs Data Cache entries too, in the
// manifest's data; a store opened later reads them, at Open and after
// eviction; a write gives the key a file, which wins, and a deletion of a
// packed entry is recorded, so it does not come back after a restart;
// the pack goes once nothing names it.
func TestPackData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir, Options{Batch: true})
	for _, k := range []string{"fetch:a", "fetch:b", "fetch:c"} {
		mustSet(t, b, k, htmlItem(k+" v1", regen.Seconds(60), "t"))
	}
	mustSet(t, b, "fetch:a", htmlItem("fetch:a v2", regen.Seconds(60), "t"))
	if err := b.Delete(ctx, "fetch:c"); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	pack := b.pk.name
	if got, want := names(files(t, dir)), []string{"manifest.json", pack}; !slices.Equal(got, want) {
		t.Errorf("files = %q; want %q", got, want)
	}
	var m manifest
	mb, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	if m.Version != 2 || len(m.Data) != 2 || m.Data["fetch:a"].Pack != pack || len(m.Pages) != 0 {
		t.Errorf("manifest = %s; want version 2 and fetch:a, fetch:b in data", mb)
	}

	check := func(s *Store, want map[string]string) {
		t.Helper()
		for k, w := range want {
			it, ok, err := s.Get(ctx, k)
			switch {
			case err != nil:
				t.Errorf("Get(%q): %v", k, err)
			case w == "" && ok:
				t.Errorf("Get(%q) = %q; want nothing", k, it.Body)
			case w != "" && (!ok || string(it.Body) != w || it.Revalidate != regen.Seconds(60) || it.Tags[0] != "t"):
				t.Errorf("Get(%q) = %v, %v; want %q", k, it, ok, w)
			}
		}
	}
	want := map[string]string{"fetch:a": "fetch:a v2", "fetch:b": "fetch:b v1", "fetch:c": ""}
	s := open(t, dir, Options{Memory: store.MemoryOptions{MaxBytes: 1, Shards: 1}}) // every Get reads back
	check(s, want)
	if s.Len() != 2 {
		t.Errorf("Len() = %d; want 2", s.Len())
	}
	mustSet(t, s, "fetch:a", htmlItem("fetch:a v3", regen.Seconds(60), "t"))
	if err := s.Delete(ctx, "fetch:b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"fetch:a": "fetch:a v3", "fetch:b": "", "fetch:c": ""}
	check(s, want)
	s.abandon() // a crash after the Flush: the journal holds the changes
	s = open(t, dir, Options{})
	check(s, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, pack)); !os.IsNotExist(err) {
		t.Errorf("pack after its entries were written again or deleted: %v; want it removed", err)
	}
	if v, _ := readManifest(t, dir); v != 1 {
		t.Errorf("manifest version %d; want 1", v)
	}
	check(open(t, dir, Options{}), want)
}

// TestKillDuringWritesOverPack kills a process writing pages (write-back)
// into a build whose pages and data entries are packed: after the kill,
// every page is whole, packed or written since; none is lost but those a
// writer had renamed over their own file (not the pack's) before their
// records (at most maxReplace per writer, as for any store), and the data
// entry it did not touch is still served from the pack.
func TestKillDuringWritesOverPack(t *testing.T) {
	for round := range 2 {
		t.Run(fmt.Sprint("round=", round), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			b := open(t, dir, Options{Batch: true})
			for i := range 300 { // the keys the helper writes, version 0
				key := fmt.Sprintf("/p/%d", i)
				mustSet(t, b, key, htmlItem(helperBody(key, 0), regen.Seconds(60), "posts"))
			}
			mustSet(t, b, "fetch:kept", htmlItem("kept", regen.Seconds(60)))
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}

			cmd, out := startHelper(t, "write", dir)
			stopAt := 100 + rand.IntN(800)
			for wrote := 0; wrote < stopAt; {
				line := readLine(t, out)
				n, err := strconv.Atoi(strings.TrimPrefix(line, "wrote "))
				if err != nil {
					t.Fatalf("helper said %q", line)
				}
				wrote = n
			}
			kill9(t, cmd)

			s := open(t, dir, Options{})
			if len(s.pages) < 300-writers*maxReplace {
				t.Errorf("pages after the kill = %d; want at least %d of 300", len(s.pages), 300-writers*maxReplace)
			}
			packed := 0
			for key, p := range s.pages {
				it, ok, err := s.Get(ctx, key)
				if err != nil || !ok {
					t.Errorf("Get(%q), listed in the manifest = %v, %v", key, ok, err)
					continue
				}
				var v int
				if _, err := fmt.Sscanf(string(it.Body), key+" v%d|", &v); err != nil || string(it.Body) != helperBody(key, v) {
					t.Errorf("Get(%q) = %.40q...; want a whole version of its page", key, it.Body)
				}
				if p.Pack != "" {
					packed++
				}
			}
			if it, ok, _ := s.Get(ctx, "fetch:kept"); !ok || string(it.Body) != "kept" {
				t.Errorf("Get(fetch:kept) after the kill = %v; want the packed entry", ok)
			}
			t.Logf("%d pages still packed", packed)
		})
	}
}
