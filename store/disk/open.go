package disk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

// ErrNotStore is matched by the error of Open on a directory that holds
// files but no manifest.json: not a store's directory, or one whose
// manifest was lost. Open leaves it untouched.
var ErrNotStore = errors.New("disk: not a store directory")

// Open opens the store kept in dir, creating dir if needed, takes its lock
// (see LockFile), and loads every item in it into the memory tier: the
// pages of manifest.json and the journal, checked against their files,
// and the data files. Close releases the lock.
//
// Open fails with a *LockedError (matching ErrLocked) when another Store,
// in this process or another, has dir open. It refuses a dir that holds
// files but no manifest.json with an error matching ErrNotStore, and
// changes nothing in it. A manifest.json or tags.json of another version,
// or that is not valid JSON, is an error too.
//
// Open never removes a file it cannot account for: it removes only the
// temporary files of writes a crash interrupted, and logs each. It drops,
// with a warning, the pages whose file does not match their manifest
// entry, and ignores the data files it cannot read; both stay on disk
// until their key is written again.
func Open(dir string, opts Options) (*Store, error) {
	s := &Store{
		dir:         dir,
		mem:         store.NewMemory(opts.Memory),
		batch:       opts.Batch,
		now:         opts.Now,
		log:         opts.Logger,
		pages:       map[string]*page{},
		data:        map[string]uint64{},
		packed:      map[string]*page{},
		tags:        map[string]tagTimes{},
		dirty:       map[string]struct{}{},
		compactCh:   make(chan struct{}, 1),
		compactDone: make(chan struct{}),
	}
	s.j.dir, s.j.min, s.j.syncs = dir, compactMin, &s.syncs
	maxBytes, maxCount := opts.MaxPendingBytes, opts.MaxPending
	if maxBytes <= 0 {
		maxBytes = DefaultMaxPendingBytes
	}
	if maxCount <= 0 {
		maxCount = DefaultMaxPending
	}
	s.wb.init(maxBytes, maxCount)
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("disk: open %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if err := s.open(); err != nil {
		lock.release(true)
		return nil, err
	}
	if !s.batch {
		s.startWriters()
	}
	go s.compactor()
	return s, nil
}

// open checks and loads the directory, and folds the journal into the
// manifest, so that the store starts with an empty journal.
func (s *Store) open() error {
	if err := s.checkStore(); err != nil {
		return err
	}
	stale, err := s.load()
	if err != nil {
		return fmt.Errorf("disk: open %s: %w", s.dir, err)
	}
	if stale {
		// Every directory a store has opened has a manifest, before any
		// page is written to it, and the journal starts empty.
		if err := s.compact(); err != nil {
			return fmt.Errorf("disk: open %s: %w", s.dir, err)
		}
	}
	return nil
}

// checkStore refuses a directory that holds files but no manifest.json.
func (s *Store) checkStore() error {
	if _, err := os.Stat(filepath.Join(s.dir, "manifest.json")); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("disk: open %s: %w", s.dir, err)
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("disk: open %s: %w", s.dir, err)
	}
	var names []string
	for _, de := range ents {
		// The lock file, and the temporary file of a first manifest whose
		// write a crash interrupted, are the store's own: Open (sweep)
		// removes the latter.
		if de.Name() != LockFile && !(isTempName(de.Name()) && de.Type().IsRegular()) {
			names = append(names, de.Name())
		}
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s holds %d entries (%q, ...) but no manifest.json; refusing to open it, so that "+
		"nothing in it is overwritten or removed: write a build into it (engine.Build), empty it, or pick another directory",
		ErrNotStore, s.dir, len(names), names[0])
}

// load reads the directory into the memory tier. stale reports that the
// manifest must be written: it is missing, has a journal to fold in, or
// names pages that were not loaded.
func (s *Store) load() (stale bool, err error) {
	ctx := context.Background()
	var m manifest
	if ok, err := readJSON(filepath.Join(s.dir, "manifest.json"), &m); err != nil {
		return false, err
	} else if !ok {
		stale = true
	} else if m.Version < 1 || m.Version > Version {
		return false, fmt.Errorf("manifest.json: version %d (this build reads versions 1 to %d)", m.Version, Version)
	}
	if fi, err := os.Stat(filepath.Join(s.dir, "manifest.json")); err == nil {
		s.manifestBytes.Store(fi.Size())
	}
	var tf tagsFile
	if ok, err := readJSON(filepath.Join(s.dir, "tags.json"), &tf); err != nil {
		return false, err
	} else if ok && (tf.Version < 1 || tf.Version > Version) {
		return false, fmt.Errorf("tags.json: version %d (this build reads versions 1 to %d)", tf.Version, Version)
	}
	pages := m.Pages
	if pages == nil {
		pages = map[string]*page{}
	}
	packed := m.Data
	if packed == nil {
		packed = map[string]*page{}
	}
	tags := tf.Tags
	if tags == nil {
		tags = map[string]tagTimes{}
	}

	// Replay the journal over them, segment by segment.
	segs, err := segments(s.dir)
	if err != nil {
		return false, err
	}
	tagRecords := false
	for _, n := range segs {
		path := filepath.Join(s.dir, segmentName(n))
		tornAt, tornBytes, err := readSegment(path, func(r *record) {
			switch {
			case r.Set != "":
				pages[r.Set] = r.Page
			case r.Del != "":
				delete(pages, r.Del)
				delete(packed, r.Del) // a Data Cache entry written or deleted since
			}
			for tag, tt := range r.Tags {
				tags[tag] = mergeTimes(tags[tag], tt)
				tagRecords = true
			}
		})
		if err != nil {
			return false, err
		}
		if tornAt >= 0 {
			s.log.Warn("disk: ignoring the torn end of a journal segment (a write a crash interrupted)",
				"file", path, "offset", tornAt, "bytes", tornBytes)
		}
		s.j.seg = n
		stale = true
	}
	s.j.seg++
	if tagRecords {
		s.tagsGen++
	}

	packs := &packReader{dir: s.dir, files: map[string]*os.File{}}
	defer packs.close()
	for key, p := range pages {
		it, err := s.readPageFrom(key, p, packs)
		if err != nil {
			s.log.Warn("disk: dropping page", "dir", s.dir, "key", key, "error", err)
			stale = true
			continue
		}
		s.mem.Set(ctx, key, it)
		s.pages[key] = p
	}
	for key, p := range packed {
		it, err := s.readPacked(p, packs)
		if err != nil || isRoute(key) {
			s.log.Warn("disk: dropping packed data entry", "dir", s.dir, "key", key, "error", err)
			stale = true
			continue
		}
		s.mem.Set(ctx, key, it)
		s.dataSeq++
		s.data[key] = s.dataSeq
		s.packed[key] = p
	}
	for tag, tt := range tags {
		if !tt.Stale.IsZero() {
			s.mem.RevalidateTags(ctx, []string{tag}, regen.RevalidateStale, tt.Stale)
		}
		if !tt.Expire.IsZero() {
			s.mem.RevalidateTags(ctx, []string{tag}, regen.RevalidateExpire, tt.Expire)
		}
		if !tt.Marked.IsZero() {
			s.mem.RevalidateTags(ctx, []string{tag}, regen.StaleUntil(tt.Deadline.Sub(tt.Marked)), tt.Marked)
		}
		s.tags[tag] = tt
	}
	if stale {
		s.pagesGen++
	}
	if dropped, err := s.loadData(); err != nil {
		return false, err
	} else if dropped {
		stale = true
		s.pagesGen++
	}
	return stale, s.sweep()
}

// mergeTimes returns the latest of a and b in each mode.
func mergeTimes(a, b tagTimes) tagTimes {
	if b.Stale.After(a.Stale) {
		a.Stale = b.Stale
	}
	if b.Expire.After(a.Expire) {
		a.Expire = b.Expire
	}
	// The later profile revalidation's pair; at the same instant, the
	// earlier deadline (as store.Memory keeps them).
	if !b.Marked.IsZero() && (b.Marked.After(a.Marked) || b.Marked.Equal(a.Marked) && b.Deadline.Before(a.Deadline)) {
		a.Marked, a.Deadline = b.Marked, b.Deadline
	}
	return a
}

// readJSON decodes the file at path into v. ok is false when there is no
// such file.
func readJSON(path string, v any) (ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return true, nil
}

// readPage reads the body of the page p stored under key and checks it
// against the manifest.
func (s *Store) readPage(key string, p *page) (*store.Item, error) {
	return s.readPageFrom(key, p, &packReader{dir: s.dir, own: &s.pk})
}

// readPageFrom is readPage, reading a packed page's body through packs.
func (s *Store) readPageFrom(key string, p *page, packs *packReader) (*store.Item, error) {
	if p == nil {
		return nil, errors.New("no manifest entry")
	}
	want, err := pageFile(key)
	if err != nil {
		return nil, err
	}
	var body []byte
	where := p.File
	switch {
	case p.Pack != "" && p.File != "":
		return nil, fmt.Errorf("both file %q and pack %q", p.File, p.Pack)
	case p.Pack != "":
		where = fmt.Sprintf("%s at %d", p.Pack, p.Offset)
		body, err = packs.read(p)
	case p.File != want:
		// Never read a file the mapping would not write, whatever a
		// manifest edited by hand says.
		return nil, fmt.Errorf("file %q (want %q)", p.File, want)
	default:
		body, err = os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(p.File)))
	}
	if err != nil {
		return nil, err
	}
	if len(body) != p.Bytes || sum(body) != p.XXHash {
		// A crash between the page's rename and its journal record.
		return nil, fmt.Errorf("%s: body does not match the manifest (%d bytes, xxhash %s; want %d, %s)",
			where, len(body), sum(body), p.Bytes, p.XXHash)
	}
	return p.item(body), nil
}

// item returns the stored item of p with body.
func (p *page) item(body []byte) *store.Item {
	return &store.Item{
		Status:     p.Status,
		Header:     p.Headers,
		Body:       body,
		Tags:       p.Tags,
		Created:    p.GeneratedAt,
		Revalidate: p.Revalidate,
		Expire:     time.Duration(p.Expire),
	}
}

func sum(body []byte) string {
	return fmt.Sprintf("%016x", xxhash.Sum64(body))
}

// readData reads a data file.
func readData(path string) (key string, it *store.Item, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	line, body, ok := bytes.Cut(b, []byte{'\n'})
	if !ok {
		return "", nil, errors.New("no header line")
	}
	var h dataHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return "", nil, fmt.Errorf("header: %w", err)
	}
	if h.Version < 1 || h.Version > Version {
		return "", nil, fmt.Errorf("version %d (this build reads versions 1 to %d)", h.Version, Version)
	}
	if len(body) != h.Bytes {
		return "", nil, fmt.Errorf("body is %d bytes (want %d)", len(body), h.Bytes)
	}
	return h.Key, &store.Item{
		Status:     h.Status,
		Header:     h.Header,
		Body:       body,
		Tags:       h.Tags,
		Created:    h.Created,
		Revalidate: h.Revalidate,
		Expire:     time.Duration(h.Expire),
	}, nil
}

// loadData loads every data file. A file it cannot read is ignored, and
// left in place: its key is a miss until it is written again. A file
// replaces the packed entry of its key, which it is newer than (only a
// Batch store packs data entries, and it removes their files): dropped
// reports that one was, so the manifest must be written.
func (s *Store) loadData() (dropped bool, err error) {
	dir := filepath.Join(s.dir, "data")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ctx := context.Background()
	for _, de := range ents {
		name := de.Name()
		path := filepath.Join(dir, name)
		if !isDataName(name) || !de.Type().IsRegular() {
			continue // not ours, or a temporary file (see sweep)
		}
		key, it, err := readData(path)
		if err == nil && dataFile(key) != "data/"+name {
			err = fmt.Errorf("key %q does not hash to the file's name", key)
		}
		if err != nil {
			s.log.Warn("disk: ignoring data file", "file", path, "error", err)
			continue
		}
		s.mem.Set(ctx, key, it)
		s.dataSeq++
		s.data[key] = s.dataSeq
		if s.packed[key] != nil {
			delete(s.packed, key)
			dropped = true
		}
	}
	return dropped, nil
}

// sweep removes the temporary files that crashed writes left in the
// directory and under pages/, long/ and data/: no name the store keeps
// starts with tmpPrefix. It removes nothing else: page files that no
// manifest entry names (the newest pages of a crashed process, whose
// records were lost, or pages load dropped) stay, counted in one log line,
// until their path is written again.
func (s *Store) sweep() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), tmpPrefix) && de.Type().IsRegular() {
			s.removeTemp(filepath.Join(s.dir, de.Name()))
		}
	}
	named := make(map[string]bool, len(s.pages))
	for _, p := range s.pages {
		if p.File != "" {
			named[p.File] = true
		}
	}
	unnamed := 0
	var example string
	for _, top := range []string{"pages", "long", "data"} {
		root := filepath.Join(s.dir, top)
		err := filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return fs.SkipDir
			}
			if err != nil || de.IsDir() {
				return err
			}
			if strings.HasPrefix(de.Name(), tmpPrefix) && de.Type().IsRegular() {
				s.removeTemp(path)
				return nil
			}
			if top == "data" {
				return nil
			}
			rel, err := filepath.Rel(s.dir, path)
			if err != nil {
				return err
			}
			if rel = filepath.ToSlash(rel); strings.HasSuffix(rel, ".html") && !named[rel] {
				unnamed++
				example = rel
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if unnamed > 0 {
		s.log.Info("disk: page files that no manifest entry names are left in place, unserved, until their path is rendered again",
			"dir", s.dir, "files", unnamed, "example", example)
	}
	return nil
}

// removeTemp removes the temporary file at path, which a crashed write
// left, and logs it.
func (s *Store) removeTemp(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("disk: cannot remove the temporary file of an interrupted write", "file", path, "error", err)
		return
	}
	s.log.Info("disk: removed the temporary file of an interrupted write", "file", path)
}
