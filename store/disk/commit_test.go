package disk

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regen-dev/regen"
)

// TestGroupCommitSyncs: a batch of pages costs a few syncs, not a few per
// page. commit is called as a writer calls it, with every op of a batch.
func TestGroupCommitSyncs(t *testing.T) {
	if !groupSync {
		t.Skip("no syncfs on this system: each file is synced as it is written")
	}
	const n = 64
	tests := []struct {
		name string
		// want is the syncs of the batch: one syncfs for the files; for
		// new pages, the journal segment's creation (a directory sync)
		// and the append; for replaced pages, a directory sync and an
		// append per group of maxReplace.
		want int64
	}{
		{"new pages", 1 + 1 + 1},
		{"replaced pages", 1 + n/maxReplace*2},
	}
	dir := t.TempDir()
	s := open(t, dir, Options{})
	for v, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := make([]*op, n)
			for i := range ops {
				ops[i] = &op{key: fmt.Sprintf("/blog/post-%d", i), it: benchItem(fmt.Sprint("v", v, strings.Repeat("<p>x</p>", 500)))}
				s.prepare(ops[i])
			}
			before := s.syncs.Load()
			s.commit(ops)
			if got := s.syncs.Load() - before; got != tt.want {
				t.Errorf("commit of %d pages made %d syncs; want %d", n, got, tt.want)
			}
			for _, o := range ops {
				if o.err != nil {
					t.Errorf("commit %q: %v", o.key, o.err)
				}
			}
		})
	}

	// Through Set and Flush, the writers batch what is queued while they
	// commit: the syncs per page go toward zero.
	const pages = 2000
	before := s.syncs.Load()
	for i := range pages {
		mustSet(t, s, fmt.Sprintf("/p/%d", i), benchItem(strings.Repeat("<p>x</p>", 700)))
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	got := s.syncs.Load() - before
	if got > pages/10 {
		t.Errorf("%d pages written back with %d syncs; want at most %d", pages, got, pages/10)
	}
	t.Logf("%d pages written back with %d syncs", pages, got)
	s.Close()
	s2 := open(t, dir, Options{})
	if got := s2.Len(); got != n+pages {
		t.Errorf("after a restart, Len() = %d; want %d", got, n+pages)
	}
}

// TestCrashInBatch stops the process in the middle of committing batches
// of new and replaced pages, after their files are durable and some of
// their records appended: the directory opens cleanly, every page it lists
// is whole and one of its versions, and no page is lost but the replaced
// ones caught between their rename and their record (at most maxReplace
// per writer).
func TestCrashInBatch(t *testing.T) {
	const n = 200
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	body := func(key string, v int) string {
		return fmt.Sprintf("%s v%d|%s", key, v, strings.Repeat("<p>x</p>", 300))
	}
	for i := range n {
		key := fmt.Sprintf("/old/%d", i)
		mustSet(t, s, key, htmlItem(body(key, 1), regen.Forever))
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}

	// Let 3*maxReplace page records through; then the process is dead:
	// no record is appended, no file renamed.
	var records, dead atomic.Int32
	release := blockWrites(s) // batches build up while the first commits wait
	setHooks(s, func(string) bool { return dead.Load() == 0 }, func(r *record) bool {
		if dead.Load() != 0 {
			return false
		}
		if r.Set != "" && records.Add(1) > 3*maxReplace {
			dead.Store(1)
			return false
		}
		return true
	})
	for i := range n {
		for _, key := range []string{fmt.Sprintf("/old/%d", i), fmt.Sprintf("/new/%d", i)} {
			mustSet(t, s, key, htmlItem(body(key, 2), regen.Forever))
		}
	}
	release()
	if err := s.Flush(); err == nil {
		t.Fatalf("Flush after a crash in a batch = nil; want an error")
	}
	s.abandon()

	s2, err := Open(dir, Options{Logger: quiet})
	if err != nil {
		t.Fatalf("Open after a crash in a batch: %v", err)
	}
	t.Cleanup(func() { s2.Close() })
	old := 0
	for key, p := range s2.pages {
		it, ok, err := s2.Get(ctx, key)
		if err != nil || !ok {
			t.Errorf("Get(%q), listed in the manifest = %v, %v", key, ok, err)
			continue
		}
		if sum(it.Body) != p.XXHash || len(it.Body) != p.Bytes {
			t.Errorf("Get(%q) does not match its manifest entry", key)
		}
		var v int
		if _, err := fmt.Sscanf(string(it.Body), key+" v%d|", &v); err != nil || string(it.Body) != body(key, v) {
			t.Errorf("Get(%q) = %.30q...; want a whole version of its page", key, it.Body)
		}
		if strings.HasPrefix(key, "/old/") {
			old++
		}
	}
	if lost := n - old; lost > writers*maxReplace {
		t.Errorf("%d of the %d flushed pages were lost; want at most %d (those caught between rename and record)", lost, n, writers*maxReplace)
	}
	for name := range files(t, dir) {
		if strings.Contains(name, tmpPrefix) {
			t.Errorf("file %s left after Open", name)
		}
	}
}
