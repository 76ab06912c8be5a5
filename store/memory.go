package store

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/http"
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
	// MaxBytes bounds the bytes the items take. Each item is charged the
	// bytes its record takes in the store's slabs (its body, its key, its
	// tags and headers that no other item in its slab shares, and about
	// 100 bytes of record), plus the headers it brought that no other item
	// shares; each shard also counts the unused end of its newest slab, at
	// most an eighth of its share. Not counted: the slabs' dead space
	// (records removed and not yet compacted away), which the store keeps
	// under a quarter of the live bytes, and the items kept decoded for
	// reads (about half a KiB to 1 KiB each, one per 16 KiB of a shard's
	// share, 64 to 1024 per shard). Zero (or negative) means
	// DefaultMaxBytes, 256 MiB.
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
// Items are split by a hash of their key into shards, each a hash table, an
// LRU list and a series of slabs with its own lock and an equal share of
// MaxBytes. Set copies the item into a slab: a byte slice that holds no
// pointers, so the garbage collector's work does not grow with the number
// of items. Headers shared by items (a route's pages have the same but for
// their ETag and length) are kept once per slab.
//
// Reads do not lock: they probe the shard's table with atomic loads, and
// record the item's use in the shard's LRU list only at its first read
// after each write to the store (recency only matters when a write evicts).
// So between writes a read costs no lock, and the eviction order is LRU by
// each item's first use since the latest write. An item charged more than a
// shard's share (MaxBytes/Shards) is not stored: Set drops it, removes any
// previous item under its key, and returns nil, so the item is simply not
// cached.
//
// Get returns an *Item that shares the slab's memory: its Body and strings
// are not copies. The items last read in each shard are kept ready (one
// per 16 KiB of its share, 64 to 1024, in sets of four), so a read of one
// of them does not allocate; another read allocates the Item, its Tags
// and, if it has per-item header values, its Header map. Items are
// immutable once stored: a caller must not modify what Get returns.
//
// Tag revalidation times, and items' Created, are kept at nanosecond
// precision on the wall clock (monotonic clock readings are dropped; a
// Created comes back in UTC, or in time.Local if it was), for times between
// the years 1678 and 2262; times outside that range are clamped to it (the
// zero time stays zero). Tag times are never
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
	// charge is what the store counts against MaxBytes for it under key,
	// whose record took n bytes; tests count in round numbers.
	charge func(key string, it *Item, n int64) int64
	noRoom bool // do not count the head slabs' unused bytes (tests)

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

// memTable is an open-addressing hash table of record locations with
// linear probing, of a power-of-two size, at most 3/4 full (records and
// tombstones) so that every probe ends at an empty slot. Readers load its
// slots without locking; the shard's writers change the slots of the
// current table under its lock, and never empty a slot: they replace a
// grown or cleaned table with a new one instead.
type memTable struct {
	slots []atomic.Uint64 // a loc; 0: empty
	mask  uint64
}

const minTableSlots = 8

// A table slot holds a record's loc and, in bits 16 to 31, which a loc
// never uses (a record starts below maxSlab, so its offset over 8 is under
// 1<<15), the top 16 bits of its hash's high half: a probe passes over most
// other keys' slots without reading their records, each a likely cache
// miss. 0 is an empty slot, and tombstone a removed record's.
const slotHashBits = 0xffff << 16

// slotOf returns the slot value of the record at l, whose hash's high half
// is hi.
func slotOf(l loc, hi uint32) uint64 { return uint64(l) | uint64(hi>>16)<<16 }

// slotLoc returns the loc in a slot value that is neither 0 nor tombstone.
func slotLoc(v uint64) loc { return loc(v &^ slotHashBits) }

// slotMay reports whether the slot value v may hold the record of a key
// whose hash's high half is hi.
func slotMay(v uint64, hi uint32) bool { return uint32(v)>>16 == hi>>16 }

// slabDir finds a shard's slabs by id: slabs[id-base]; nil once dropped.
// It is replaced, never changed, when a slab is added or dropped.
type slabDir struct {
	base  uint32
	slabs []*slab
}

func (d *slabDir) get(id uint32) *slab {
	if i := id - d.base; uint64(i) < uint64(len(d.slabs)) {
		return d.slabs[i]
	}
	return nil
}

// Each shard keeps the items last read decoded, ready to return, in sets
// of hotWays slots: between minHot and maxHot slots, a power of two, about
// one per bytesPerHot of the shard's budget, since an item costs its Item,
// and its Tags and Header when it has them, about 0.5 to 1 KiB outside the
// budget (a page with five tags: 640 bytes).
const (
	minHot      = 64
	maxHot      = 1024
	bytesPerHot = 16 << 10
	hotWays     = 4
)

// hotItem is an item ready to return, made from the record at loc.
type hotItem struct {
	loc loc
	it  Item
}

type memShard struct {
	mu      sync.Mutex // protects the fields below and the writes to table's slots
	table   atomic.Pointer[memTable]
	dir     atomic.Pointer[slabDir]
	hot     []atomic.Pointer[hotItem] // the items kept ready: sets of hotWays slots
	hotBits uint8                     // len(hot) is 1<<hotBits

	live     int   // records in table
	used     int   // non-empty slots in table: records and tombstones
	bytes    int64 // sum of the records' charges
	liveN    int64 // sum of the bytes the live records take in slabs
	alloc    int64 // bytes of the slabs
	nslabs   int   // slabs in dir
	head     *slab // where new records go; nil before the first
	nextID   uint32
	mru, lru loc // the ends of the LRU list; 0 when empty
	// shapes are the header shapes the shard's slabs share, by hash; at
	// most maxShapes, then emptied.
	shapes map[uint64]http.Header
}

const maxShapes = 256

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

	_ [32]byte // pad to 64 bytes so neighbouring shards' locks rarely share a cache line
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
	hotBits := uint8(bits.Len64(uint64(min(max(m.shardBytes/bytesPerHot, minHot), maxHot))) - 1)
	for i := range m.shards {
		s := &m.shards[i]
		s.hot, s.hotBits = make([]atomic.Pointer[hotItem], 1<<hotBits), hotBits
		s.table.Store(newTable(minTableSlots))
		s.dir.Store(&slabDir{base: 1})
		s.nextID = 1
		m.tagShards[i].tags = make(map[string]tagTimes)
	}
	m.markSeed = maphash.String(m.seed, "tags")
	for i := range m.marks {
		m.marks[i].Store(math.MinInt64)
	}
	return m
}

func newTable(n int) *memTable {
	return &memTable{slots: make([]atomic.Uint64, n), mask: uint64(n - 1)}
}

// hash returns the hash of key: its low bits choose the shard, its high
// bits the slot in the shard's table.
func (m *Memory) hash(key string) uint64 { return maphash.String(m.seed, key) }

func (m *Memory) shardOf(h uint64) *memShard { return &m.shards[h&m.mask] }

// home is the first slot a probe for a key whose hash's high half is hi
// looks at.
func (t *memTable) home(hi uint32) uint64 { return uint64(hi) & t.mask }

// lookup returns the location, slab and header of the record under key,
// whose hash's high half is hi, without locking; a zero loc when there is
// none.
func (s *memShard) lookup(key string, hi uint32) (loc, *slab, *recHdr) {
	// A slot can name a slab added after d was loaded, or one dropped since
	// t was: look again, a bounded number of times (writers would have to
	// move the record on every try to exhaust them).
	for range 100 {
		t, d := s.table.Load(), s.dir.Load()
		l, sl, h, again := t.probe(d, key, hi)
		if !again {
			return l, sl, h
		}
	}
	return 0, nil, nil
}

// probe is one lookup in t, whose records' slabs d has. again is true when
// a slot names a slab d does not have.
func (t *memTable) probe(d *slabDir, key string, hi uint32) (l loc, sl *slab, h *recHdr, again bool) {
	for i := t.home(hi); ; i = (i + 1) & t.mask {
		v := t.slots[i].Load()
		if v == 0 {
			return 0, nil, nil, false
		}
		if loc(v) == tombstone || !slotMay(v, hi) {
			continue
		}
		l := slotLoc(v)
		sl := d.get(l.slab())
		if sl == nil {
			return 0, nil, nil, true
		}
		h := sl.hdr(l.off())
		if h.hi == hi && sl.key(h) == key {
			return l, sl, h, false
		}
	}
}

// rec returns the slab and header of the record at l. The caller holds the
// shard's lock, and l is live.
func (s *memShard) rec(l loc) (*slab, *recHdr) {
	sl := s.dir.Load().get(l.slab())
	return sl, sl.hdr(l.off())
}

// slot returns the slot of the record under key, whose hash's high half is
// hi, or -1; and the first free slot (empty or tombstone) of its probe. The
// caller holds the shard's lock.
func (s *memShard) slot(t *memTable, key string, hi uint32) (at, free int) {
	free = -1
	d := s.dir.Load()
	for i := t.home(hi); ; i = (i + 1) & t.mask {
		v := t.slots[i].Load()
		switch {
		case v == 0:
			if free < 0 {
				free = int(i)
			}
			return -1, free
		case loc(v) == tombstone:
			if free < 0 {
				free = int(i)
			}
		case slotMay(v, hi):
			l := slotLoc(v)
			sl := d.get(l.slab())
			if h := sl.hdr(l.off()); h.hi == hi && sl.key(h) == key {
				return int(i), free
			}
		}
	}
}

// Get returns the item stored under key and marks it recently used. It never
// fails, and does not allocate for an item among those last read in its
// shard; it takes a lock only at the first read of the item after a write
// to the store.
func (m *Memory) Get(_ context.Context, key string) (*Item, bool, error) {
	it, _ := m.get(key)
	return it, it != nil, nil
}

// GetTagged returns the item stored under key, as Get does, and the state
// of its tags since it was made, as TagState(ctx, it.Tags, it.Created)
// reports it. After the item's tags were once found not revalidated, it
// answers from two atomic loads until the next RevalidateTags, of any tag.
// It never fails, and allocates only as Get does.
func (m *Memory) GetTagged(ctx context.Context, key string) (*Item, TagState, bool, error) {
	it, h := m.get(key)
	if it == nil {
		return nil, TagState{}, false, nil
	}
	g := m.gen.Load() + 1 // before the times are read
	checked := &h.checked
	if checked.Load() == g {
		return it, TagState{}, true, nil
	}
	st, _ := m.TagState(ctx, it.Tags, it.Created)
	if st == (TagState{}) {
		checked.Store(g)
	}
	return it, st, true, nil
}

// get returns the item under key and its record's header, and marks it
// recently used.
func (m *Memory) get(key string) (*Item, *recHdr) {
	hash := m.hash(key)
	s := m.shardOf(hash)
	l, sl, h := s.lookup(key, uint32(hash>>32))
	if l == 0 {
		return nil, nil
	}
	used := &h.used
	if epoch := uint32(m.epoch.Load()); used.Load() != epoch {
		s.mu.Lock()
		if h.dead == 0 {
			s.unlink(h)
			s.pushFront(l, h)
		}
		s.mu.Unlock()
		used.Store(epoch)
	}
	return s.ready(l, sl, h), h
}

// ready returns the item of the record at l, from the shard's hot items or
// made anew and kept there.
func (s *memShard) ready(l loc, sl *slab, h *recHdr) *Item {
	i := (uint64(l) * 0x9e3779b97f4a7c15) >> (64 - s.hotBits) &^ (hotWays - 1)
	set := s.hot[i : i+hotWays : i+hotWays]
	way := -1
	for j := range set {
		hi := set[j].Load()
		if hi == nil {
			if way < 0 {
				way = j
			}
			continue
		}
		if hi.loc == l {
			return &hi.it
		}
	}
	// A free slot, or a random one: under reads of more keys than ways in
	// turn, evicting the oldest would miss every time, a random one only
	// some of the time.
	if way < 0 {
		way = int(rand.Uint32N(hotWays))
	}
	hi := &hotItem{loc: l, it: sl.item(h)}
	set[way].Store(hi)
	// A slab dropped meanwhile (dropSlab clears its items after it leaves
	// the directory) must not be kept alive.
	if s.dir.Load().get(l.slab()) != sl {
		set[way].CompareAndSwap(hi, nil)
	}
	return &hi.it
}

var errNilItem = errors.New("store: nil item")

// Set stores a copy of it under key, replacing any previous item
// atomically, then evicts the least recently used items of key's shard
// while the shard holds more than its share of MaxBytes. An item charged
// more than that share is not stored, and the previous item under key is
// removed.
func (m *Memory) Set(_ context.Context, key string, it *Item) error {
	if it == nil {
		return errNilItem
	}
	bound, err := recordBound(key, it)
	switch {
	case errors.Is(err, errTooLarge):
		bound = math.MaxInt64 / 2 // over any share: not stored
	case err != nil:
		return err
	}
	epoch := m.epoch.Add(1)
	hash := m.hash(key)
	hi := uint32(hash >> 32)
	s := m.shardOf(hash)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	at, free := s.slot(t, key, hi)
	if m.charge(key, it, int64(bound)+tableSlotBytes) > m.shardBytes {
		if at >= 0 {
			s.remove(t, at)
		}
		return nil
	}
	l, h := m.appendRecord(s, key, hi, it, bound)
	h.used.Store(uint32(epoch))
	if at >= 0 {
		old := slotLoc(t.slots[at].Load())
		t.slots[at].Store(slotOf(l, hi))
		s.kill(old)
	} else {
		if t.slots[free].Load() == 0 {
			if (s.used+1)*4 > len(t.slots)*3 {
				t = s.rebuild(t)
				_, free = s.slot(t, key, hi)
			}
			s.used++
		}
		t.slots[free].Store(slotOf(l, hi))
		s.live++
	}
	s.pushFront(l, h)
	s.bytes += int64(h.size)
	for s.bytes+m.room(s) > m.shardBytes && s.lru != 0 {
		_, oh := s.rec(s.lru)
		at, _ := s.slot(t, s.dir.Load().get(s.lru.slab()).key(oh), oh.hi)
		s.remove(t, at)
		m.evictions.Add(1)
	}
	m.compact(s)
	return nil
}

// room returns the unused bytes of the shard's head slab, which its budget
// counts; none when the store counts in round numbers (tests). The caller
// holds the shard's lock.
func (m *Memory) room(s *memShard) int64 {
	if s.head == nil || m.noRoom {
		return 0
	}
	return int64(len(s.head.data) - s.head.used)
}

// tableSlotBytes is what a record's slot in its shard's table costs: 8
// bytes in a table a quarter to three quarters full, 16 on average.
const tableSlotBytes = 16

// appendRecord appends the record of it under key to the shard's slabs,
// charges it, and returns where it is. The caller holds the shard's lock.
func (m *Memory) appendRecord(s *memShard, key string, hi uint32, it *Item, bound int) (loc, *recHdr) {
	// Rounded up to what the allocator gives.
	size := min(maxSlab, max(minSlab, int(s.liveN/32), 8*bound), int(m.shardBytes/8))
	size = int(allocSize(int64(size), false))
	var sl *slab
	switch {
	case bound*4 > size:
		// A slab of its own, rounded to what the allocator gives.
		sl = s.addSlab(int(allocSize(int64(bound), false)), false)
	case s.head != nil && s.head.fits(bound):
		sl = s.head
	default:
		if s.head != nil {
			s.head.seal()
		}
		sl = s.addSlab(size, true)
		s.head = sl
	}
	if s.shapes == nil || len(s.shapes) >= maxShapes {
		s.shapes = make(map[uint64]http.Header)
	}
	off, n := sl.appendRecord(m.seed, s.shapes, key, hi, it, bound)
	h := sl.hdr(off)
	h.size = uint32(min(m.charge(key, it, n+tableSlotBytes), math.MaxUint32))
	sl.live++
	sl.liveN += n
	s.liveN += n
	return makeLoc(sl.id, off), h
}

// addSlab adds a slab of size bytes to the shard. The caller holds its
// lock.
func (s *memShard) addSlab(size int, head bool) *slab {
	id := s.nextID
	s.nextID++
	if s.nextID == math.MaxUint32 {
		s.nextID = 1
	}
	sl := newSlab(id, size, head)
	d := s.dir.Load()
	nd := &slabDir{base: d.base, slabs: make([]*slab, 0, len(d.slabs)+1)}
	nd.slabs = append(nd.slabs, d.slabs...)
	if len(nd.slabs) == 0 {
		nd.base = id
	}
	for uint32(len(nd.slabs)) != id-nd.base {
		nd.slabs = append(nd.slabs, nil) // the ids skipped at a wrap
	}
	nd.slabs = append(nd.slabs, sl)
	s.dir.Store(nd)
	s.alloc += sl.heapBytes()
	s.nslabs++
	return sl
}

// dropSlab drops sl, whose records are all dead. The caller holds the
// shard's lock.
func (s *memShard) dropSlab(sl *slab) {
	d := s.dir.Load()
	nd := &slabDir{base: d.base, slabs: append([]*slab(nil), d.slabs...)}
	nd.slabs[sl.id-d.base] = nil
	for len(nd.slabs) > 0 && nd.slabs[0] == nil {
		nd.slabs = nd.slabs[1:]
		nd.base++
		if nd.base == math.MaxUint32 {
			nd.base = 1
		}
	}
	if len(nd.slabs) == 0 {
		nd.base = s.nextID
	}
	s.dir.Store(nd)
	s.alloc -= sl.heapBytes()
	s.nslabs--
	if sl == s.head {
		s.head = nil
	}
	for i := range s.hot {
		if hi := s.hot[i].Load(); hi != nil && hi.loc.slab() == sl.id {
			s.hot[i].CompareAndSwap(hi, nil)
		}
	}
}

// kill marks the record at l dead, takes it out of the LRU list and the
// counts, and drops its slab if that was its last live record. The caller
// holds the shard's lock and has taken l out of the table.
func (s *memShard) kill(l loc) {
	sl, h := s.rec(l)
	s.unlink(h)
	h.dead = 1
	s.bytes -= int64(h.size)
	n := int64(h.span)
	sl.live--
	sl.liveN -= n
	s.liveN -= n
	if sl.live == 0 && sl != s.head {
		s.dropSlab(sl)
	}
}

// compact copies forward the live records of the shard's sparsest slab
// while its slabs take over a quarter more than its live records (and more
// than two slabs of slack), or hold more than twice as many ids as slabs
// (a long-lived slab behind many dropped ones). At most two slabs per call:
// each Set adds at most one record. The caller holds the shard's lock.
func (m *Memory) compact(s *memShard) {
	for range 2 {
		room := int64(minSlab)
		if s.head != nil {
			room = int64(len(s.head.data))
		}
		slack := s.alloc - s.liveN - s.liveN/4 - 2*room
		d := s.dir.Load()
		if slack <= 0 && len(d.slabs) <= 2*s.nslabs+8 {
			return
		}
		var victim *slab
		if slack <= 0 {
			victim = d.slabs[0] // the oldest
		} else {
			for _, sl := range d.slabs {
				if sl == nil || sl == s.head {
					continue
				}
				if victim == nil || sl.liveN*int64(len(victim.data)) < victim.liveN*int64(len(sl.data)) {
					victim = sl
				}
			}
		}
		if victim == nil {
			return
		}
		if victim == s.head {
			// The oldest slab is still the head: new records go to a new one.
			victim.seal()
			s.head = nil
		}
		m.moveLive(s, victim)
	}
}

// moveLive re-appends the live records of sl to the shard's head, keeping
// their places in the LRU list and their state, and drops sl. The caller
// holds the shard's lock.
func (m *Memory) moveLive(s *memShard, sl *slab) {
	t := s.table.Load()
	for off := 0; off+recHdrBytes <= sl.used; {
		h := sl.hdr(off)
		next := min((off+int(h.n)+7)&^7, sl.used)
		if h.n == 0 {
			break
		}
		if h.dead == 0 {
			key := sl.key(h)
			it := sl.item(h)
			bound, _ := recordBound(key, &it) // it was stored: it fits
			l, nh := m.appendRecord(s, key, h.hi, &it, bound)
			nh.size = h.size
			nh.used.Store(h.used.Load())
			nh.checked.Store(h.checked.Load())
			// Take h's place in the LRU list.
			nh.newer, nh.older = h.newer, h.older
			if h.newer != 0 {
				_, o := s.rec(h.newer)
				o.older = l
			} else {
				s.mru = l
			}
			if h.older != 0 {
				_, o := s.rec(h.older)
				o.newer = l
			} else {
				s.lru = l
			}
			h.newer, h.older = 0, 0
			at, _ := s.slot(t, key, h.hi)
			t.slots[at].Store(slotOf(l, h.hi))
			h.dead = 1
			n := int64(h.span)
			sl.live--
			sl.liveN -= n
			s.liveN -= n
		}
		off = next
	}
	if sl != s.head {
		s.dropSlab(sl)
	}
}

// rebuild replaces t, the shard's table, by one without tombstones, sized
// for the live records to fill between a quarter and a half of it, and
// returns it. The caller holds the shard's lock.
func (s *memShard) rebuild(t *memTable) *memTable {
	n := max(minTableSlots, 1<<bits.Len(uint((s.live+1)*2-1)))
	nt := newTable(n)
	for i := range t.slots {
		v := t.slots[i].Load()
		if v == 0 || loc(v) == tombstone {
			continue
		}
		_, h := s.rec(slotLoc(v))
		j := nt.home(h.hi)
		for nt.slots[j].Load() != 0 {
			j = (j + 1) & nt.mask
		}
		nt.slots[j].Store(v)
	}
	s.table.Store(nt)
	s.used = s.live
	return nt
}

// remove removes the record in slot at of t, the shard's table. The caller
// holds the shard's lock.
func (s *memShard) remove(t *memTable, at int) {
	l := slotLoc(t.slots[at].Load())
	t.slots[at].Store(uint64(tombstone))
	s.live--
	s.kill(l)
}

// pushFront makes the record h at l the most recently used. The caller
// holds the shard's lock.
func (s *memShard) pushFront(l loc, h *recHdr) {
	h.newer, h.older = 0, s.mru
	if s.mru != 0 {
		_, o := s.rec(s.mru)
		o.newer = l
	} else {
		s.lru = l
	}
	s.mru = l
}

// unlink takes h out of the LRU list. The caller holds the shard's lock.
func (s *memShard) unlink(h *recHdr) {
	if h.newer != 0 {
		_, o := s.rec(h.newer)
		o.older = h.older
	} else {
		s.mru = h.older
	}
	if h.older != 0 {
		_, o := s.rec(h.older)
		o.newer = h.newer
	} else {
		s.lru = h.newer
	}
	h.newer, h.older = 0, 0
}

// Delete removes the item under key, if any. It never fails.
func (m *Memory) Delete(_ context.Context, key string) error {
	h := m.hash(key)
	s := m.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	if at, _ := s.slot(t, key, uint32(h>>32)); at >= 0 {
		s.remove(t, at)
		m.compact(s)
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
		n += s.bytes + m.room(s)
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
