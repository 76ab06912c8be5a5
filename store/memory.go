package store

import (
	"context"
	"errors"
	"math"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/regen-dev/regen"
)

// Defaults of MemoryOptions.
const (
	DefaultMaxBytes = 256 << 20 // 256 MiB
	DefaultShards   = 64
	maxShards       = 1 << 16
)

// MemoryOptions configures a Memory store. The zero value means all defaults.
type MemoryOptions struct {
	// MaxBytes bounds the heap the items take. Each item is charged what
	// Item.Size measures, plus its key and the store's record of it (about
	// 270 bytes), so that the bound holds for small items as for large ones.
	// Zero (or negative) means DefaultMaxBytes, 256 MiB.
	MaxBytes int64

	// Shards is the number of independently locked parts the items and tag
	// times are split into, each with an equal share of MaxBytes. It is
	// rounded up to a power of two, at most 65536. Zero (or negative) means
	// DefaultShards, 64.
	Shards int
}

// Memory is an in-process Store, bounded in bytes, that evicts the least
// recently used items first. It is safe for concurrent use.
//
// Items are split by a hash of their key into shards, each an LRU list with
// its own lock and an equal share of MaxBytes. Reads do not lock: they look
// the item up in a concurrent index, and record its use in its shard's LRU
// list only at its first read after each write to the store (recency only
// matters when a write evicts). So between writes a read costs no lock, and
// the eviction order is LRU by each item's first use since the latest write.
// An item charged more than a shard's share (MaxBytes/Shards) is not stored: Set drops it, removes any previous
// item under its key, and returns nil, so the item is simply not cached.
//
// Get returns the very *Item that was Set, without copying or allocating:
// items are immutable once stored.
//
// Tag revalidation times are kept at nanosecond precision on the wall clock
// (monotonic clock readings are dropped), for times between the years 1678
// and 2262; times outside that range are clamped to it. Tag times are never
// evicted: there is one small record per tag ever revalidated.
type Memory struct {
	index      sync.Map // key → *memEntry: the items of every shard, read without locks
	epoch      atomic.Uint64
	shards     []memShard
	tagShards  []tagShard
	mask       uint64
	shardBytes int64 // byte budget of each shard
	evictions  atomic.Int64
	charge     func(key string, it *Item) int64 // the package's charge; tests count in round numbers

	// Latest revalidation of any tag, in unix nanoseconds, one per mode;
	// math.MinInt64 when none. TagState answers from these alone when no tag
	// was revalidated after its since.
	latestStale  atomic.Int64
	latestExpire atomic.Int64
}

var _ Store = (*Memory)(nil)

// memEntry is an item with its charge, computed once on Set.
type memEntry struct {
	it   *Item
	size int64 // charge(key, it)
	// used is the store's epoch (its count of writes) when the entry's use
	// was last recorded in its shard's LRU list.
	used atomic.Uint64
}

type memShard struct {
	mu    sync.Mutex // protects lru and bytes, and the index entries of the shard's keys
	lru   *simplelru.LRU[string, *memEntry]
	bytes int64 // sum of the charges of the entries in lru

	_ [40]byte // pad to 64 bytes so neighbouring shards' locks rarely share a cache line
}

// tagTimes are a tag's latest revalidation times in unix nanoseconds, one
// per mode; math.MinInt64 when never revalidated in that mode.
type tagTimes struct {
	stale, expire int64
}

type tagShard struct {
	mu   sync.RWMutex // protects tags
	tags map[string]tagTimes

	_ [32]byte // pad to 64 bytes, as memShard
}

// NewMemory returns an empty Memory store configured by opts.
func NewMemory(opts MemoryOptions) *Memory {
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	n := opts.Shards
	if n <= 0 {
		n = DefaultShards
	}
	n = min(n, maxShards)
	n = 1 << bits.Len(uint(n-1)) // round up to a power of two

	m := &Memory{
		shards:     make([]memShard, n),
		tagShards:  make([]tagShard, n),
		mask:       uint64(n - 1),
		shardBytes: maxBytes / int64(n),
		charge:     charge,
	}
	for i := range m.shards {
		// The count bound is never reached: shards are bounded in bytes.
		lru, err := simplelru.NewLRU[string, *memEntry](math.MaxInt, nil)
		if err != nil {
			panic(err) // unreachable: the size is positive
		}
		m.shards[i].lru = lru
		m.tagShards[i].tags = make(map[string]tagTimes)
	}
	m.latestStale.Store(math.MinInt64)
	m.latestExpire.Store(math.MinInt64)
	return m
}

func (m *Memory) shard(key string) *memShard {
	return &m.shards[xxhash.Sum64String(key)&m.mask]
}

func (m *Memory) tagShard(tag string) *tagShard {
	return &m.tagShards[xxhash.Sum64String(tag)&m.mask]
}

// Get returns the item stored under key and marks it recently used. It never
// fails and does not allocate; it takes a lock only at the first read of the
// item after a write to the store.
func (m *Memory) Get(_ context.Context, key string) (*Item, bool, error) {
	v, ok := m.index.Load(key)
	if !ok {
		return nil, false, nil
	}
	e := v.(*memEntry)
	if epoch := m.epoch.Load(); e.used.Load() != epoch {
		s := m.shard(key)
		s.mu.Lock()
		s.lru.Get(key) // move it to the front, if still there
		s.mu.Unlock()
		e.used.Store(epoch)
	}
	return e.it, true, nil
}

var errNilItem = errors.New("store: nil item")

// Set stores it under key, replacing any previous item atomically, then
// evicts the least recently used items of key's shard while the shard holds
// more than its share of MaxBytes. An item charged more than that share is
// not stored, and the previous item under key is removed.
//
// The store keeps it, not a copy: it must not be modified after Set.
func (m *Memory) Set(_ context.Context, key string, it *Item) error {
	if it == nil {
		return errNilItem
	}
	size := m.charge(key, it)
	epoch := m.epoch.Add(1)
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, exists := s.lru.Peek(key)
	if exists {
		s.bytes -= old.size
	}
	if size > m.shardBytes {
		if exists {
			s.lru.Remove(key)
			m.index.CompareAndDelete(key, old)
		}
		return nil
	}
	if !exists {
		// Do not let a key that is a slice of a larger string pin it.
		key = strings.Clone(key)
	}
	e := &memEntry{it: it, size: size}
	e.used.Store(epoch)
	s.lru.Add(key, e)
	m.index.Store(key, e)
	s.bytes += size
	for s.bytes > m.shardBytes {
		k, oldest, ok := s.lru.RemoveOldest()
		if !ok {
			break // unreachable: bytes > 0 means the list is not empty
		}
		m.index.CompareAndDelete(k, oldest)
		s.bytes -= oldest.size
		m.evictions.Add(1)
	}
	return nil
}

// Delete removes the item under key, if any. It never fails.
func (m *Memory) Delete(_ context.Context, key string) error {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.lru.Peek(key); ok {
		s.lru.Remove(key)
		m.index.CompareAndDelete(key, e)
		s.bytes -= e.size
	}
	return nil
}

// RevalidateTags records that tags were revalidated at time at, in mode. For
// each tag and mode only the latest time is kept: an earlier at never
// replaces a later one. It never fails.
func (m *Memory) RevalidateTags(_ context.Context, tags []string, mode regen.RevalidateMode, at time.Time) error {
	ns := unixNano(at)
	for _, tag := range tags {
		s := m.tagShard(tag)
		s.mu.Lock()
		tt, ok := s.tags[tag]
		if !ok {
			tag = strings.Clone(tag)
			tt = tagTimes{stale: math.MinInt64, expire: math.MinInt64}
		}
		if mode == regen.RevalidateExpire {
			tt.expire = max(tt.expire, ns)
		} else {
			tt.stale = max(tt.stale, ns)
		}
		s.tags[tag] = tt
		s.mu.Unlock()
	}
	// Published after the maps: a TagState that sees the new latest time
	// also finds the tags' new times.
	if len(tags) > 0 {
		latest := &m.latestStale
		if mode == regen.RevalidateExpire {
			latest = &m.latestExpire
		}
		storeMax(latest, ns)
	}
	return nil
}

// TagState reports whether any of tags was revalidated strictly after since:
// a revalidation at exactly since does not count. Expired is true when one
// was revalidated in expire mode; Stale is true when one was revalidated in
// either mode, since an expired entry is stale too. So {Stale: true,
// Expired: false} means stale mode only.
//
// When no tag at all was revalidated after since, TagState answers from two
// atomic loads without locking. It never fails and does not allocate.
func (m *Memory) TagState(_ context.Context, tags []string, since time.Time) (TagState, error) {
	ns := unixNano(since)
	if len(tags) == 0 || max(m.latestStale.Load(), m.latestExpire.Load()) <= ns {
		return TagState{}, nil
	}
	var st TagState
	for _, tag := range tags {
		s := m.tagShard(tag)
		s.mu.RLock()
		tt, ok := s.tags[tag]
		s.mu.RUnlock()
		if !ok {
			continue
		}
		if tt.expire > ns {
			return TagState{Stale: true, Expired: true}, nil
		}
		if tt.stale > ns {
			st.Stale = true
		}
	}
	return st, nil
}

// Len returns the number of items held.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}

// Bytes returns the bytes charged for the items held: their Size, their
// keys and the store's records of them.
func (m *Memory) Bytes() int64 {
	var n int64
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.bytes
		s.mu.Unlock()
	}
	return n
}

// Evictions returns the number of items evicted to stay within MaxBytes
// since the store was made. Items replaced, deleted or too large to store
// are not counted.
func (m *Memory) Evictions() int64 { return m.evictions.Load() }

// Limits of UnixNano: times beyond them are clamped.
var (
	minUnixNano = time.Unix(0, math.MinInt64)
	maxUnixNano = time.Unix(0, math.MaxInt64)
)

// unixNano returns t in unix nanoseconds, clamped to the range of int64.
func unixNano(t time.Time) int64 {
	if t.Before(minUnixNano) {
		return math.MinInt64
	}
	if t.After(maxUnixNano) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// storeMax sets v to n if n is larger.
func storeMax(v *atomic.Int64, n int64) {
	for {
		cur := v.Load()
		if n <= cur || v.CompareAndSwap(cur, n) {
			return
		}
	}
}
