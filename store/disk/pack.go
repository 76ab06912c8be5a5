package disk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/regen-dev/regen/store"
)

// packDir holds the packs: files of bodies, one after the other, that
// Batch mode appends pages and Data Cache entries to instead of writing a
// file each.
const packDir = "packs"

// pack is the file a Batch mode store appends its pages and Data Cache
// entries to, created on its first. Creating a file costs far more than
// appending to one (about 150 µs against under 1 µs a page on ext4 in a
// VM): a build of tiny pages spent most of its time creating their files.
// Appends are buffered, and written packBuffer bytes at a time.
type pack struct {
	mu      sync.Mutex // protects the fields below
	name    string     // relative, slash-separated: packs/<16 hex digits>.pack; "" until created
	f       *os.File
	size    int64  // the bytes appended: flushed, then buf
	flushed int64  // the bytes written to f
	buf     []byte // the bytes appended after flushed, not yet written
	dirty   bool   // appended to since the last Flush
	err     error  // the failure of the creation or of a write, returned to every later append
}

// packBuffer is the size of the writes to a pack.
const packBuffer = 1 << 20

// isPackName reports whether name (relative, slash-separated) is that of a
// pack: packs/, 16 hex digits, .pack.
func isPackName(name string) bool {
	base, ok := strings.CutPrefix(name, packDir+"/")
	if !ok {
		return false
	}
	base, ok = strings.CutSuffix(base, ".pack")
	return ok && isTempName(tmpPrefix+base)
}

// appendPack appends body to the store's pack, creating it on the first
// call, and returns the pack's name and the offset body starts at. The
// bytes are written to the file with the packBuffer bytes around them, or
// by Flush, which makes them durable (syncFS, or a sync of the pack
// without groupSync); a write that fails fails this append, every later
// one, and Flush.
func (s *Store) appendPack(body []byte) (name string, off int64, err error) {
	p := &s.pk
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil && p.err == nil {
		p.err = s.createPack()
	}
	if p.err != nil {
		return "", 0, p.err
	}
	off = p.size
	p.buf = append(p.buf, body...)
	p.size += int64(len(body))
	p.dirty = true
	if len(p.buf) >= packBuffer {
		if err := p.write(); err != nil {
			return "", 0, err
		}
	}
	return p.name, off, nil
}

// write writes the buffered bytes to the file. p.mu is held.
func (p *pack) write() error {
	if p.err != nil {
		return p.err
	}
	if len(p.buf) == 0 {
		return nil
	}
	if _, err := p.f.WriteAt(p.buf, p.flushed); err != nil {
		p.err = fmt.Errorf("pack %s: %w", p.name, err)
		return p.err
	}
	p.flushed = p.size
	p.buf = p.buf[:0]
	return nil
}

// readOwn reads n bytes at off from the store's own pack, named name: from
// its buffer or its file. ok is false when name is not its pack.
func (p *pack) readOwn(name string, off int64, n int) (body []byte, ok bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil || name != p.name {
		return nil, false, nil
	}
	if off < 0 || n < 0 || off+int64(n) > p.size {
		return nil, true, fmt.Errorf("pack %q ends before offset %d + %d bytes", name, off, n)
	}
	body = make([]byte, n)
	if off >= p.flushed {
		copy(body, p.buf[off-p.flushed:])
		return body, true, nil
	}
	_, err = p.f.ReadAt(body, off)
	return body, true, err
}

// createPack creates the store's pack. p.mu is held; it takes s.mu after
// it (the only order in which both are held).
func (s *Store) createPack() error {
	p := &s.pk
	name := packDir + "/" + randomSuffix() + ".pack"
	path := filepath.Join(s.dir, filepath.FromSlash(name))
	created, err := mkdirs(s.dir, filepath.Dir(path))
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm() != 0o644 {
		f.Chmod(0o644) // a umask took bits away
	}
	p.name, p.f = name, f
	s.mu.Lock()
	for _, d := range append(created, filepath.Dir(path)) {
		s.dirty[d] = struct{}{}
	}
	s.mu.Unlock()
	return nil
}

// flush writes the buffered bytes to the file, and reports whether the
// pack was appended to since its last call.
func (p *pack) flush() (dirty bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return false, p.err
	}
	dirty, p.dirty = p.dirty, false
	return dirty, p.write()
}

// syncPack makes the pack durable: without groupSync, Flush calls it when
// the pack was appended to, since appends are not synced each.
func (s *Store) syncPack() error {
	p := &s.pk
	p.mu.Lock()
	f := p.f
	p.mu.Unlock()
	if f == nil {
		return nil
	}
	s.syncs.Add(1)
	return f.Sync()
}

// closePack closes the store's pack file, if any.
func (s *Store) closePack() error {
	p := &s.pk
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return nil
	}
	err := errors.Join(p.write(), p.f.Close())
	p.f, p.err = nil, ErrClosed
	return err
}

// writePacked is the Batch mode write of a page or a Data Cache entry:
// its body appended to the pack, its entry (in the manifest's pages or
// data) naming the pack. A file the key's previous version was in is
// removed. The key's lock is held.
func (s *Store) writePacked(key string, it *store.Item) error {
	name, off, err := s.appendPack(it.Body)
	if err != nil {
		return err
	}
	pg := newPage(key, "", it)
	pg.Pack, pg.Offset = name, off
	var file string // the previous version's file
	s.mu.Lock()
	if isRoute(key) {
		if old := s.pages[key]; old != nil {
			file = old.File
		}
		s.pages[key] = pg
	} else {
		if _, ok := s.data[key]; ok && s.packed[key] == nil {
			file = dataFile(key)
		}
		pg.Route = ""
		s.packed[key] = pg
		s.dataSeq++
		s.data[key] = s.dataSeq
	}
	s.pagesGen++
	s.mu.Unlock()
	if file != "" {
		path := filepath.Join(s.dir, filepath.FromSlash(file))
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		s.mu.Lock()
		s.dirty[filepath.Dir(path)] = struct{}{}
		s.mu.Unlock()
	}
	return nil
}

// readPacked reads the packed Data Cache entry p through packs, checked
// against its entry.
func (s *Store) readPacked(p *page, packs *packReader) (*store.Item, error) {
	if p.Pack == "" || p.File != "" {
		return nil, fmt.Errorf("data entry with file %q and pack %q (want a pack only)", p.File, p.Pack)
	}
	body, err := packs.read(p)
	if err != nil {
		return nil, err
	}
	if len(body) != p.Bytes || sum(body) != p.XXHash {
		return nil, fmt.Errorf("%s at %d: body does not match the manifest (%d bytes, xxhash %s; want %d, %s)",
			p.Pack, p.Offset, len(body), sum(body), p.Bytes, p.XXHash)
	}
	return p.item(body), nil
}

// packReader reads the bodies of packed pages. Open's load keeps each
// pack open while it reads every page; a read-back opens it for one page,
// or reads the store's own. It is not safe for concurrent use.
type packReader struct {
	dir   string
	own   *pack               // the store's own, or nil
	files map[string]*os.File // by name, for load; nil: open for each read
}

// read reads the body of the packed page p.
func (r *packReader) read(p *page) ([]byte, error) {
	if !isPackName(p.Pack) {
		// Never read a file the store would not write, whatever a
		// manifest edited by hand says.
		return nil, fmt.Errorf("pack %q is not a pack's name", p.Pack)
	}
	if p.Offset < 0 || p.Bytes < 0 {
		return nil, fmt.Errorf("pack %q: offset %d, bytes %d", p.Pack, p.Offset, p.Bytes)
	}
	if r.own != nil {
		if body, ok, err := r.own.readOwn(p.Pack, p.Offset, p.Bytes); ok {
			return body, err
		}
	}
	f := r.files[p.Pack]
	if f == nil {
		var err error
		if f, err = os.Open(filepath.Join(r.dir, filepath.FromSlash(p.Pack))); err != nil {
			return nil, err
		}
		if r.files != nil {
			r.files[p.Pack] = f
		} else {
			defer f.Close()
		}
	}
	body := make([]byte, p.Bytes)
	if _, err := f.ReadAt(body, p.Offset); err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("pack %q ends before offset %d + %d bytes", p.Pack, p.Offset, p.Bytes)
		}
		return nil, err
	}
	return body, nil
}

// close closes the packs load kept open.
func (r *packReader) close() {
	for _, f := range r.files {
		f.Close()
	}
}

// removePacks removes the packs in the directory that no entry of pages
// or data names, but the store's own (a Batch store's pack before its
// first entry is recorded). Called once manifest.json, written from them,
// is durable: no entry can name them again, since only a Batch store's
// writes name a pack, its own.
func (s *Store) removePacks(pages, data map[string]*page) error {
	ents, err := os.ReadDir(filepath.Join(s.dir, packDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	named := map[string]bool{}
	for _, m := range []map[string]*page{pages, data} {
		for _, p := range m {
			if p.Pack != "" {
				named[p.Pack] = true
			}
		}
	}
	s.pk.mu.Lock()
	own := s.pk.name
	s.pk.mu.Unlock()
	var errs []error
	for _, de := range ents {
		name := packDir + "/" + de.Name()
		if !isPackName(name) || named[name] || name == own || !de.Type().IsRegular() {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, filepath.FromSlash(name))); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
