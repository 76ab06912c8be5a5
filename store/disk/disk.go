package disk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/routecache"
	"github.com/regen-dev/regen/store"
)

// Version is the newest version of the on-disk format that this package
// writes and reads, in manifest.json, tags.json and every data file. A
// reader reads every version up to its own and refuses later ones.
// Version 2 adds packs (Options.Batch): a manifest that names a pack is
// written as version 2; one that names none, tags.json and data files,
// unchanged since, as version 1, which earlier readers read.
const Version = 2

// ErrClosed is returned by writes to a closed Store.
var ErrClosed = errors.New("disk: store closed")

var errNilItem = errors.New("disk: nil item")

// Options configure a Store. The zero value means all defaults.
type Options struct {
	// Memory configures the memory tier in front of the directory. Items
	// it evicts stay on disk and are read back on their next Get.
	Memory store.MemoryOptions
	// Batch writes each Set and Delete before it returns, and defers
	// writing manifest.json and tags.json, and the syncs (of the files,
	// on Linux, and of the directories), to Flush and Close, without a
	// journal. A crash before Flush loses the batch's manifest, so use it
	// only for a directory that is discarded when the process fails, as
	// engine.Build's staging directory is.
	Batch bool
	// MaxPendingBytes bounds the bytes (by Item.Size) of the items whose
	// writes are pending; a Set that would go beyond it waits for the
	// background writers. Zero (or negative) means DefaultMaxPendingBytes.
	MaxPendingBytes int64
	// MaxPending bounds the number of keys whose writes are pending; a
	// Set of another key waits for the background writers. Zero (or
	// negative) means DefaultMaxPending.
	MaxPending int
	// Now stamps the manifest's generatedAt. If nil, time.Now is used.
	Now func() time.Time
	// Logger receives what Open drops, ignores or cleans up, and the
	// writes that fail in the background. If nil, slog.Default().
	Logger *slog.Logger
}

// Store is a store.Store that keeps its items in a directory, with a
// store.Memory in front. It is safe for concurrent use. One Store at a
// time, in one process, may have a directory open.
//
// Every Get is answered by the memory tier, without allocating, unless the
// memory tier evicted the item (it is bounded in bytes): then the item is
// read back from its pending write or its file and put in memory again.
//
// Set and Delete update the memory tier at once and hand the file's write
// to background writers (write-back); Flush and Close wait for them.
// RevalidateTags is durable before it returns. See the package
// documentation for what a crash can lose.
type Store struct {
	dir          string
	mem          *store.Memory
	batch        bool
	now          func() time.Time
	log          *slog.Logger
	lock         *dirLock
	beforeRename func(tmp string) bool // test hook; see writeFile and commit
	beforeRecord func(*record) bool    // test hook: false stops a journal append as a crash would
	beforeCommit func()                // test hook: called as a commit starts
	syncs        atomic.Int64          // the fsync(2) and syncfs(2) calls made, for tests

	// keyMu serializes, in Batch mode, the writes of the keys that hash to
	// each, and a read-back with them: a key's file and its manifest entry
	// change together, in the order of the key's updates. (Write-back
	// writes a key once at a time by its pending entry; see writeBack.)
	keyMu [256]sync.Mutex

	// opMu is held shared by every Set, Delete and RevalidateTags and
	// exclusively by Close, which so waits for them.
	opMu   sync.RWMutex
	closed bool // guarded by opMu

	wb writeBack // the writes Set and Delete queued
	pk pack      // the pack Batch mode appends pages to
	j  journal   // the changes to manifest.json and tags.json since they were written

	mu       sync.RWMutex        // protects the fields below; taken after wb.mu and j.mu
	pages    map[string]*page    // route entries on disk, by key
	data     map[string]uint64   // Data Cache entries on disk, by key: the number of the write that left each
	packed   map[string]*page    // the Data Cache entries of data that are in a pack (manifest "data"), not in a file
	dataSeq  uint64              // numbers the data writes
	tags     map[string]tagTimes // latest revalidation times by tag
	pagesGen uint64              // incremented by each change of pages
	tagsGen  uint64              // incremented by each change of tags
	dirty    map[string]struct{} // directories changed since the last Flush (Batch)

	compactMu     sync.Mutex    // serializes compactions; protects pagesDone and tagsDone
	pagesDone     uint64        // the pagesGen manifest.json reflects
	tagsDone      uint64        // the tagsGen tags.json reflects
	manifestBytes atomic.Int64  // the size of the last manifest.json written
	compactCh     chan struct{} // wakes the compactor; closed by Close
	compactDone   chan struct{} // closed when the compactor returns
}

var _ store.Store = (*Store)(nil)

// page is a route entry in the manifest. Once in Store.pages it is never
// modified; its Tags and Headers are those of the stored item. Its body is
// in its own File, or in a Pack at Offset (version 2).
type page struct {
	Route       string           `json:"route,omitempty"`
	Revalidate  regen.Revalidate `json:"revalidate,omitzero"`
	Expire      secondsJSON      `json:"expire,omitzero"`
	Tags        []string         `json:"tags"`
	ETag        string           `json:"etag,omitempty"`
	GeneratedAt time.Time        `json:"generatedAt"`
	File        string           `json:"file,omitempty"`
	Pack        string           `json:"pack,omitempty"`
	Offset      int64            `json:"offset,omitzero"`
	Status      int              `json:"status"`
	Headers     http.Header      `json:"headers,omitempty"`
	Bytes       int              `json:"bytes"`
	XXHash      string           `json:"xxhash"`
}

// dataHeader is the first line of a data file.
type dataHeader struct {
	Version    int              `json:"version"`
	Key        string           `json:"key"`
	Status     int              `json:"status"`
	Header     http.Header      `json:"header,omitempty"`
	Tags       []string         `json:"tags,omitempty"`
	Created    time.Time        `json:"created"`
	Revalidate regen.Revalidate `json:"revalidate,omitzero"`
	Expire     secondsJSON      `json:"expire,omitzero"`
	Bytes      int              `json:"bytes"`
}

// tagsFile is tags.json.
type tagsFile struct {
	Version int                 `json:"version"`
	Tags    map[string]tagTimes `json:"tags"`
}

// tagTimes are a tag's latest revalidation in each mode; zero when none.
// Marked and Deadline are its latest revalidation by a cache profile (a
// mode with an expire) and when that expires what was made before it.
// Files written before profiles existed lack them, and read as none;
// older versions ignore them.
type tagTimes struct {
	Stale    time.Time `json:"stale,omitzero"`
	Expire   time.Time `json:"expire,omitzero"`
	Marked   time.Time `json:"marked,omitzero"`
	Deadline time.Time `json:"deadline,omitzero"`
}

// modeTimes returns the times a revalidation at at in mode records.
func modeTimes(mode regen.RevalidateMode, at time.Time) tagTimes {
	switch d, bounded := mode.ExpireAfter(); {
	case bounded && d == 0:
		return tagTimes{Expire: at}
	case bounded:
		return tagTimes{Stale: at, Marked: at, Deadline: at.Add(d)}
	}
	return tagTimes{Stale: at}
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Len returns the number of items stored: pages and data entries, those
// whose writes are pending included.
func (s *Store) Len() int {
	s.wb.mu.Lock()
	defer s.wb.mu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := len(s.pages) + len(s.data)
	for key, e := range s.wb.pend {
		_, isData := s.data[key]
		on := s.pages[key] != nil || isData
		switch {
		case e.it != nil && !on:
			n++
		case e.it == nil && on:
			n--
		}
	}
	return n
}

func (s *Store) keyLock(key string) *sync.Mutex {
	return &s.keyMu[xxhash.Sum64String(key)%uint64(len(s.keyMu))]
}

// Get returns the item stored under key from the memory tier, without
// allocating. An item the memory tier evicted is taken from its pending
// write, if any, or read back from its file.
func (s *Store) Get(ctx context.Context, key string) (*store.Item, bool, error) {
	if it, ok, _ := s.mem.Get(ctx, key); ok {
		return it, true, nil
	}
	return s.readBack(ctx, key)
}

// readBack finds an item the memory tier does not hold: the newest
// version of a pending write, or else its file, which it puts back in
// memory.
func (s *Store) readBack(ctx context.Context, key string) (*store.Item, bool, error) {
	if it, ok, found := s.lookupPending(key); found {
		return it, ok, nil
	}
	if !s.onDisk(key) {
		return nil, false, nil
	}
	// Holding the key's lock, no Batch mode write of key runs.
	km := s.keyLock(key)
	km.Lock()
	defer km.Unlock()
	for {
		if it, ok, _ := s.mem.Get(ctx, key); ok {
			return it, true, nil
		}
		if it, ok, found := s.lookupPending(key); found {
			return it, ok, nil
		}
		s.mu.RLock()
		p := s.pages[key]
		gen, isData := s.data[key]
		pd := s.packed[key]
		s.mu.RUnlock()
		var it *store.Item
		var err error
		switch {
		case isRoute(key) && p != nil:
			it, err = s.readPage(key, p)
		case !isRoute(key) && pd != nil:
			it, err = s.readPacked(pd, &packReader{dir: s.dir, own: &s.pk})
		case !isRoute(key) && isData:
			var got string
			got, it, err = readData(filepath.Join(s.dir, filepath.FromSlash(dataFile(key))))
			if err == nil && got != key {
				err = fmt.Errorf("file holds key %q", got)
			}
		default:
			return nil, false, nil
		}
		// A Set since the lookup above has a pending entry until its
		// write completes, and its version is newer than the file's:
		// never put the file's over it. A write that completed since
		// changed the key's state on disk: the file read may be the
		// newer one, or torn between two; read it again.
		s.wb.mu.Lock()
		if e := s.wb.pend[key]; e != nil {
			s.wb.mu.Unlock()
			return e.it, e.it != nil, nil
		}
		s.mu.RLock()
		gen2, isData2 := s.data[key]
		same := s.pages[key] == p && gen2 == gen && isData2 == isData && s.packed[key] == pd
		s.mu.RUnlock()
		if !same {
			s.wb.mu.Unlock()
			continue
		}
		if err != nil {
			s.wb.mu.Unlock()
			return nil, false, fmt.Errorf("disk: get %q: %w", key, err)
		}
		s.mem.Set(ctx, key, it)
		s.wb.mu.Unlock()
		return it, true, nil
	}
}

// onDisk reports whether key has a file that its last completed write
// left.
func (s *Store) onDisk(key string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if isRoute(key) {
		return s.pages[key] != nil
	}
	_, ok := s.data[key]
	return ok
}

// Set stores it under key, replacing any previous item atomically: in the
// memory tier at once, then in its file by a background writer (see the
// package documentation). A route key (a URL path) that is not clean is
// refused with an error matching ErrKey, and nothing is stored.
//
// When the pending writes are at their bound (Options.MaxPending and
// MaxPendingBytes), Set waits for the writers; if ctx ends first, it
// stores nothing and returns ctx's error. In Batch mode, Set writes the
// file before it returns; a file that cannot be written is an error, and
// the memory tier keeps it all the same.
//
// The store keeps it, not a copy: it must not be modified after Set.
func (s *Store) Set(ctx context.Context, key string, it *store.Item) error {
	if it == nil {
		return errNilItem
	}
	if isRoute(key) {
		if _, err := pageFile(key); err != nil {
			return fmt.Errorf("disk: set: %w", err)
		}
	}
	if err := s.write(ctx, key, it); err != nil {
		return fmt.Errorf("disk: set %q: %w", key, err)
	}
	return nil
}

// Delete removes the item under key from memory at once, and from disk
// as Set writes.
func (s *Store) Delete(ctx context.Context, key string) error {
	if isRoute(key) {
		if _, err := pageFile(key); err != nil {
			return nil // nothing is stored under a refused key
		}
	}
	if err := s.write(ctx, key, nil); err != nil {
		return fmt.Errorf("disk: delete %q: %w", key, err)
	}
	return nil
}

// write is Set (it) and Delete (nil) for a key already checked: in Batch
// mode the file now and the memory tier with it, under the key's lock;
// else the memory tier at once and the file by the writers.
func (s *Store) write(ctx context.Context, key string, it *store.Item) error {
	s.opMu.RLock()
	defer s.opMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if !s.batch {
		return s.enqueue(ctx, key, it)
	}
	km := s.keyLock(key)
	km.Lock()
	defer km.Unlock()
	if it == nil {
		s.mem.Delete(ctx, key)
		return s.writeNow(key, nil)
	}
	err := s.writePacked(key, it)
	s.mem.Set(ctx, key, it)
	return err
}

// newPage returns the manifest entry of it, stored under key in file name.
func newPage(key, name string, it *store.Item) *page {
	tags := it.Tags
	if tags == nil {
		tags = []string{}
	}
	return &page{
		Route:       routecache.RouteOf(key, it.Tags),
		Revalidate:  it.Revalidate,
		Expire:      secondsJSON(it.Expire),
		Tags:        tags,
		ETag:        it.Header.Get("Etag"),
		GeneratedAt: it.Created.Round(0).UTC(),
		File:        name,
		Status:      it.Status,
		Headers:     it.Header,
		Bytes:       len(it.Body),
		XXHash:      sum(it.Body),
	}
}

// TagState reports whether any of tags was revalidated strictly after
// since, from the memory tier, without allocating.
func (s *Store) TagState(ctx context.Context, tags []string, since time.Time) (store.TagState, error) {
	return s.mem.TagState(ctx, tags, since)
}

// syncDirs syncs dirs, each once.
func (s *Store) syncDirs(dirs []string) error {
	var errs []error
	for _, d := range dirs {
		errs = append(errs, syncDir(d, &s.syncs))
	}
	return errors.Join(errs...)
}

// RevalidateTags records that tags were revalidated at time at, in mode,
// in memory and in the journal, durably before it returns (unless in
// Batch mode): a revalidation that returned nil survives a crash. An
// earlier at never replaces a later one.
func (s *Store) RevalidateTags(ctx context.Context, tags []string, mode regen.RevalidateMode, at time.Time) error {
	s.opMu.RLock()
	defer s.opMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if len(tags) == 0 {
		return nil
	}
	s.mem.RevalidateTags(ctx, tags, mode, at)
	at = at.Round(0).UTC()
	tt := modeTimes(mode, at)
	rec := &record{Tags: make(map[string]tagTimes, len(tags))}
	for _, tag := range tags {
		rec.Tags[tag] = tt
	}
	err := s.commitRecords([]*record{rec}, func() {
		for _, tag := range tags {
			s.tags[tag] = mergeTimes(s.tags[tag], tt)
		}
		s.tagsGen++
	})
	if err != nil {
		return fmt.Errorf("disk: revalidate tags: %w", err)
	}
	return nil
}

// Flush waits until every Set and Delete made before it is on disk,
// durably, and returns the background writes that failed since the last
// Flush. It takes as long as the pending writes, which are bounded. In
// Batch mode, it writes manifest.json and tags.json and syncs the
// directories changed since the last Flush.
func (s *Store) Flush() error {
	var err error
	if s.batch {
		err = s.flushBatch()
	} else {
		err = s.drain()
	}
	if err != nil {
		return fmt.Errorf("disk: flush %s: %w", s.dir, err)
	}
	return nil
}

// flushBatch makes the files Batch mode wrote durable, with the
// directories it changed, and writes the manifest and tags. With
// groupSync, one syncFS does it all; without, the files were synced as
// they were written, and the pack and the directories left dirty are
// synced.
func (s *Store) flushBatch() error {
	s.mu.Lock()
	dirs := make([]string, 0, len(s.dirty))
	for d := range s.dirty {
		dirs = append(dirs, d)
	}
	clear(s.dirty)
	s.mu.Unlock()
	packed, err := s.pk.flush()
	if err != nil {
		return err
	}
	if groupSync && (len(dirs) > 0 || packed) {
		s.syncs.Add(1)
		if err := syncFS(s.dir); err != nil {
			return err
		}
		return s.compact()
	}
	if packed {
		if err := s.syncPack(); err != nil {
			return err
		}
	}
	if err := s.syncDirs(deepestFirst(dirs)); err != nil {
		return err
	}
	return s.compact()
}

// Close waits for the writes in progress and the pending ones, folds the
// journal into manifest.json and tags.json, releases the directory's lock,
// and makes later writes fail with ErrClosed. Gets go on being answered.
// Closing a closed store does nothing.
func (s *Store) Close() error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if !s.batch {
		err = s.drain()
		s.stopWriters()
	}
	close(s.compactCh)
	<-s.compactDone
	if s.batch {
		err = errors.Join(err, s.flushBatch(), s.closePack())
	} else {
		err = errors.Join(err, s.compact())
	}
	err = errors.Join(err, s.lock.release(true))
	if err != nil {
		return fmt.Errorf("disk: close %s: %w", s.dir, err)
	}
	return nil
}
