package disk

import "github.com/regen-dev/regen/store"

var _ store.UsageReporter = (*Store)(nil)

// Usage returns what s holds: every item stored (Len), and the bytes and
// evictions of its memory tier (an evicted item stays on disk).
func (s *Store) Usage() store.Usage {
	m := s.mem.Usage()
	m.Entries = int64(s.Len())
	return m
}
