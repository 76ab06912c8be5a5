package disk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

// TestOpenNotStore: a directory with page files but no manifest is
// refused, and every file is still there afterwards.
func TestOpenNotStore(t *testing.T) {
	dir := t.TempDir()
	const n = 3001
	for i := range n {
		name := filepath.Join(dir, "pages", fmt.Sprintf("d%d", i%10), fmt.Sprintf("p%d.html", i))
		os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.WriteFile(name, []byte("page"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Open(dir, Options{Logger: quiet})
	if !errors.Is(err, ErrNotStore) {
		t.Fatalf("Open of a directory without a manifest = %v; want ErrNotStore", err)
	}
	for _, want := range []string{dir, "no manifest.json", "empty it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open error %q does not contain %q", err, want)
		}
	}
	got := files(t, dir)
	if len(got) != n {
		t.Errorf("files after Open = %d; want all %d", len(got), n)
	}
	if _, ok := got[LockFile]; ok {
		t.Errorf("Open left its lock file in a directory it refused")
	}

	// Empty and missing directories are fresh stores.
	for _, d := range []string{t.TempDir(), filepath.Join(t.TempDir(), "new", "store")} {
		s := open(t, d, Options{})
		if s.Len() != 0 {
			t.Errorf("fresh store %s: Len() = %d", d, s.Len())
		}
		if _, err := os.Stat(filepath.Join(d, "manifest.json")); err != nil {
			t.Errorf("fresh store %s has no manifest after Open: %v", d, err)
		}
		s.Close()
	}
}

// TestJournalAppends: page writes append to the journal, O(1) bytes each,
// without touching manifest.json until a compaction; a compaction folds
// the journal into it.
func TestJournalAppends(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, Options{})
	manifest := filepath.Join(dir, "manifest.json")
	before, err := os.Stat(manifest)
	if err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(dir, segmentName(s.j.seg))
	var sizes []int64
	for i := range 100 {
		mustSet(t, s, fmt.Sprintf("/p/%03d", i), benchItem(strings.Repeat("x", 5000)))
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(journal)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, fi.Size())
	}
	after, err := os.Stat(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Errorf("manifest.json was rewritten by page writes (before %v %d bytes, after %v %d bytes)",
			before.ModTime(), before.Size(), after.ModTime(), after.Size())
	}
	first, last := sizes[1]-sizes[0], sizes[99]-sizes[98]
	if first != last || last > 2048 {
		t.Errorf("journal grew by %d bytes for the 2nd page and %d for the 100th; want the same, under 2 KiB", first, last)
	}

	// Overwrites and deletions append too; a compaction folds them.
	mustSet(t, s, "/p/001", htmlItem("new", regen.Forever))
	s.Delete(ctx, "/p/002")
	s.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.compact(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(journal); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal after a compaction: %v; want it removed", err)
	}
	b, _ := os.ReadFile(manifest)
	if !strings.Contains(string(b), `"/p/099"`) || strings.Contains(string(b), `"/p/002"`) {
		t.Errorf("manifest after a compaction does not reflect the journal")
	}
	mustSet(t, s, "/p/100", htmlItem("later", regen.Forever))
	s.Close()

	s2 := open(t, dir, Options{})
	for key, want := range map[string]string{"/p/001": "new", "/p/100": "later", "/p/002": ""} {
		it, ok, err := s2.Get(ctx, key)
		if err != nil || ok != (want != "") || ok && string(it.Body) != want {
			t.Errorf("after restart, Get(%q) = %v, %v; want %q", key, ok, err, want)
		}
	}
	if s2.Len() != 100 {
		t.Errorf("after restart, Len() = %d; want 100", s2.Len())
	}
}

// TestCompactInBackground: the journal is folded once it outgrows its
// bound, while writes go on, and nothing is lost.
func TestCompactInBackground(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, Options{})
	s.j.min = 8 << 10 // before any write; read by the writers under j.mu
	for i := range 300 {
		mustSet(t, s, fmt.Sprintf("/p/%d", i%120), htmlItem(fmt.Sprint("v", i), regen.Forever))
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	s.compactCh <- struct{}{} // one more, so this waits for the previous
	s.compactCh <- struct{}{}
	b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if !strings.Contains(string(b), `"/p/0"`) {
		t.Errorf("manifest after background compactions names no page")
	}
	segs, _ := segments(dir)
	if len(segs) > 1 {
		t.Errorf("journal segments after compactions = %v; want at most the current one", segs)
	}
	s.abandon() // a crash: what the manifest and the journal hold must be all

	s2 := open(t, dir, Options{})
	for i := 180; i < 300; i++ {
		key := fmt.Sprintf("/p/%d", i%120)
		if it, ok, _ := s2.Get(ctx, key); !ok || string(it.Body) != fmt.Sprint("v", i) {
			t.Errorf("after a crash, Get(%q) = %v; want v%d", key, ok, i)
		}
	}
}

// TestTornJournal: a torn last record, or one whose checksum does not
// match, is ignored on load with a warning; the records before it count.
func TestTornJournal(t *testing.T) {
	tests := []struct {
		name string
		tail func(line []byte) []byte // what a crash left after the last whole record
	}{
		{"half a record", func(line []byte) []byte { return line[:len(line)/2] }},
		{"no newline", func(line []byte) []byte { return line[:len(line)-1] }},
		{"bad checksum", func(line []byte) []byte {
			bad := bytes.Clone(line)
			bad[len(bad)/2] ^= 1
			return bad
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := open(t, dir, Options{})
			mustSet(t, s, "/a", htmlItem("a", regen.Forever))
			mustSet(t, s, "/b", htmlItem("b", regen.Forever))
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			seg := filepath.Join(dir, segmentName(s.j.seg))
			s.abandon()
			p := newPage("/c", "pages/c.html", htmlItem("c", regen.Forever))
			line, err := frame(&record{Set: "/c", Page: p})
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "pages", "c.html"), []byte("c"), 0o644)
			f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(tt.tail(line))
			f.Close()

			var logs syncBuffer
			s2 := open(t, dir, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			for key, want := range map[string]bool{"/a": true, "/b": true, "/c": false} {
				if _, ok, err := s2.Get(ctx, key); ok != want || err != nil {
					t.Errorf("Get(%q) = %v, %v; want %v", key, ok, err, want)
				}
			}
			if !strings.Contains(logs.String(), "torn end of a journal segment") {
				t.Errorf("logs = %q; want a warning about the torn record", logs.String())
			}
			if segs, _ := segments(dir); len(segs) != 0 {
				t.Errorf("journal segments after Open = %v; want none (folded)", segs)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// setHooks sets a store's test hooks while no compaction runs: the
// compactor, which Open starts and a growing journal wakes, reads
// beforeRename under compactMu.
func setHooks(s *Store, rename func(tmp string) bool, record func(*record) bool) {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	s.beforeRename, s.beforeRecord = rename, record
}

// blockWrites makes the writers wait, before each commit, until the
// returned release is called. Call it before any write.
func blockWrites(s *Store) (release func()) {
	ch := make(chan struct{})
	var once sync.Once
	s.beforeCommit = func() { <-ch }
	return func() { once.Do(func() { close(ch) }) }
}

// TestPendingGet: a Get of a key whose write is pending answers its newest
// version, even when the memory tier does not hold it; deletions too.
func TestPendingGet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// A memory tier too small for any item: every Get reads back.
	s := open(t, dir, Options{Memory: store.MemoryOptions{MaxBytes: 64, Shards: 1}})
	release := blockWrites(s)
	defer release()
	mustSet(t, s, "/a", htmlItem("v1", regen.Forever))
	mustSet(t, s, "/a", htmlItem("v2", regen.Forever))
	mustSet(t, s, "/b", htmlItem("b", regen.Forever))
	if err := s.Delete(ctx, "/b"); err != nil {
		t.Fatal(err)
	}
	if it, ok, err := s.Get(ctx, "/a"); err != nil || !ok || string(it.Body) != "v2" {
		t.Errorf("Get(/a) while its writes are pending = %v, %v; want v2", ok, err)
	}
	if _, ok, err := s.Get(ctx, "/b"); ok || err != nil {
		t.Errorf("Get(/b) while its deletion is pending = %v, %v; want none", ok, err)
	}
	release()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if it, ok, err := s.Get(ctx, "/a"); err != nil || !ok || string(it.Body) != "v2" {
		t.Errorf("Get(/a) read back = %v, %v; want v2", ok, err)
	}
	if _, ok, err := s.Get(ctx, "/b"); ok || err != nil {
		t.Errorf("Get(/b) after its deletion = %v, %v; want none", ok, err)
	}
}

// TestBackPressure: a Set that finds the queue full waits for the
// writers; if its context ends first it stores nothing.
func TestBackPressure(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, Options{MaxPending: 2})
	release := blockWrites(s)
	defer release()
	mustSet(t, s, "/a", htmlItem("a", regen.Forever))
	mustSet(t, s, "/b", htmlItem("b", regen.Forever))
	mustSet(t, s, "/a", htmlItem("a2", regen.Forever)) // coalesced: no room needed

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := s.Set(short, "/c", htmlItem("c", regen.Forever)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Set with a full queue = %v; want it to wait until its deadline", err)
	}
	if _, ok, _ := s.Get(ctx, "/c"); ok {
		t.Errorf("Get(/c) after its Set timed out found it; want nothing stored")
	}
	done := make(chan error)
	go func() { done <- s.Set(ctx, "/c", htmlItem("c", regen.Forever)) }()
	release()
	if err := <-done; err != nil {
		t.Fatalf("Set once the writers drain: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, Options{})
	for key, want := range map[string]string{"/a": "a2", "/b": "b", "/c": "c"} {
		if it, ok, _ := s2.Get(ctx, key); !ok || string(it.Body) != want {
			t.Errorf("after restart, Get(%q) = %v; want %q", key, ok, want)
		}
	}
}
