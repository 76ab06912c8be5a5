package disk

import (
	"bytes"
	"cmp"
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
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

// Version is the version of the on-disk format that this package writes
// and reads, in manifest.json, tags.json and every data file.
const Version = 1

// ErrClosed is returned by writes to a closed Store.
var ErrClosed = errors.New("disk: store closed")

var errNilItem = errors.New("disk: nil item")

// Options configure a Store. The zero value means all defaults.
type Options struct {
	// Memory configures the memory tier in front of the directory. Items
	// it evicts stay on disk and are read back on their next Get.
	Memory store.MemoryOptions
	// Batch defers writing manifest.json and tags.json, and syncing
	// directories, to Flush and Close; page and data files are still
	// written and synced by each Set. A crash before Flush loses the
	// batch's manifest, so use it only for a directory that is discarded
	// when the process fails, as engine.Build's staging directory is.
	Batch bool
	// Now stamps the manifest's generatedAt. If nil, time.Now is used.
	Now func() time.Time
	// Logger receives what Open drops or cleans up. If nil, slog.Default().
	Logger *slog.Logger
}

// Store is a store.Store that keeps its items in a directory, with a
// store.Memory in front. It is safe for concurrent use.
//
// Every Get is answered by the memory tier, without allocating, unless the
// memory tier evicted the item (it is bounded in bytes): then the item is
// read back from its file and put in memory again. Set, Delete and
// RevalidateTags write through to the directory before they return, so a
// process that restarts with Open serves the latest versions.
//
// A Set whose file cannot be written still updates the memory tier, so the
// process goes on serving the latest version, and returns the error for
// the caller to log; the directory keeps the previous version.
//
// One process at a time may have a directory open.
type Store struct {
	dir          string
	mem          *store.Memory
	batch        bool
	now          func() time.Time
	log          *slog.Logger
	beforeRename func(tmp string) bool // test hook; see writeFile

	// keyMu serializes the writes of the keys that hash to each: a key's
	// file, its memory entry and its index entry change together, in the
	// order the writes were made.
	keyMu [256]sync.Mutex

	// opMu is held shared by every write and exclusively by Close, which
	// so waits for the writes in progress.
	opMu   sync.RWMutex
	closed bool // guarded by opMu

	mu       sync.RWMutex        // protects the fields below
	pages    map[string]*page    // route entries on disk, by key
	data     map[string]struct{} // Data Cache entries on disk, by key
	tags     map[string]tagTimes // latest revalidation times by tag
	pagesGen uint64              // incremented by each change of pages
	tagsGen  uint64              // incremented by each change of tags
	dirty    map[string]struct{} // directories to sync on Flush (Batch)

	manifestRewrite rewrite // manifest.json, reflecting a pagesGen
	tagsRewrite     rewrite // tags.json, reflecting a tagsGen
}

var _ store.Store = (*Store)(nil)

// manifest is manifest.json.
type manifest struct {
	Version     int              `json:"version"`
	GeneratedAt time.Time        `json:"generatedAt"`
	Pages       map[string]*page `json:"pages"`
}

// page is a route entry in the manifest. Once in Store.pages it is never
// modified; its Tags and Headers are those of the stored item.
type page struct {
	Route       string         `json:"route,omitempty"`
	Revalidate  revalidateJSON `json:"revalidate,omitzero"`
	Expire      secondsJSON    `json:"expire,omitzero"`
	Tags        []string       `json:"tags"`
	ETag        string         `json:"etag,omitempty"`
	GeneratedAt time.Time      `json:"generatedAt"`
	File        string         `json:"file"`
	Status      int            `json:"status"`
	Headers     http.Header    `json:"headers,omitempty"`
	Bytes       int            `json:"bytes"`
	XXHash      string         `json:"xxhash"`
}

// dataHeader is the first line of a data file.
type dataHeader struct {
	Version    int            `json:"version"`
	Key        string         `json:"key"`
	Status     int            `json:"status"`
	Header     http.Header    `json:"header,omitempty"`
	Tags       []string       `json:"tags,omitempty"`
	Created    time.Time      `json:"created"`
	Revalidate revalidateJSON `json:"revalidate,omitzero"`
	Expire     secondsJSON    `json:"expire,omitzero"`
	Bytes      int            `json:"bytes"`
}

// tagsFile is tags.json.
type tagsFile struct {
	Version int                 `json:"version"`
	Tags    map[string]tagTimes `json:"tags"`
}

// tagTimes are a tag's latest revalidation in each mode; zero when none.
type tagTimes struct {
	Stale  time.Time `json:"stale,omitzero"`
	Expire time.Time `json:"expire,omitzero"`
}

// Open opens the store kept in dir, creating dir if needed, and loads
// every item in it into the memory tier. It removes the temporary files a
// crash left behind and the page files the manifest does not name, and
// drops (with a warning) the pages whose file does not match the manifest
// and the data files that cannot be read. A manifest.json or tags.json of
// another version, or that is not valid JSON, is an error.
func Open(dir string, opts Options) (*Store, error) {
	s := &Store{
		dir:   dir,
		mem:   store.NewMemory(opts.Memory),
		batch: opts.Batch,
		now:   opts.Now,
		log:   opts.Logger,
		pages: map[string]*page{},
		data:  map[string]struct{}{},
		tags:  map[string]tagTimes{},
		dirty: map[string]struct{}{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("disk: open %s: %w", dir, err)
	}
	stale, err := s.load()
	if err != nil {
		return nil, fmt.Errorf("disk: open %s: %w", dir, err)
	}
	if stale {
		// A store's directory always has a manifest that names only the
		// pages it holds.
		s.pagesGen++
		if !s.batch {
			if err := s.commitManifest(); err != nil {
				return nil, fmt.Errorf("disk: open %s: %w", dir, err)
			}
		}
	}
	return s, nil
}

// load reads the directory into the memory tier. stale reports that the
// manifest is missing, or names pages that were not loaded.
func (s *Store) load() (stale bool, err error) {
	ctx := context.Background()
	var m manifest
	if ok, err := readJSON(filepath.Join(s.dir, "manifest.json"), &m); err != nil {
		return false, err
	} else if !ok {
		stale = true
	} else if m.Version != Version {
		return false, fmt.Errorf("manifest.json: version %d (this build reads version %d)", m.Version, Version)
	}
	for key, p := range m.Pages {
		it, err := s.readPage(key, p)
		if err != nil {
			s.log.Warn("disk: dropping page", "dir", s.dir, "key", key, "error", err)
			stale = true
			continue
		}
		s.mem.Set(ctx, key, it)
		s.pages[key] = p
	}

	var tf tagsFile
	if ok, err := readJSON(filepath.Join(s.dir, "tags.json"), &tf); err != nil {
		return false, err
	} else if ok && tf.Version != Version {
		return false, fmt.Errorf("tags.json: version %d (this build reads version %d)", tf.Version, Version)
	}
	for tag, tt := range tf.Tags {
		if !tt.Stale.IsZero() {
			s.mem.RevalidateTags(ctx, []string{tag}, regen.RevalidateStale, tt.Stale)
		}
		if !tt.Expire.IsZero() {
			s.mem.RevalidateTags(ctx, []string{tag}, regen.RevalidateExpire, tt.Expire)
		}
		s.tags[tag] = tt
	}

	if err := s.loadData(); err != nil {
		return false, err
	}
	return stale, s.sweep()
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
	if p == nil {
		return nil, errors.New("no manifest entry")
	}
	want, err := pageFile(key)
	if err != nil {
		return nil, err
	}
	if p.File != want {
		// Never read a file the mapping would not write, whatever a
		// manifest edited by hand says.
		return nil, fmt.Errorf("file %q (want %q)", p.File, want)
	}
	body, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(p.File)))
	if err != nil {
		return nil, err
	}
	if len(body) != p.Bytes || sum(body) != p.XXHash {
		// A crash between the page's rename and the manifest's.
		return nil, fmt.Errorf("%s: body does not match the manifest (%d bytes, xxhash %s; want %d, %s)",
			p.File, len(body), sum(body), p.Bytes, p.XXHash)
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
		Revalidate: regen.Revalidate(p.Revalidate),
		Expire:     time.Duration(p.Expire),
	}
}

func sum(body []byte) string {
	return fmt.Sprintf("%016x", xxhash.Sum64(body))
}

// loadData loads every data file, removing temporary files and the files
// that cannot be read.
func (s *Store) loadData() error {
	dir := filepath.Join(s.dir, "data")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx := context.Background()
	for _, de := range ents {
		name := de.Name()
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, tmpPrefix) {
			s.remove(path, "temporary file left by a crash")
			continue
		}
		if !isDataName(name) || !de.Type().IsRegular() {
			continue // not ours
		}
		key, it, err := readData(path)
		if err == nil && dataFile(key) != "data/"+name {
			err = fmt.Errorf("key %q does not hash to the file's name", key)
		}
		if err != nil {
			s.log.Warn("disk: dropping data file", "file", path, "error", err)
			s.remove(path, "unreadable data file")
			continue
		}
		s.mem.Set(ctx, key, it)
		s.data[key] = struct{}{}
	}
	return nil
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
	if h.Version != Version {
		return "", nil, fmt.Errorf("version %d (this build reads version %d)", h.Version, Version)
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
		Revalidate: regen.Revalidate(h.Revalidate),
		Expire:     time.Duration(h.Expire),
	}, nil
}

// sweep removes the temporary files a crash left in the directory and
// under pages/ and long/, and the page files no loaded page names.
func (s *Store) sweep() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), tmpPrefix) {
			s.remove(filepath.Join(s.dir, de.Name()), "temporary file left by a crash")
		}
	}
	named := make(map[string]bool, len(s.pages))
	for _, p := range s.pages {
		named[p.File] = true
	}
	for _, top := range []string{"pages", "long"} {
		root := filepath.Join(s.dir, top)
		err := filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return fs.SkipDir
			}
			if err != nil || de.IsDir() {
				return err
			}
			rel, err := filepath.Rel(s.dir, path)
			if err != nil {
				return err
			}
			switch rel = filepath.ToSlash(rel); {
			case strings.HasPrefix(de.Name(), tmpPrefix):
				s.remove(path, "temporary file left by a crash")
			case strings.HasSuffix(rel, ".html") && !named[rel]:
				s.remove(path, "page file the manifest does not name")
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) remove(path, why string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("disk: cannot remove "+why, "file", path, "error", err)
		return
	}
	s.log.Debug("disk: removed "+why, "file", path)
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Len returns the number of items on disk: pages and data entries.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.pages) + len(s.data)
}

func (s *Store) keyLock(key string) *sync.Mutex {
	return &s.keyMu[xxhash.Sum64String(key)%uint64(len(s.keyMu))]
}

// Get returns the item stored under key from the memory tier, without
// allocating. An item the memory tier evicted is read back from its file.
func (s *Store) Get(ctx context.Context, key string) (*store.Item, bool, error) {
	if it, ok, _ := s.mem.Get(ctx, key); ok {
		return it, true, nil
	}
	return s.readBack(ctx, key)
}

// readBack reads an item the memory tier does not hold from its file, and
// puts it back in memory.
func (s *Store) readBack(ctx context.Context, key string) (*store.Item, bool, error) {
	if !s.onDisk(key) {
		return nil, false, nil
	}
	km := s.keyLock(key)
	km.Lock()
	defer km.Unlock()
	// A write may have finished since we looked.
	if it, ok, _ := s.mem.Get(ctx, key); ok {
		return it, true, nil
	}
	var it *store.Item
	var err error
	if isRoute(key) {
		s.mu.RLock()
		p := s.pages[key]
		s.mu.RUnlock()
		if p == nil {
			return nil, false, nil
		}
		it, err = s.readPage(key, p)
	} else {
		if !s.onDisk(key) {
			return nil, false, nil
		}
		var got string
		got, it, err = readData(filepath.Join(s.dir, filepath.FromSlash(dataFile(key))))
		if err == nil && got != key {
			err = fmt.Errorf("file holds key %q", got)
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("disk: get %q: %w", key, err)
	}
	s.mem.Set(ctx, key, it)
	return it, true, nil
}

func (s *Store) onDisk(key string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if isRoute(key) {
		return s.pages[key] != nil
	}
	_, ok := s.data[key]
	return ok
}

// Set stores it under key, in memory and in its file, replacing any
// previous item atomically. A route key (a URL path) that is not clean is
// refused with an error matching ErrKey, and nothing is stored. Unless the
// store is in Batch mode, a page's Set also rewrites the manifest before
// it returns; concurrent Sets share one rewrite.
//
// The store keeps it, not a copy: it must not be modified after Set.
func (s *Store) Set(ctx context.Context, key string, it *store.Item) error {
	if it == nil {
		return errNilItem
	}
	var name string
	var parts [][]byte
	var p *page
	if isRoute(key) {
		var err error
		if name, err = pageFile(key); err != nil {
			return fmt.Errorf("disk: set: %w", err)
		}
		p = newPage(key, name, it)
		parts = [][]byte{it.Body}
	} else {
		name = dataFile(key)
		hdr, err := json.Marshal(dataHeader{
			Version:    Version,
			Key:        key,
			Status:     it.Status,
			Header:     it.Header,
			Tags:       it.Tags,
			Created:    it.Created.Round(0).UTC(),
			Revalidate: revalidateJSON(it.Revalidate),
			Expire:     secondsJSON(it.Expire),
			Bytes:      len(it.Body),
		})
		if err != nil {
			return fmt.Errorf("disk: set %q: %w", key, err)
		}
		parts = [][]byte{hdr, {'\n'}, it.Body}
	}

	s.opMu.RLock()
	defer s.opMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	km := s.keyLock(key)
	km.Lock()
	changed, werr := writeFile(s.dir, name, s.beforeRename, parts...)
	s.mem.Set(ctx, key, it)
	if werr == nil {
		s.mu.Lock()
		if p != nil {
			s.pages[key] = p
			s.pagesGen++
		} else {
			s.data[key] = struct{}{}
		}
		s.mu.Unlock()
	}
	km.Unlock()
	if werr != nil {
		return fmt.Errorf("disk: set %q: %w", key, werr)
	}
	err := s.synced(changed)
	if p != nil && !s.batch {
		err = errors.Join(err, s.commitManifest())
	}
	if err != nil {
		return fmt.Errorf("disk: set %q: %w", key, err)
	}
	return nil
}

// newPage returns the manifest entry of it, stored under key in file name.
func newPage(key, name string, it *store.Item) *page {
	tags := it.Tags
	if tags == nil {
		tags = []string{}
	}
	return &page{
		Route:       routeOf(key, it.Tags),
		Revalidate:  revalidateJSON(it.Revalidate),
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

// tagPrefix starts the implicit tags the engine stores in a route entry's
// tags (routecache.TagPrefix; this package sits below routecache).
const tagPrefix = "_N_T_"

// routeOf returns the route pattern of the page stored under key, read
// from the implicit tags the engine adds (routecache.ImplicitTags): the
// page tag "_N_T_<route>/page". The path's own tag ("_N_T_<key>", which
// ends in "/page" for a path such as "/docs/page") is skipped. It returns
// "" when there is no such tag.
func routeOf(key string, tags []string) string {
	for i := len(tags) - 1; i >= 0; i-- {
		rest, ok := strings.CutPrefix(tags[i], tagPrefix)
		if !ok || rest == key {
			continue
		}
		if r, ok := strings.CutSuffix(rest, "/page"); ok && (r == "" || r[0] == '/') {
			if r == "" {
				return "/"
			}
			return r
		}
	}
	return ""
}

// synced syncs the directories whose entries a write changed, or in Batch
// mode remembers them for Flush.
func (s *Store) synced(dirs []string) error {
	if s.batch {
		s.mu.Lock()
		for _, d := range dirs {
			s.dirty[d] = struct{}{}
		}
		s.mu.Unlock()
		return nil
	}
	var errs []error
	for _, d := range dirs {
		errs = append(errs, syncDir(d))
	}
	return errors.Join(errs...)
}

// Delete removes the item under key from memory and from disk, if any.
func (s *Store) Delete(ctx context.Context, key string) error {
	s.opMu.RLock()
	defer s.opMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	km := s.keyLock(key)
	km.Lock()
	s.mem.Delete(ctx, key)
	s.mu.Lock()
	var file string
	if p := s.pages[key]; p != nil {
		file = p.File
		delete(s.pages, key)
		s.pagesGen++
	} else if _, ok := s.data[key]; ok {
		file = dataFile(key)
		delete(s.data, key)
	}
	s.mu.Unlock()
	var err error
	if file != "" {
		// Removed before the manifest is rewritten: a manifest naming a
		// missing file is read as if the page were deleted.
		err = os.Remove(filepath.Join(s.dir, filepath.FromSlash(file)))
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	km.Unlock()
	if isRoute(key) && file != "" && !s.batch {
		err = errors.Join(err, s.commitManifest())
	}
	if err != nil {
		return fmt.Errorf("disk: delete %q: %w", key, err)
	}
	return nil
}

// RevalidateTags records that tags were revalidated at time at, in mode,
// in memory and in tags.json. An earlier at never replaces a later one.
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
	s.mu.Lock()
	for _, tag := range tags {
		tt := s.tags[tag]
		if mode == regen.RevalidateExpire {
			if at.After(tt.Expire) {
				tt.Expire = at
			}
		} else if at.After(tt.Stale) {
			tt.Stale = at
		}
		s.tags[tag] = tt
	}
	s.tagsGen++
	s.mu.Unlock()
	if s.batch {
		return nil
	}
	if err := s.commitTags(); err != nil {
		return fmt.Errorf("disk: revalidate tags: %w", err)
	}
	return nil
}

// TagState reports whether any of tags was revalidated strictly after
// since, from the memory tier, without allocating.
func (s *Store) TagState(ctx context.Context, tags []string, since time.Time) (store.TagState, error) {
	return s.mem.TagState(ctx, tags, since)
}

// rewrite is a JSON file written as a whole on each change.
type rewrite struct {
	mu   sync.Mutex // serializes the file's writes; protects done
	done uint64     // the generation the file on disk reflects
}

// commit rewrites the file name of f unless a rewrite that started after
// the caller's change has already written it: concurrent callers share one
// rewrite. gen is the generation counter of the content (read under s.mu);
// snapshot copies the content, under s.mu.
func (s *Store) commit(f *rewrite, name string, gen *uint64, snapshot func() any) error {
	s.mu.RLock()
	want := *gen
	s.mu.RUnlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done >= want {
		return nil
	}
	s.mu.RLock()
	have := *gen
	v := snapshot()
	s.mu.RUnlock()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	changed, err := writeFile(s.dir, name, s.beforeRename, b, []byte{'\n'})
	if err != nil {
		return err
	}
	if err := s.syncNow(changed); err != nil {
		return err
	}
	f.done = have
	return nil
}

// commitManifest rewrites manifest.json, as commit does.
func (s *Store) commitManifest() error {
	return s.commit(&s.manifestRewrite, "manifest.json", &s.pagesGen, func() any {
		pages := make(map[string]*page, len(s.pages))
		for k, p := range s.pages {
			pages[k] = p
		}
		return manifest{Version: Version, GeneratedAt: s.now().Round(0).UTC(), Pages: pages}
	})
}

// commitTags rewrites tags.json, as commit does.
func (s *Store) commitTags() error {
	return s.commit(&s.tagsRewrite, "tags.json", &s.tagsGen, func() any {
		tags := make(map[string]tagTimes, len(s.tags))
		for k, t := range s.tags {
			tags[k] = t
		}
		return tagsFile{Version: Version, Tags: tags}
	})
}

func (s *Store) syncNow(dirs []string) error {
	var errs []error
	for _, d := range dirs {
		errs = append(errs, syncDir(d))
	}
	return errors.Join(errs...)
}

// Flush writes what Batch mode deferred: manifest.json, tags.json and the
// directories changed since the last Flush. Without Batch there is nothing
// to write, and Flush returns nil.
func (s *Store) Flush() error {
	s.mu.Lock()
	dirs := make([]string, 0, len(s.dirty))
	for d := range s.dirty {
		dirs = append(dirs, d)
	}
	clear(s.dirty)
	s.mu.Unlock()
	// Deepest first, so a new directory is synced before its parent.
	slices.SortFunc(dirs, func(a, b string) int {
		return cmp.Compare(strings.Count(b, string(filepath.Separator)), strings.Count(a, string(filepath.Separator)))
	})
	err := s.syncNow(dirs)
	if err == nil {
		err = errors.Join(s.commitManifest(), s.commitTags())
	}
	if err != nil {
		return fmt.Errorf("disk: flush %s: %w", s.dir, err)
	}
	return nil
}

// Close waits for the writes in progress, flushes (see Flush), and makes
// later writes fail with ErrClosed. Gets go on being answered. Closing a
// closed store does nothing.
func (s *Store) Close() error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.Flush()
}
