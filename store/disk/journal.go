package disk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Journal segments are named journal-<n>.jsonl, n counting up from 1.
const (
	journalPrefix = "journal-"
	journalSuffix = ".jsonl"
)

// Compaction: the journal is folded into manifest.json and tags.json when
// its segments hold more than compactRatio times the bytes of the last
// manifest written, and more than compactMin bytes.
const (
	compactRatio = 4
	compactMin   = 1 << 20
)

// record is one line of the journal: a page written (Set and Page), a page
// deleted (Del), or tags revalidated (Tags: their times, merged by
// maximum).
type record struct {
	Set  string              `json:"set,omitempty"`
	Page *page               `json:"page,omitempty"`
	Del  string              `json:"del,omitempty"`
	Tags map[string]tagTimes `json:"tags,omitempty"`
}

// journal is the append-only log of the changes to the manifest and the
// tags since they were last written whole. Replaying a record is
// idempotent (a page's state, a deletion, or tag times merged by maximum),
// so replaying segments that a manifest already reflects changes nothing.
type journal struct {
	dir   string
	min   int64         // compactMin; smaller in tests
	syncs *atomic.Int64 // counts the syncs (the store's)

	// mu protects the fields below. An append holds it while it writes
	// its record and applies the record to the store's state, so that a
	// compaction, which holds it while it rotates and snapshots, sees
	// exactly the records of the segments it folds.
	mu      sync.Mutex
	f       *os.File // the current segment; nil until its first record
	seg     int      // the current segment's number
	written int64    // bytes written to f
	total   int64    // bytes in every segment not yet folded

	// syncMu serializes the syncs of the current segment and its
	// rotation; it protects synced. It is taken before mu.
	syncMu sync.Mutex
	synced int64 // bytes of f known durable
}

// frame returns the line of r: the xxhash64 of its JSON in hex, a space,
// the JSON and a newline. A line whose hash does not match, or that does
// not end in a newline, is a torn write.
func frame(r *record) ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	line := make([]byte, 0, 17+len(js)+1)
	line = fmt.Appendf(line, "%016x ", xxhash.Sum64(js))
	line = append(line, js...)
	return append(line, '\n'), nil
}

// append writes recs to the current segment in one write, calls apply
// while no compaction can run, and returns once they are durable
// (concurrent appends share one sync). compact reports that the journal
// has outgrown the manifest, whose size is manifestBytes. When the records
// cannot be written, apply is not called.
func (j *journal) append(recs []*record, apply func(), manifestBytes int64) (compact bool, err error) {
	var line []byte
	for _, r := range recs {
		l, err := frame(r)
		if err != nil {
			return false, err
		}
		line = append(line, l...)
	}
	j.mu.Lock()
	if j.f == nil {
		if err := j.create(); err != nil {
			j.mu.Unlock()
			return false, err
		}
	}
	f := j.f
	if _, err := f.Write(line); err != nil {
		// A partial write tears a record, which a load ignores with
		// the rest of its segment: later records go to a new one.
		j.mu.Unlock()
		j.syncMu.Lock()
		j.mu.Lock()
		if j.f == f {
			_, _, _ = j.rotate()
		}
		j.mu.Unlock()
		j.syncMu.Unlock()
		return false, err
	}
	j.written += int64(len(line))
	j.total += int64(len(line))
	end := j.written
	apply()
	compact = j.total > max(j.min, compactRatio*manifestBytes)
	j.mu.Unlock()
	return compact, j.sync(f, end)
}

// create starts the current segment; j.mu is held.
func (j *journal) create() error {
	f, err := os.OpenFile(filepath.Join(j.dir, segmentName(j.seg)), os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := syncDir(j.dir, j.syncs); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	j.f, j.written = f, 0 // synced is 0: set so by rotate, or never moved
	return nil
}

// sync makes the first end bytes of the segment f durable, unless a
// rotation already did (it syncs the segment it retires).
func (j *journal) sync(f *os.File, end int64) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	cur, written := j.f, j.written
	j.mu.Unlock()
	if cur != f || j.synced >= end {
		return nil
	}
	j.syncs.Add(1)
	if err := f.Sync(); err != nil {
		return err
	}
	j.synced = written
	return nil
}

// rotate retires the current segment, synced, so that the next record
// starts a new one. It returns the number of the first segment not
// retired, and the bytes of those that are. Both locks are held.
func (j *journal) rotate() (keep int, folded int64, err error) {
	if j.f != nil {
		j.syncs.Add(1)
		err = j.f.Sync()
		err = errors.Join(err, j.f.Close())
		j.f = nil
		j.seg++
		j.synced = 0
	}
	return j.seg, j.total, err
}

// segmentName returns the file name of segment n.
func segmentName(n int) string {
	return fmt.Sprintf("%s%06d%s", journalPrefix, n, journalSuffix)
}

// segments returns the numbers of the journal segments in dir, in order.
func segments(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, de := range ents {
		name, ok := strings.CutPrefix(de.Name(), journalPrefix)
		if !ok {
			continue
		}
		if name, ok = strings.CutSuffix(name, journalSuffix); !ok {
			continue
		}
		n, err := strconv.Atoi(name)
		if err != nil || n <= 0 || segmentName(n) != de.Name() {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// removeSegments removes the segments numbered below keep, and subtracts
// folded (their bytes) from the journal's total.
func (j *journal) removeSegments(keep int, folded int64) error {
	segs, err := segments(j.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range segs {
		if n >= keep {
			continue
		}
		if err := os.Remove(filepath.Join(j.dir, segmentName(n))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	j.mu.Lock()
	j.total -= folded
	j.mu.Unlock()
	return nil
}

// readSegment calls fn for each whole record of the segment at path, in
// order. It stops at the first line that is torn (no newline) or whose
// hash does not match, and returns its offset and the bytes from there
// on; tornAt is -1 when every line was whole.
func readSegment(path string, fn func(*record)) (tornAt int64, tornBytes int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1, 0, err
	}
	off := 0
	for off < len(b) {
		rest := b[off:]
		line, _, ok := bytes.Cut(rest, []byte{'\n'})
		if !ok || len(line) < 17 || line[16] != ' ' {
			return int64(off), len(rest), nil
		}
		want, err := strconv.ParseUint(string(line[:16]), 16, 64)
		js := line[17:]
		if err != nil || xxhash.Sum64(js) != want {
			return int64(off), len(rest), nil
		}
		var r record
		if err := json.Unmarshal(js, &r); err != nil {
			// The hash matched: a record this build cannot read.
			return -1, 0, fmt.Errorf("%s at byte %d: %w", filepath.Base(path), off, err)
		}
		fn(&r)
		off += len(line) + 1
	}
	return -1, 0, nil
}
