package disk

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// manifest is manifest.json.
type manifest struct {
	Version     int              `json:"version"`
	GeneratedAt time.Time        `json:"generatedAt"`
	Pages       map[string]*page `json:"pages"`
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
		m = &manifest{Version: Version, GeneratedAt: s.now().Round(0).UTC(), Pages: maps.Clone(s.pages)}
	}
	if tagsGen != s.tagsDone {
		tf = &tagsFile{Version: Version, Tags: maps.Clone(s.tags)}
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
		b, err := json.MarshalIndent(f.v, "", "  ")
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
	return j.removeSegments(keep, folded)
}
