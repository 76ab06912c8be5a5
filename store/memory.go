package store

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// Item.Size measures, plus its key and the store's record of it (80
	// bytes), so that the bound holds for small items as for large ones.
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
// Items are split by a hash of their key into shards, each a hash table and
// an LRU list with its own lock and an equal share of MaxBytes. Reads do not
// lock: they probe the shard's table with atomic loads, and record the
// item's use in the shard's LRU list only at its first read after each
// write to the store (recency only matters when a write evicts). So between
// writes a read costs no lock, and the eviction order is LRU by each item's
// first use since the latest write. An item charged more than a shard's
// share (MaxBytes/Shards) is not stored: Set drops it, removes any previous
// item under its key, and returns nil, so the item is simply not cached.
//
// Get returns the very *Item that was Set, without copying or allocating:
// items are immutable once stored.
//
// Tag revalidation times are kept at nanosecond precision on the wall clock
// (monotonic clock readings are dropped), for times between the years 1678
// and 2262; times outside that range are clamped to it. Tag times are never
// evicted: there is one small record per tag ever revalidated. TagState
// costs time in proportion to the number of tags it is asked about, not to
// the number of tags revalidated: each tag is first checked against a
// lock-free table of the latest revalidation of the tags that hash alike,
// and looked up only when that is after since.
type Memory struct {
	seed       maphash.Seed  // of the keys' hash
	markSeed   uint64        // of the tags' hash
	epoch      atomic.Uint64 // count of Sets: an entry used at the current epoch is not moved again
	gen        atomic.Uint64 // tag generation: count of RevalidateTags calls, bumped after their times are published
	shards     []memShard
	tagShards  []tagShard
	mask       uint64
	shardBytes int64 // byte budget of each shard
	evictions  atomic.Int64
	charge     func(key string, it *Item) int64 // the package's charge; tests count in round numbers

	// marks[tagMark(tag)&markMask] is the latest revalidation, in unix
	// nanoseconds and in either mode, of the tags that hash to it;
	// math.MinInt64 when none. A tag whose mark is not after since was not
	// revalidated after since.
	marks []atomic.Int64
}

var _ Store = (*Memory)(nil)

// markSlots is the number of marks: a revalidated tag makes TagState look
// up the tags that share its mark, about one in 8192.
const markSlots = 8192

// memEntry is an item under its key, with its charge, computed once on Set.
type memEntry struct {
	key  string
	it   *Item
	size int64 // charge(key, it)
	// The neighbours in the shard's LRU list, protected by the shard's
	// lock: newer toward the most recently used. Both nil once removed.
	newer, older *memEntry
	// checked is 1 + the store's tag generation at which the item's tags
	// were last found not revalidated since it was made; 0 when never.
	checked atomic.Uint64
	// used is the store's epoch (its low 32 bits: a wrap only skips one
	// recency update) when the entry's use was last recorded in its
	// shard's LRU list.
	used atomic.Uint32
	hi   uint32 // the high half of key's hash, which places it in its shard's table
}

// tombstone fills a table slot whose entry was removed, so that probes for
// the keys placed after it go on past it.
var tombstone = new(memEntry)

// memTable is an open-addressing hash table with linear probing, of a
// power-of-two size, at most 3/4 full (entries and tombstones) so that
// every probe ends at a nil slot. Readers load its slots without locking;
// the shard's writers change the slots of the current table under its lock,
// and never turn a non-nil slot back to nil: they replace a grown or
// cleaned table with a new one instead.
type memTable struct {
	slots []atomic.Pointer[memEntry]
	mask  uint64
}

const minTableSlots = 8

type memShard struct {
	mu    sync.Mutex // protects the fields below and the writes to table's slots
	table atomic.Pointer[memTable]
	live  int      // entries in table
	used  int      // non-nil slots in table: entries and tombstones
	bytes int64    // sum of the charges of the entries
	lru   memEntry // the sentinel of the LRU list: lru.older is the most recently used, lru.newer the least

	_ [24]byte // pad to 128 bytes so neighbouring shards' locks rarely share a cache line
}

// tagTimes are a tag's latest revalidation times in unix nanoseconds, one
// per mode; math.MinInt64 when never revalidated in that mode. marked and
// deadline are the latest revalidation by a profile (a mode with an
// expire) and when it expires what was made before it.
type tagTimes struct {
	stale, expire    int64
	marked, deadline int64
}

// newTagTimes is the times of a tag never revalidated.
var newTagTimes = tagTimes{stale: math.MinInt64, expire: math.MinInt64, marked: math.MinInt64, deadline: math.MinInt64}

// revalidate returns tt after a revalidation at ns in mode. Of two profile
// revalidations, the later one's pair is kept (Next.js's tags manifest
// keeps the latest {stale, expired}); at the same instant, the earlier
// deadline.
func (tt tagTimes) revalidate(mode regen.RevalidateMode, ns int64) tagTimes {
	d, bounded := mode.ExpireAfter()
	switch {
	case bounded && d == 0:
		tt.expire = max(tt.expire, ns)
	case bounded:
		tt.stale = max(tt.stale, ns)
		dl := addNano(ns, d)
		if ns > tt.marked || ns == tt.marked && dl < tt.deadline {
			tt.marked, tt.deadline = ns, dl
		}
	default:
		tt.stale = max(tt.stale, ns)
	}
	return tt
}

// addNano returns ns+d, clamped to the range of int64.
func addNano(ns int64, d time.Duration) int64 {
	if ns > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return ns + int64(d)
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
		seed:       maphash.MakeSeed(),
		shards:     make([]memShard, n),
		tagShards:  make([]tagShard, n),
		mask:       uint64(n - 1),
		shardBytes: maxBytes / int64(n),
		charge:     charge,
		marks:      make([]atomic.Int64, markSlots),
	}
	for i := range m.shards {
		s := &m.shards[i]
		s.table.Store(newTable(minTableSlots))
		s.lru.newer, s.lru.older = &s.lru, &s.lru
		m.tagShards[i].tags = make(map[string]tagTimes)
	}
	m.markSeed = maphash.String(m.seed, "tags")
	for i := range m.marks {
		m.marks[i].Store(math.MinInt64)
	}
	return m
}

func newTable(n int) *memTable {
	return &memTable{slots: make([]atomic.Pointer[memEntry], n), mask: uint64(n - 1)}
}

// hash returns the hash of key: its low bits choose the shard, its high
// bits the slot in the shard's table.
func (m *Memory) hash(key string) uint64 { return maphash.String(m.seed, key) }

func (m *Memory) shardOf(h uint64) *memShard { return &m.shards[h&m.mask] }

// home is the first slot a probe for a key whose hash's high half is hi
// looks at.
func (t *memTable) home(hi uint32) uint64 { return uint64(hi) & t.mask }

// lookup returns the entry under key, whose hash's high half is hi,
// without locking.
func (t *memTable) lookup(key string, hi uint32) *memEntry {
	for i := t.home(hi); ; i = (i + 1) & t.mask {
		e := t.slots[i].Load()
		if e == nil {
			return nil
		}
		if e.hi == hi && e.key == key && e != tombstone {
			return e
		}
	}
}

// slot returns the slot of the entry under key, whose hash's high half is
// hi, or -1; and the first free slot (nil or tombstone) of its probe. The
// caller holds the shard's lock.
func (t *memTable) slot(key string, hi uint32) (at, free int) {
	free = -1
	for i := t.home(hi); ; i = (i + 1) & t.mask {
		e := t.slots[i].Load()
		switch {
		case e == nil:
			if free < 0 {
				free = int(i)
			}
			return -1, free
		case e == tombstone:
			if free < 0 {
				free = int(i)
			}
		case e.hi == hi && e.key == key:
			return int(i), free
		}
	}
}

// Get returns the item stored under key and marks it recently used. It never
// fails and does not allocate; it takes a lock only at the first read of the
// item after a write to the store.
func (m *Memory) Get(_ context.Context, key string) (*Item, bool, error) {
	e := m.get(key)
	if e == nil {
		return nil, false, nil
	}
	return e.it, true, nil
}

// GetTagged returns the item stored under key, as Get does, and the state
// of its tags since it was made, as TagState(ctx, it.Tags, it.Created)
// reports it. After the item's tags were once found not revalidated, it
// answers from two atomic loads until the next RevalidateTags, of any tag.
// It never fails and does not allocate.
func (m *Memory) GetTagged(ctx context.Context, key string) (*Item, TagState, bool, error) {
	e := m.get(key)
	if e == nil {
		return nil, TagState{}, false, nil
	}
	g := m.gen.Load() + 1 // before the times are read
	if e.checked.Load() == g {
		return e.it, TagState{}, true, nil
	}
	st, _ := m.TagState(ctx, e.it.Tags, e.it.Created)
	if st == (TagState{}) {
		e.checked.Store(g)
	}
	return e.it, st, true, nil
}

// get returns the entry under key and marks it recently used.
func (m *Memory) get(key string) *memEntry {
	h := m.hash(key)
	s := m.shardOf(h)
	e := s.table.Load().lookup(key, uint32(h>>32))
	if e == nil {
		return nil
	}
	if epoch := uint32(m.epoch.Load()); e.used.Load() != epoch {
		s.mu.Lock()
		if e.newer != nil { // still held
			s.unlink(e)
			s.pushFront(e)
		}
		s.mu.Unlock()
		e.used.Store(epoch)
	}
	return e
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
	h := m.hash(key)
	hi := uint32(h >> 32)
	s := m.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	at, free := t.slot(key, hi)
	if size > m.shardBytes {
		if at >= 0 {
			s.remove(t, at)
		}
		return nil
	}
	if at >= 0 {
		old := t.slots[at].Load()
		e := &memEntry{key: old.key, hi: hi, it: it, size: size}
		e.used.Store(uint32(epoch))
		t.slots[at].Store(e)
		s.unlink(old)
		s.bytes -= old.size
		s.pushFront(e)
		s.bytes += size
	} else {
		// Do not let a key that is a slice of a larger string pin it.
		e := &memEntry{key: strings.Clone(key), hi: hi, it: it, size: size}
		e.used.Store(uint32(epoch))
		if t.slots[free].Load() == nil {
			if (s.used+1)*4 > len(t.slots)*3 {
				t = s.rebuild(t)
				_, free = t.slot(key, hi)
			}
			s.used++
		}
		t.slots[free].Store(e)
		s.live++
		s.pushFront(e)
		s.bytes += size
	}
	for s.bytes > m.shardBytes && s.lru.newer != &s.lru {
		oldest := s.lru.newer
		at, _ := t.slot(oldest.key, oldest.hi)
		s.remove(t, at)
		m.evictions.Add(1)
	}
	return nil
}

// rebuild replaces t, the shard's table, by one without tombstones, sized
// for the live entries to fill between a quarter and a half of it, and
// returns it. The caller holds the shard's lock.
func (s *memShard) rebuild(t *memTable) *memTable {
	n := max(minTableSlots, 1<<bits.Len(uint((s.live+1)*2-1)))
	nt := newTable(n)
	for i := range t.slots {
		e := t.slots[i].Load()
		if e == nil || e == tombstone {
			continue
		}
		j := nt.home(e.hi)
		for nt.slots[j].Load() != nil {
			j = (j + 1) & nt.mask
		}
		nt.slots[j].Store(e)
	}
	s.table.Store(nt)
	s.used = s.live
	return nt
}

// remove removes the entry in slot at of t, the shard's table. The caller
// holds the shard's lock.
func (s *memShard) remove(t *memTable, at int) {
	e := t.slots[at].Load()
	t.slots[at].Store(tombstone)
	s.unlink(e)
	s.live--
	s.bytes -= e.size
}

// pushFront makes e the most recently used entry. The caller holds the
// shard's lock.
func (s *memShard) pushFront(e *memEntry) {
	e.older, e.newer = s.lru.older, &s.lru
	s.lru.older.newer = e
	s.lru.older = e
}

// unlink takes e out of the LRU list. The caller holds the shard's lock.
func (s *memShard) unlink(e *memEntry) {
	e.newer.older = e.older
	e.older.newer = e.newer
	e.newer, e.older = nil, nil
}

// Delete removes the item under key, if any. It never fails.
func (m *Memory) Delete(_ context.Context, key string) error {
	h := m.hash(key)
	s := m.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	if at, _ := t.slot(key, uint32(h>>32)); at >= 0 {
		s.remove(t, at)
	}
	return nil
}

// RevalidateTags records that tags were revalidated at time at, in mode. For
// each tag and mode only the latest time is kept: an earlier at never
// replaces a later one. It never fails.
func (m *Memory) RevalidateTags(_ context.Context, tags []string, mode regen.RevalidateMode, at time.Time) error {
	ns := unixNano(at)
	for _, tag := range tags {
		h := tagMark(m.markSeed, tag)
		s := &m.tagShards[(h>>32)&m.mask]
		s.mu.Lock()
		tt, ok := s.tags[tag]
		if !ok {
			tag = strings.Clone(tag)
			tt = newTagTimes
		}
		s.tags[tag] = tt.revalidate(mode, ns)
		s.mu.Unlock()
		// Published after the map: a TagState that sees the new mark
		// also finds the tag's new time.
		storeMax(&m.marks[h&(markSlots-1)], ns)
	}
	if len(tags) > 0 {
		m.gen.Add(1) // after the times: a GetTagged that sees the new generation finds them
	}
	return nil
}

// TagState reports whether any of tags was revalidated strictly after since:
// a revalidation at exactly since does not count. Expired is true when one
// was revalidated in expire mode; Stale is true when one was revalidated in
// any mode, since an expired entry is stale too. So {Stale: true,
// Expired: false} means stale mode or a profile. ExpireAt is the earliest
// deadline of the tags' latest profile revalidations made after since.
//
// Each tag costs a hash and an atomic load, whatever other tags were
// revalidated; only a tag revalidated after since (or one of the few that
// hash alike) is looked up under a read lock. It never fails and does not
// allocate.
func (m *Memory) TagState(_ context.Context, tags []string, since time.Time) (TagState, error) {
	if len(tags) == 0 {
		return TagState{}, nil
	}
	ns := unixNano(since)
	for i, tag := range tags {
		if m.marks[tagMark(m.markSeed, tag)&(markSlots-1)].Load() > ns {
			return m.lookupTags(tags[i:], ns), nil
		}
	}
	return TagState{}, nil
}

// lookupTags is TagState's slow path, from the first of tags whose mark is
// after ns: the tags' times are looked up under their shards' read locks.
func (m *Memory) lookupTags(tags []string, ns int64) TagState {
	var st TagState
	for _, tag := range tags {
		h := tagMark(m.markSeed, tag)
		if m.marks[h&(markSlots-1)].Load() <= ns {
			continue
		}
		s := &m.tagShards[(h>>32)&m.mask]
		s.mu.RLock()
		tt, ok := s.tags[tag]
		s.mu.RUnlock()
		if !ok {
			continue
		}
		if tt.expire > ns {
			return TagState{Stale: true, Expired: true}
		}
		if tt.stale > ns {
			st.Stale = true
		}
		if tt.marked > ns {
			if at := time.Unix(0, tt.deadline); st.ExpireAt.IsZero() || at.Before(st.ExpireAt) {
				st.ExpireAt = at
			}
		}
	}
	return st
}

// tagMark hashes a tag for its mark and its shard from its length and at
// most 24 of its bytes (the first 8 and the last 16, where a route's tags
// and its paths' tags differ) with four multiplications, three of them
// independent: cheaper than a general hash, whose quality here only decides
// how often a tag shares a revalidated tag's mark, which costs a lookup,
// never a wrong answer.
func tagMark(seed uint64, tag string) uint64 {
	const k0, k1, k2, k3 = 0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9, 0xd6e8feb86659fd93
	n := len(tag)
	var a, b, c uint64
	switch {
	case n >= 16:
		a, b, c = le64(tag), le64(tag[n-16:]), le64(tag[n-8:])
	case n >= 8:
		a, c = le64(tag), le64(tag[n-8:])
	default:
		for i := n - 1; i >= 0; i-- {
			a = a<<8 | uint64(tag[i])
		}
	}
	hi, lo := bits.Mul64((a*k1)^(b*k2)^(c*k3)^seed^uint64(n), k0)
	return hi ^ lo
}

// le64 reads the first eight bytes of s, little-endian.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Len returns the number of items held.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.live
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
	// Within 1970 ± 292 years, UnixNano cannot overflow.
	if s := t.Unix(); s > -math.MaxInt64/int64(time.Second)+1 && s < math.MaxInt64/int64(time.Second)-1 {
		return t.UnixNano()
	}
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
