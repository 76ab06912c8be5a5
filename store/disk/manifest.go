package disk

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/regen-dev/regen"
)

// manifest is manifest.json.
type manifest struct {
	Version     int              `json:"version"`
	GeneratedAt time.Time        `json:"generatedAt"`
	Pages       map[string]*page `json:"pages"`
	// Data are the Data Cache entries in a pack (version 2), by key; the
	// others are files of their own under data/.
	Data map[string]*page `json:"data,omitempty"`
}

// encode returns manifest.json's contents: indented, one line per page, by
// path. Indenting each page's fields as well made the file 40% larger and
// took as long as encoding it.
func (m *manifest) encode() ([]byte, error) {
	at, err := json.Marshal(m.GeneratedAt)
	if err != nil {
		return nil, err
	}
	b := fmt.Appendf(make([]byte, 0, 64+768*len(m.Pages)), "{\n  \"version\": %d,\n  \"generatedAt\": %s,\n  \"pages\": {", m.Version, at)
	for i, key := range slices.Sorted(maps.Keys(m.Pages)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    "...)
		b = appendString(b, key)
		b = append(b, ": "...)
		if b, err = appendPage(b, m.Pages[key]); err != nil {
			return nil, err
		}
	}
	if len(m.Pages) > 0 {
		b = append(b, "\n  "...)
	}
	b = append(b, '}')
	if len(m.Data) > 0 {
		b = append(b, ",\n  \"data\": {"...)
		for i, key := range slices.Sorted(maps.Keys(m.Data)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n    "...)
			b = appendString(b, key)
			b = append(b, ": "...)
			if b, err = appendPage(b, m.Data[key]); err != nil {
				return nil, err
			}
		}
		b = append(b, "\n  }"...)
	}
	return append(b, "\n}"...), nil
}

// commitRecords records changes of the manifest or the tags: apply changes
// the store's state (under s.mu) and recs are appended to the journal in
// one write, durably before it returns. In Batch mode there is no
// journal: the changes wait for Flush.
func (s *Store) commitRecords(recs []*record, apply func()) error {
	locked := func() {
		s.mu.Lock()
		apply()
		s.mu.Unlock()
	}
	if s.batch {
		locked()
		return nil
	}
	if s.beforeRecord != nil {
		for _, r := range recs {
			if !s.beforeRecord(r) {
				return errCrash
			}
		}
	}
	compact, err := s.j.append(recs, locked, s.manifestBytes.Load())
	if compact {
		select {
		case s.compactCh <- struct{}{}:
		default: // a compaction is already due
		}
	}
	return err
}

// compactor folds the journal into the manifest whenever an append finds
// it has grown past its bound, until Close closes compactCh.
func (s *Store) compactor() {
	defer close(s.compactDone)
	for range s.compactCh {
		if err := s.compact(); err != nil {
			s.log.Warn("disk: cannot fold the journal into manifest.json; will retry", "dir", s.dir, "error", err)
		}
	}
}

// compact writes manifest.json and tags.json, if they changed, from the
// store's state, and removes the journal segments they now reflect. It
// retires the current segment first, so that appends go on in a new one
// while it writes: a crash at any point leaves a manifest and segments
// whose replay gives the latest state, since replay is idempotent.
func (s *Store) compact() error {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	j := &s.j
	j.syncMu.Lock()
	j.mu.Lock()
	keep, folded, rerr := j.rotate()
	s.mu.RLock()
	pagesGen, tagsGen := s.pagesGen, s.tagsGen
	var m *manifest
	var tf *tagsFile
	if pagesGen != s.pagesDone {
		m = &manifest{Version: 1, GeneratedAt: s.now().Round(0).UTC(), Pages: maps.Clone(s.pages)}
		if len(s.packed) > 0 {
			m.Data = maps.Clone(s.packed)
			m.Version = 2 // readers of version 1 would not find them
		}
		for _, p := range m.Pages {
			if p.Pack != "" {
				m.Version = 2 // readers of version 1 would not find its body
				break
			}
		}
	}
	if tagsGen != s.tagsDone {
		tf = &tagsFile{Version: 1, Tags: maps.Clone(s.tags)} // unchanged in version 2
	}
	s.mu.RUnlock()
	j.mu.Unlock()
	j.syncMu.Unlock()
	if rerr != nil {
		// Its records are in the snapshot written below.
		s.log.Warn("disk: retiring a journal segment", "dir", s.dir, "error", rerr)
	}

	var changed []string
	for _, f := range []struct {
		name string
		v    any
		ok   bool
	}{{"manifest.json", m, m != nil}, {"tags.json", tf, tf != nil}} {
		if !f.ok {
			continue
		}
		var b []byte
		var err error
		if f.name == "manifest.json" {
			b, err = m.encode()
		} else {
			b, err = json.MarshalIndent(f.v, "", "  ")
		}
		if err != nil {
			return err
		}
		c, err := writeFile(s.dir, f.name, &s.syncs, s.beforeRename, b, []byte{'\n'})
		if err != nil {
			return err
		}
		changed = append(changed, c...)
		if f.name == "manifest.json" {
			s.manifestBytes.Store(int64(len(b)))
		}
	}
	slices.Sort(changed)
	if err := s.syncDirs(slices.Compact(changed)); err != nil {
		return err
	}
	s.pagesDone, s.tagsDone = pagesGen, tagsGen
	err := j.removeSegments(keep, folded)
	if m != nil {
		// The packs no entry names any more (their pages were all
		// written again since) are garbage once the manifest is durable.
		err = errors.Join(err, s.removePacks(m.Pages, m.Data))
	}
	return err
}

// appendPage appends the JSON of p to b, as json.Marshal writes it (a
// test checks that both read back the same): encoding/json took 4 µs a
// page, a third of a build of tiny pages.
func appendPage(b []byte, p *page) ([]byte, error) {
	b = append(b, '{')
	if p.Route != "" {
		b = append(b, `"route":`...)
		b = appendString(b, p.Route)
		b = append(b, ',')
	}
	if p.Revalidate != regen.NotDeclared {
		r, err := p.Revalidate.MarshalJSON()
		if err != nil {
			return nil, err
		}
		b = append(b, `"revalidate":`...)
		b = append(b, r...)
		b = append(b, ',')
	}
	if p.Expire != 0 {
		b = append(b, `"expire":`...)
		b = append(p.Expire.appendJSON(b), ',')
	}
	b = append(b, `"tags":`...)
	if p.Tags == nil {
		b = append(b, "null"...)
	} else {
		b = appendStrings(b, p.Tags)
	}
	if p.ETag != "" {
		b = append(b, `,"etag":`...)
		b = appendString(b, p.ETag)
	}
	if y := p.GeneratedAt.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("generatedAt %v: year outside [0,9999]", p.GeneratedAt)
	}
	b = append(b, `,"generatedAt":"`...)
	b = append(p.GeneratedAt.AppendFormat(b, time.RFC3339Nano), '"')
	if p.File != "" {
		b = append(b, `,"file":`...)
		b = appendString(b, p.File)
	}
	if p.Pack != "" {
		b = append(b, `,"pack":`...)
		b = appendString(b, p.Pack)
	}
	if p.Offset != 0 {
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, p.Offset, 10)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(p.Status), 10)
	if len(p.Headers) > 0 {
		b = append(b, `,"headers":{`...)
		var buf [16]string
		keys := buf[:0]
		for k := range p.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			if vs := p.Headers[k]; vs == nil {
				b = append(b, "null"...)
			} else {
				b = appendStrings(b, vs)
			}
		}
		b = append(b, '}')
	}
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(p.Bytes), 10)
	b = append(b, `,"xxhash":`...)
	b = appendString(b, p.XXHash)
	return append(b, '}'), nil
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// jsonSafe reports the ASCII bytes a JSON string holds as they are.
var jsonSafe = func() (safe [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		safe[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return safe
}()

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it: <, > and & too, invalid UTF-8 as U+FFFD, and U+2028 and
// U+2029.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
