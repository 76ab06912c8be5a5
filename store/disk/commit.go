package disk

import (
	"cmp"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/regen-dev/regen/store"
)

// op is the write of one version of a key (or its deletion) on its way to
// disk, in two steps: prepare writes its file, and commit makes a batch of
// them durable together, renames their files into place and appends their
// journal records.
type op struct {
	key string
	it  *store.Item // the version to write; nil for a deletion
	gen uint64      // the number of the version in the key's pending entry (write-back)

	file    string   // the file prepare wrote: a temporary one, or path itself (direct); "" for a deletion
	direct  bool     // file is path: a new page's, written at its name (see prepare)
	path    string   // the file's path: written, renamed over, or removed
	created []string // directories whose entries prepare changed by creating a directory
	page    *page    // the manifest entry of a route entry written
	record  bool     // the change has a journal record: a route entry written or deleted
	unpack  bool     // a Data Cache entry's write or deletion drops its packed entry, with a journal record
	placed  bool     // commit renamed the file into place, or removed it
	err     error
}

// writeNow writes the version it of key (nil: deletes key) on its own,
// before it returns: the Batch mode write. The key's lock is held.
func (s *Store) writeNow(key string, it *store.Item) error {
	o := &op{key: key, it: it}
	s.prepare(o)
	s.commit([]*op{o})
	return o.err
}

// prepare writes the file of o to a temporary name in its directory,
// creating the directory if needed. The file is synced only without
// groupSync; with it, commit syncs the batch's files at once. A deletion
// finds the file to remove, if any. A failure is left in o.err.
//
// A new page, one without a manifest entry, whose path holds no file, is
// written at its name directly, saving a rename: no entry names the file
// until commit appends its record, after the file is durable, so a crash
// before then leaves at most a file that no entry names, which Open leaves
// unserved (see the package documentation). A file in the way, that a
// crashed process left, is replaced as any other.
func (s *Store) prepare(o *op) {
	var syncs = &s.syncs
	if groupSync {
		syncs = nil
	}
	var name string
	var data [][]byte
	switch {
	case isRoute(o.key) && o.it != nil:
		var err error
		if name, err = pageFile(o.key); err != nil {
			o.err = err
			return
		}
		s.mu.RLock()
		o.direct = s.pages[o.key] == nil
		s.mu.RUnlock()
		o.page = newPage(o.key, name, o.it)
		o.record = true
		data = [][]byte{o.it.Body}
	case isRoute(o.key):
		s.mu.RLock()
		p := s.pages[o.key]
		s.mu.RUnlock()
		if p != nil {
			// A packed page has no file of its own: removing the one
			// its path maps to, if a crash left it, is harmless.
			name, _ := pageFile(o.key)
			if p.File != "" {
				name = p.File
			}
			o.path = filepath.Join(s.dir, filepath.FromSlash(name))
			o.record = true
		}
		return
	case o.it != nil:
		it := o.it
		hdr, err := json.Marshal(dataHeader{
			Version:    1, // unchanged in version 2
			Key:        o.key,
			Status:     it.Status,
			Header:     it.Header,
			Tags:       it.Tags,
			Created:    it.Created.Round(0).UTC(),
			Revalidate: it.Revalidate,
			Expire:     secondsJSON(it.Expire),
			Bytes:      len(it.Body),
		})
		if err != nil {
			o.err = err
			return
		}
		name = dataFile(o.key)
		data = [][]byte{hdr, {'\n'}, it.Body}
		s.mu.RLock()
		o.unpack = s.packed[o.key] != nil
		s.mu.RUnlock()
	default:
		if s.onDisk(o.key) {
			// A packed entry has no file: removing the one its key
			// maps to, if a crash left it, is harmless.
			o.path = filepath.Join(s.dir, filepath.FromSlash(dataFile(o.key)))
			s.mu.RLock()
			o.unpack = s.packed[o.key] != nil
			s.mu.RUnlock()
		}
		return
	}
	o.path = filepath.Join(s.dir, filepath.FromSlash(name))
	parent := filepath.Dir(o.path)
	if o.created, o.err = mkdirs(s.dir, parent); o.err != nil {
		return
	}
	if o.direct {
		err := createFile(o.path, syncs, data...)
		if !errors.Is(err, fs.ErrExist) {
			o.file, o.err = o.path, err
			return
		}
		o.direct = false
	}
	o.file, o.err = writeTemp(parent, syncs, data...)
}

// commit finishes the prepared writes of ops, which are of distinct keys:
//
//  1. one syncFS makes every file prepare wrote durable, with the new
//     pages' directory entries (with groupSync, for syncFSMin files or
//     more; for fewer, each is synced; without groupSync, prepare synced
//     each);
//  2. each temporary file is renamed over its file, and each deletion
//     removes its file;
//  3. each directory whose entries changed since 1 is synced, once;
//  4. the records of the route entries are appended to the journal in one
//     write and one sync, and the store's state changes with them.
//
// So a record is durable only after its file is, and a crash at any point
// leaves each page's file and entry either as they were or as written, or
// a new file under an old entry, which Open drops (see the package
// documentation). To bound what a crash drops so, the pages that replace
// a file go through steps 2 to 4 by groups of at most maxReplace. In
// Batch mode, the syncs wait for Flush and there is no journal. A failure
// is left in the err of the ops it stops.
func (s *Store) commit(ops []*op) {
	if s.beforeCommit != nil {
		s.beforeCommit()
	}
	fsSynced := false // the syncFS below made the new pages' directory entries durable
	if groupSync && !s.batch {
		var files []*op
		for _, o := range ops {
			if o.err == nil && o.file != "" {
				files = append(files, o)
			}
		}
		if len(files) >= syncFSMin {
			s.syncs.Add(1)
			err := syncFS(s.dir)
			for _, o := range files {
				o.err = err
			}
			fsSynced = err == nil
		} else {
			for _, o := range files {
				o.err = syncFile(o.file, &s.syncs)
			}
		}
		for _, o := range files {
			if o.err != nil {
				os.Remove(o.file)
			}
		}
	}
	if s.batch {
		s.place(ops, fsSynced)
		return
	}
	var rest, replace []*op
	for _, o := range ops {
		if o.record && o.page != nil && !o.direct {
			replace = append(replace, o)
		} else {
			rest = append(rest, o)
		}
	}
	s.place(rest, fsSynced)
	for chunk := range slices.Chunk(replace, maxReplace) {
		s.place(chunk, fsSynced)
	}
}

// maxReplace bounds the pages replacing a file that one writer renames
// before their records are durable: a crash between the two drops them.
const maxReplace = 16

// place does steps 2 to 4 of commit for ops.
func (s *Store) place(ops []*op, fsSynced bool) {
	if len(ops) == 0 {
		return
	}
	var dirs []string
	for _, o := range ops {
		switch {
		case o.err != nil || o.path == "":
			continue
		case o.direct:
			o.placed = true
			if fsSynced {
				continue // and its directory entries
			}
			dirs = append(dirs, o.created...)
		case o.file != "":
			if s.beforeRename != nil && !s.beforeRename(o.file) {
				o.err = errCrash
				continue
			}
			if err := os.Rename(o.file, o.path); err != nil {
				os.Remove(o.file)
				o.err = err
				continue
			}
			o.placed = true
			dirs = append(dirs, o.created...)
		default:
			// A route entry's file is removed before its record: a
			// manifest entry whose file is missing is dropped by Open,
			// as if the page were deleted.
			err := os.Remove(o.path)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				o.err = err
				continue
			}
			o.placed = true
			if err != nil {
				continue // no file (a packed entry's): no directory changed, and it may not exist
			}
		}
		dirs = append(dirs, filepath.Dir(o.path))
	}
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	if s.batch {
		s.mu.Lock()
		for _, d := range dirs {
			s.dirty[d] = struct{}{}
		}
		s.mu.Unlock()
	} else if err := s.syncDirs(deepestFirst(dirs)); err != nil {
		for _, o := range ops {
			if o.err == nil && o.path != "" {
				o.err = err
			}
		}
	}

	// A data file in place (or gone) changes the state at once, a route
	// entry with its record. A data entry that was packed is no longer:
	// its file (or its absence) is durable, and its record makes the end
	// of the packed entry durable too (until then, a restart finds the
	// file, which wins, or the packed entry of a deleted key again, as a
	// crash before a data file's removal leaves the file).
	s.mu.Lock()
	for _, o := range ops {
		switch {
		case !o.placed || o.record:
			continue
		case o.it != nil:
			s.dataSeq++
			s.data[o.key] = s.dataSeq
		default:
			delete(s.data, o.key)
		}
		if o.unpack && s.packed[o.key] != nil {
			delete(s.packed, o.key)
			s.pagesGen++
		}
	}
	s.mu.Unlock()
	var recs []*record
	var recOps, unpacked []*op
	for _, o := range ops {
		if o.placed && o.record && o.err == nil {
			r := &record{Set: o.key, Page: o.page}
			if o.page == nil {
				r = &record{Del: o.key}
			}
			recs, recOps = append(recs, r), append(recOps, o)
		}
		if o.placed && o.unpack && o.err == nil {
			recs, unpacked = append(recs, &record{Del: o.key}), append(unpacked, o) // applied above
		}
	}
	if len(recs) == 0 {
		return
	}
	err := s.commitRecords(recs, func() {
		for _, o := range recOps {
			if o.page != nil {
				s.pages[o.key] = o.page
			} else {
				delete(s.pages, o.key)
			}
		}
		s.pagesGen++
	})
	if err != nil {
		for _, o := range append(recOps, unpacked...) {
			o.err = err
		}
	}
}

// syncFSMin is the fewest files that commit makes durable with one syncFS
// rather than a sync each. syncfs(2) writes back the dirty data of the
// whole file system, other processes' too: for a few files, a sync each
// is cheaper, and its time does not depend on what else the system writes.
const syncFSMin = 8

// syncFile makes the file at path durable, counting the sync in syncs.
func syncFile(path string, syncs *atomic.Int64) error { return syncPath(path, os.O_WRONLY, syncs) }

// deepestFirst sorts dirs by depth, deepest first, so that a new
// directory is synced before the parent that names it.
func deepestFirst(dirs []string) []string {
	slices.SortStableFunc(dirs, func(a, b string) int {
		return cmp.Compare(strings.Count(b, string(filepath.Separator)), strings.Count(a, string(filepath.Separator)))
	})
	return dirs
}
