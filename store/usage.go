package store

// Usage is what a store holds at one moment, for metrics and inspectors.
type Usage struct {
	// Entries is the number of items held: pages and data entries.
	Entries int64
	// Bytes is the memory charged for the items held in memory (as
	// MemoryOptions.MaxBytes counts it): a store that keeps items
	// elsewhere counts its memory tier.
	Bytes int64
	// Evictions counts the items evicted from memory to stay within its
	// bound since the store (or its memory tier) was made.
	Evictions int64
	// Shared reports a store shared by several engines (store/redis);
	// Available then says whether it answers. A store that is not shared
	// is always available.
	Shared, Available bool
}

// UsageReporter is implemented by stores that count what they hold:
// Memory, store/disk and store/redis. Metrics read it when scraped, so the
// store counts once.
type UsageReporter interface {
	Usage() Usage
}

var _ UsageReporter = (*Memory)(nil)

// Usage returns what m holds: its items, their bytes and its evictions.
func (m *Memory) Usage() Usage {
	return Usage{Entries: int64(m.Len()), Bytes: m.Bytes(), Evictions: m.Evictions(), Available: true}
}
