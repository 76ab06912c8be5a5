package redis

import "github.com/regen-dev/regen/store"

var _ store.UsageReporter = (*Store)(nil)

// Usage returns what s's local tier holds, and whether Redis is available
// (Stats.Available). The local tier is replaced whole on a resync: its
// eviction count starts again from zero then.
func (s *Store) Usage() store.Usage {
	u := s.items.Load().Usage()
	u.Shared, u.Available = true, s.up.Load()
	return u
}
