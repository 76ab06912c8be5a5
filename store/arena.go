package store

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/regen-dev/regen"
)

// Memory keeps its items in slabs: large byte slices that hold no
// pointers, so that the garbage collector's work does not grow with the
// number of items (as in bigcache and freecache). A slab holds records, one
// per item, appended one after the other and never changed afterwards but
// for the fields a reader updates atomically (recency, the tag check) and
// those the shard's lock protects (the LRU links, the dead mark). A slab is
// dropped when its last record dies, or copied forward (its live records
// re-appended to the shard's newest slab) when it is mostly dead, so the
// heap stays close to what the live records take.
//
// A record starts, 8-byte aligned, with a recHdr, followed by its tag
// references (tagRefBytes each: the offset and length of the tag's bytes in
// the slab), its per-item header values (valRefBytes each: the header name's
// index in perItemHeaders, the offset and the length of the value), the
// bytes of the strings it was the first in the slab to use, and its body.
// Strings (the key, tags, header values) are shared within a slab: a tag the
// slab already holds, or a key that ends a tag (as a path ends its own
// implicit tag), costs no bytes.
//
// An item's headers are split in two: the values that are usually different
// for every item (perItemHeaders: the ETag, the length, the dates), kept in
// the record (a Content-Length that is the body's length as a flag), and
// the rest, its shape: one map, which the records with an equal shape (a
// route's pages) share, listed in each slab that holds one of them and
// kept by the shard for its next slabs.

// recHdr is the fixed part of a record. Its layout is its Go layout: it is
// read and written in place through an unsafe.Pointer into the slab.
type recHdr struct {
	checked    atomic.Uint64 // 1 + the tag generation at which the tags were found not revalidated
	newer      loc           // the shard's LRU list, under its lock
	older      loc
	created    int64         // Created in unix nanoseconds (clamped to 1678-2262)
	revalidate int64         // Revalidate.Raw()
	expire     int64         // Expire
	size       uint32        // the record's charge
	used       atomic.Uint32 // the store's epoch when the record's use was last recorded
	hi         uint32        // the high half of the key's hash
	n          uint32        // bytes from the header's start to the record's end, where its body ends
	span       uint32        // bytes the record took from the slab, alignment included, and from the heap for its shape
	keyOff     uint32
	bodyLen    uint32
	keyLen     uint16
	status     int16
	shape      uint16 // 1 + index in the slab's headers; 0: a nil Header
	ntags      uint16
	nvals      uint8
	flags      uint8 // recNilBody, recNilTags, recLocal, recZeroTime, recLength: set before the record is published
	dead       uint8 // set under the shard's lock when the record is removed
}

const (
	recNilBody = 1 << iota
	recNilTags
	recLocal    // Created is in time.Local
	recZeroTime // Created is the zero time
	recLength   // Header has a Content-Length of len(Body), not kept
)

const (
	recHdrBytes = int(unsafe.Sizeof(recHdr{}))
	tagRefBytes = 6 // offset (4 bytes), length (2)
	valRefBytes = 7 // name (1 byte), offset (4), length (2)
	// maxTags is the most tags a record can carry, maxStr the longest tag
	// or per-item header value.
	maxTags = math.MaxUint16
	maxStr  = math.MaxUint16
)

// perItemHeaders are the headers an item keeps in its record rather than in
// its shape, when they have one value: their values usually differ from one
// item to the next. Sorted.
var perItemHeaders = [...]string{"Content-Length", "Date", "Etag", "Expires", "Last-Modified"}

// perItem returns the index in perItemHeaders of the header name whose
// values are vs, if the record keeps its value; else -1.
func perItem(name string, vs []string) int {
	if len(vs) != 1 || len(vs[0]) > maxStr {
		return -1
	}
	switch name {
	case "Content-Length":
		return 0
	case "Date":
		return 1
	case "Etag":
		return 2
	case "Expires":
		return 3
	case "Last-Modified":
		return 4
	}
	return -1
}

// loc is where a record is: its slab's id in the high 32 bits, and its
// offset in the slab over 8 in the low 32, which is under 1<<15 (records
// start below maxSlab; a slab of its own holds one at 0), so a table slot
// can keep hash bits in bits 16 to 31 (slotOf). Slab ids start at 1 and
// skip math.MaxUint32, so no loc is 0 (an empty table slot) or tombstone.
type loc uint64

const tombstone = ^loc(0)

func makeLoc(id uint32, off int) loc { return loc(id)<<32 | loc(off/8) }
func (l loc) slab() uint32           { return uint32(l >> 32) }
func (l loc) off() int               { return int(uint32(l)) * 8 }

// slab is a block of records. data holds no pointers; headers holds the
// shapes its records' headers refer to.
type slab struct {
	id   uint32
	data []byte
	// headers are the shapes: an entry is set before the first record
	// using it is published; a full slice is replaced by a copy twice as
	// long, which readers of the old one do not need.
	headers atomic.Pointer[[]http.Header]

	// Under the shard's lock.
	used    int   // bytes appended
	nshapes int   // headers in use
	live    int   // live records
	liveN   int64 // their bytes
	// While the slab is the shard's head (new records go to it), where
	// strings it holds are (by a hash of the string: the offset in the high
	// half, the length in the low; the latest string of each hash) and
	// which shapes it holds, to share them; nil once sealed.
	strs   *[strSlots]uint64
	shapes map[uint64]uint16
}

// strSlots is the number of strings a head slab remembers.
const strSlots = 128

// Slab sizes: a shard's head slab takes a thirty-second of the bytes the
// shard's records hold, and at least eight times the record that starts it,
// between minSlab and maxSlab, and at most an eighth of the shard's budget,
// which counts its unused bytes; a record over a quarter of that gets a
// slab of its own.
const (
	minSlab = 4 << 10
	maxSlab = 256 << 10
)

func newSlab(id uint32, size int, head bool) *slab {
	sl := &slab{id: id, data: make([]byte, size)}
	hs := make([]http.Header, 2)
	sl.headers.Store(&hs)
	if head {
		sl.strs = new([strSlots]uint64)
		sl.shapes = make(map[uint64]uint16)
	}
	return sl
}

// seal stops sharing the slab's strings and shapes with new records.
func (sl *slab) seal() { sl.strs, sl.shapes = nil, nil }

// heapBytes is what the slab costs in the heap, but for its shapes, which
// the records that add them are charged.
func (sl *slab) heapBytes() int64 {
	return allocSize(int64(len(sl.data)), false) + allocSize(int64(unsafe.Sizeof(slab{})), true)
}

// hdr returns the record header at off.
func (sl *slab) hdr(off int) *recHdr {
	return (*recHdr)(unsafe.Pointer(&sl.data[off]))
}

// str returns the string of n bytes at off, sharing the slab's memory.
func (sl *slab) str(off, n uint32) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&sl.data[off], int(n))
}

// key returns the key of the record h.
func (sl *slab) key(h *recHdr) string { return sl.str(h.keyOff, uint32(h.keyLen)) }

// recordBound returns the most bytes a record of it under key can take in
// a slab, alignment included. It fails for an item a record cannot hold.
func recordBound(key string, it *Item) (int, error) {
	if len(it.Tags) > maxTags {
		return 0, errManyTags
	}
	if int(int16(it.Status)) != it.Status {
		return 0, errStatus
	}
	if len(key) > maxStr {
		return 0, errLongKey
	}
	n := recHdrBytes + len(it.Tags)*tagRefBytes + len(key) + len(it.Body) + 7
	for _, t := range it.Tags {
		if len(t) > maxStr {
			return 0, errLongTag
		}
		n += len(t)
	}
	for k, vs := range it.Header {
		if perItem(k, vs) >= 0 {
			n += valRefBytes + len(vs[0])
		}
	}
	if n > math.MaxUint32/2 {
		return 0, errTooLarge
	}
	return n, nil
}

var (
	errManyTags = errors.New("store: item has over 65535 tags")
	errLongTag  = errors.New("store: item has a tag over 65535 bytes")
	errStatus   = errors.New("store: item status out of range")
	errLongKey  = errors.New("store: key over 65535 bytes")
	// errTooLarge is not returned by Set: such an item is over any
	// shard's share, so it is not stored.
	errTooLarge = errors.New("store: item over 2 GiB")
)

// fits reports whether n more bytes fit in sl.
func (sl *slab) fits(n int) bool {
	return sl.used+n <= len(sl.data)
}

// put appends s to the slab's bytes, or finds it there, and returns its
// offset.
func (sl *slab) put(seed maphash.Seed, s string) uint32 {
	if s == "" {
		return uint32(sl.used)
	}
	var slot *uint64
	if sl.strs != nil {
		slot = &sl.strs[maphash.String(seed, s)%strSlots]
		if off, n := uint32(*slot>>32), uint32(*slot); int(n) == len(s) && sl.str(off, n) == s {
			return off
		}
	}
	off := uint32(sl.used)
	sl.used += copy(sl.data[sl.used:], s)
	if slot != nil {
		*slot = uint64(off)<<32 | uint64(len(s))
	}
	return off
}

// shapeOf returns the index+1 of the shape of h in the slab's headers,
// adding it when the slab has none equal, and the heap bytes that added.
// Shapes are shared across a shard's slabs through shared, which the
// caller bounds.
func (sl *slab) shapeOf(seed maphash.Seed, h http.Header, shared map[uint64]http.Header) (uint16, int64) {
	if h == nil {
		return 0, 0
	}
	sum := shapeHash(seed, h)
	hs := *sl.headers.Load()
	if i, ok := sl.shapes[sum]; ok && sameShape(hs[i-1], h) {
		return i, 0
	}
	var cost int64
	shape, ok := shared[sum]
	if !ok || !sameShape(shape, h) {
		shape, cost = h, headerBytes(h)
		if hasPerItem(h) {
			shape = make(http.Header, len(h))
			for k, vs := range h {
				if perItem(k, vs) < 0 {
					shape[k] = vs
				}
			}
			cost = headerBytes(shape)
		}
		shared[sum] = shape
	}
	if sl.nshapes == len(hs) { // never over 65535: a record is over 96 bytes, a slab under 6 MiB
		grown := make([]http.Header, 2*len(hs))
		copy(grown, hs)
		hs = grown
		sl.headers.Store(&grown)
	}
	hs[sl.nshapes] = shape
	sl.nshapes++
	cost += 16 // its slot, and the slot's share of the growth
	i := uint16(sl.nshapes)
	if sl.shapes != nil {
		sl.shapes[sum] = i
	}
	return i, cost
}

func hasPerItem(h http.Header) bool {
	for k, vs := range h {
		if perItem(k, vs) >= 0 {
			return true
		}
	}
	return false
}

// shapeHash hashes the shape of h: its headers but the per-item values, in
// any order.
func shapeHash(seed maphash.Seed, h http.Header) uint64 {
	var sum uint64
	var mh maphash.Hash
	mh.SetSeed(seed)
	for k, vs := range h {
		if perItem(k, vs) >= 0 {
			continue
		}
		mh.Reset()
		mh.WriteString(k)
		for _, v := range vs {
			mh.WriteByte(0)
			mh.WriteString(v)
		}
		sum += mh.Sum64()
	}
	return sum
}

// sameShape reports whether shape is the shape of h.
func sameShape(shape, h http.Header) bool {
	n := 0
	for k, vs := range h {
		if perItem(k, vs) >= 0 {
			continue
		}
		n++
		if sv, ok := shape[k]; !ok || !slices.Equal(sv, vs) {
			return false
		}
	}
	return n == len(shape)
}

// appendRecord appends the record of it under key, whose hash's high half
// is hi, to sl, which has room for bound bytes (recordBound) and a shape,
// and returns its offset and the bytes it took from the slab and the heap.
// shapes are the shapes the shard shares across its slabs.
// The caller holds the shard's lock.
func (sl *slab) appendRecord(seed maphash.Seed, shapes map[uint64]http.Header, key string, hi uint32, it *Item, bound int) (int, int64) {
	start := sl.used
	off := (start + 7) &^ 7
	sl.used = off + recHdrBytes
	h := sl.hdr(off)
	*h = recHdr{}
	h.hi = hi
	h.status = int16(it.Status)
	switch {
	case it.Created.IsZero():
		h.flags |= recZeroTime
	default:
		h.created = unixNano(it.Created)
		if it.Created.Location() == time.Local {
			h.flags |= recLocal
		}
	}
	h.revalidate, h.expire = it.Revalidate.Raw(), int64(it.Expire)
	if it.Body == nil {
		h.flags |= recNilBody
	}
	if it.Tags == nil {
		h.flags |= recNilTags
	}
	if derivedLength(it) {
		h.flags |= recLength
	}

	refs := sl.used
	h.ntags = uint16(len(it.Tags))
	sl.used += len(it.Tags) * tagRefBytes
	for k, vs := range it.Header {
		if i := perItem(k, vs); i > 0 || i == 0 && h.flags&recLength == 0 {
			h.nvals++
		}
	}
	sl.used += int(h.nvals) * valRefBytes

	// The key: inside a tag that ends with it, if one does; else its own.
	keyOff, keyed := uint32(0), false
	for i, t := range it.Tags {
		o := sl.put(seed, t)
		binary.LittleEndian.PutUint32(sl.data[refs+i*tagRefBytes:], o)
		binary.LittleEndian.PutUint16(sl.data[refs+i*tagRefBytes+4:], uint16(len(t)))
		if !keyed && len(t) >= len(key) && t[len(t)-len(key):] == key {
			keyOff, keyed = o+uint32(len(t)-len(key)), true
		}
	}
	if !keyed {
		keyOff = sl.put(seed, key)
	}
	h.keyOff, h.keyLen = keyOff, uint16(len(key))

	vr := refs + len(it.Tags)*tagRefBytes
	for k, vs := range it.Header {
		i := perItem(k, vs)
		if i < 0 || i == 0 && h.flags&recLength != 0 {
			continue
		}
		o := sl.put(seed, vs[0])
		sl.data[vr] = byte(i)
		binary.LittleEndian.PutUint32(sl.data[vr+1:], o)
		binary.LittleEndian.PutUint16(sl.data[vr+5:], uint16(len(vs[0])))
		vr += valRefBytes
	}
	var cost int64
	h.shape, cost = sl.shapeOf(seed, it.Header, shapes)

	h.bodyLen = uint32(len(it.Body))
	sl.used += copy(sl.data[sl.used:], it.Body)
	h.n = uint32(sl.used - off)
	if sl.used-start > bound {
		panic("store: record over its bound")
	}
	sl.used = min((sl.used+7)&^7, len(sl.data))
	h.span = uint32(int64(sl.used-start) + cost)
	return off, int64(h.span)
}

// item returns the item the record h holds. Its tags, key and body share
// the slab's memory; its Header is the record's shape, or a copy of it
// with the record's own values (copied) added; its Tags are new.
func (sl *slab) item(h *recHdr) Item {
	it := Item{
		Status:     int(h.status),
		Revalidate: regen.RawRevalidate(h.revalidate),
		Expire:     time.Duration(h.expire),
	}
	switch {
	case h.flags&recZeroTime != 0:
	case h.flags&recLocal != 0:
		it.Created = time.Unix(0, h.created)
	default:
		it.Created = time.Unix(0, h.created).UTC()
	}
	off := sl.hdrOff(h)
	if h.flags&recNilBody == 0 {
		end := off + int(h.n)
		it.Body = sl.data[end-int(h.bodyLen) : end : end]
	}
	refs := off + recHdrBytes
	length := h.flags&recLength != 0
	nvals := int(h.nvals)
	if length {
		nvals++
	}
	// The tags and the header values share one allocation.
	var strs []string
	if n := nvals + int(h.ntags); n > 0 {
		strs = make([]string, n)
	}
	if h.flags&recNilTags == 0 {
		it.Tags = []string{}
		if h.ntags > 0 {
			it.Tags = strs[:h.ntags:h.ntags]
		}
		for i := range it.Tags {
			r := sl.data[refs+i*tagRefBytes:]
			it.Tags[i] = sl.str(binary.LittleEndian.Uint32(r), uint32(binary.LittleEndian.Uint16(r[4:])))
		}
	}
	var shape http.Header
	if h.shape > 0 {
		shape = (*sl.headers.Load())[h.shape-1]
	}
	if nvals == 0 {
		it.Header = shape
		return it
	}
	it.Header = make(http.Header, len(shape)+nvals)
	for k, vs := range shape {
		it.Header[k] = vs
	}
	// The values are copied, in one string: a header is often kept apart
	// from its item (the engine keeps the headers of recent hits), and
	// must not keep the slab alive. The derived Content-Length goes last.
	vals := strs[h.ntags:]
	vr := refs + int(h.ntags)*tagRefBytes
	n := 0
	for i := range h.nvals {
		n += int(binary.LittleEndian.Uint16(sl.data[vr+int(i)*valRefBytes+5:]))
	}
	buf := make([]byte, 0, n+10)
	for i := range h.nvals {
		r := sl.data[vr+int(i)*valRefBytes:]
		buf = append(buf, sl.str(binary.LittleEndian.Uint32(r[1:]), uint32(binary.LittleEndian.Uint16(r[5:])))...)
	}
	if length {
		buf = strconv.AppendUint(buf, uint64(h.bodyLen), 10)
	}
	all := unsafe.String(unsafe.SliceData(buf), len(buf)) // buf is not changed after
	for i := range h.nvals {
		r := sl.data[vr+int(i)*valRefBytes:]
		m := int(binary.LittleEndian.Uint16(r[5:]))
		vals[i], all = all[:m], all[m:]
		it.Header[perItemHeaders[r[0]]] = vals[i : i+1 : i+1]
	}
	if length {
		vals[nvals-1] = all
		it.Header["Content-Length"] = vals[nvals-1:]
	}
	return it
}

// derivedLength reports whether it has a Content-Length of one value that
// is len(it.Body) in decimal, which the record derives rather than keeps.
func derivedLength(it *Item) bool {
	vs := it.Header["Content-Length"]
	if len(vs) != 1 {
		return false
	}
	var b [20]byte
	return string(strconv.AppendUint(b[:0], uint64(len(it.Body)), 10)) == vs[0]
}

// hdrOff returns the offset of h in the slab.
func (sl *slab) hdrOff(h *recHdr) int {
	return int(uintptr(unsafe.Pointer(h)) - uintptr(unsafe.Pointer(&sl.data[0])))
}
