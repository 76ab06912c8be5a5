package redis

import (
	"encoding/binary"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

// version is the first byte of every encoded item. A value that starts with
// another byte is not an item this package wrote, and reads as absent.
const version = 1

// headerLen is the fixed part of an encoded item: version, created,
// revalidate, expire and status.
const headerLen = 1 + 8 + 8 + 8 + 2

var errCorrupt = errors.New("redis: corrupt item")

// encodeItem encodes it as described in the package documentation:
//
//	version     1 byte (1)
//	created     8 bytes: unix nanoseconds, big-endian, sign bit flipped
//	revalidate  8 bytes: regen.Revalidate, big-endian
//	expire      8 bytes: nanoseconds, big-endian
//	status      2 bytes, big-endian
//	header      uvarint count, then per name: uvarint length, name,
//	            uvarint count of values, then per value: uvarint length, value
//	tags        uvarint count, then per tag: uvarint length, tag
//	body        the rest
//
// Flipping the sign bit makes the byte order of created its time order, so
// Lua scripts compare two items' ages bytewise.
func encodeItem(it *store.Item) []byte {
	n := headerLen + binary.MaxVarintLen64*2 + len(it.Body)
	for k, vs := range it.Header {
		n += binary.MaxVarintLen64*2 + len(k)
		for _, v := range vs {
			n += binary.MaxVarintLen64 + len(v)
		}
	}
	for _, t := range it.Tags {
		n += binary.MaxVarintLen64 + len(t)
	}
	b := make([]byte, 0, n)
	b = append(b, version)
	b = binary.BigEndian.AppendUint64(b, timeBits(it.Created))
	b = binary.BigEndian.AppendUint64(b, uint64(it.Revalidate.Raw()))
	b = binary.BigEndian.AppendUint64(b, uint64(it.Expire))
	b = binary.BigEndian.AppendUint16(b, uint16(it.Status))
	b = binary.AppendUvarint(b, uint64(len(it.Header)))
	for k, vs := range it.Header {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(it.Tags)))
	for _, t := range it.Tags {
		b = appendString(b, t)
	}
	return append(b, it.Body...)
}

// decodeItem decodes an item encoded by encodeItem. The item's Body shares
// b's memory: b must not be modified afterwards.
func decodeItem(b []byte) (*store.Item, error) {
	if len(b) < headerLen || b[0] != version {
		return nil, errCorrupt
	}
	it := &store.Item{
		Created:    bitsTime(binary.BigEndian.Uint64(b[1:])),
		Revalidate: regen.RawRevalidate(int64(binary.BigEndian.Uint64(b[9:]))),
		Expire:     time.Duration(binary.BigEndian.Uint64(b[17:])),
		Status:     int(binary.BigEndian.Uint16(b[25:])),
	}
	d := decoder{b: b[headerLen:]}
	if n := d.count(); n > 0 {
		it.Header = make(http.Header, n)
		for range n {
			k := d.string()
			nv := d.count()
			vs := make([]string, nv)
			for i := range vs {
				vs[i] = d.string()
			}
			it.Header[k] = vs
		}
	}
	if n := d.count(); n > 0 {
		it.Tags = make([]string, n)
		for i := range it.Tags {
			it.Tags[i] = d.string()
		}
	}
	if d.bad {
		return nil, errCorrupt
	}
	if len(d.b) > 0 {
		it.Body = d.b[:len(d.b):len(d.b)]
	}
	return it, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads length-prefixed fields; a short or malformed input sets bad.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of fields that each take at least one byte, so a
// corrupt count cannot make the decoder allocate more than the input.
func (d *decoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		d.bad = true
		d.b = nil
		return 0
	}
	return int(v)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad = true
		d.b = nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) bytes(n int) []byte {
	if n > len(d.b) {
		d.bad = true
		d.b = nil
		return make([]byte, n)
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

// timeBits maps t to an unsigned number whose order is t's: unix
// nanoseconds with the sign bit flipped. The zero time maps to 0, and times
// outside the years 1678 to 2262 are clamped to them.
func timeBits(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(unixNano(t)) ^ 1<<63
}

// bitsTime is the inverse of timeBits.
func bitsTime(u uint64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(u^1<<63))
}

// Limits of UnixNano: times beyond them are clamped, as store.Memory does.
var (
	minUnixNano = time.Unix(0, math.MinInt64+1)
	maxUnixNano = time.Unix(0, math.MaxInt64)
)

// unixNano returns t in unix nanoseconds, clamped to the range of int64
// less its lowest value, which timeBits keeps for the zero time.
func unixNano(t time.Time) int64 {
	if t.Before(minUnixNano) {
		return math.MinInt64 + 1
	}
	if t.After(maxUnixNano) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Messages on the channel, one kind byte then the sender's id:
//
//	'T' tags revalidated: uvarint count, then per tag: uvarint length, tag,
//	    8 bytes stale time, 8 bytes expire time (timeBits; 0: not in that mode)
//	'K' an item was set: 8 bytes created (timeBits), then the key
//	'D' an item was deleted: 8 bytes upTo (timeBits; all ones: any), then the key
const (
	msgTags = 'T'
	// msgTags32 is msgTags with 32 bytes of times per tag (stale, expire,
	// marked, deadline): sent only when a tag has a profile revalidation,
	// so that instances of earlier versions keep reading the others.
	msgTags32 = 'U'
	msgSet    = 'K'
	msgDelete = 'D'
)

// idLen is the length of an instance id.
const idLen = 8

// anyTime as a Delete's upTo deletes whatever item is stored.
const anyTime = ^uint64(0)

// tagTimes are a tag's latest revalidation times, as timeBits; 0 when the
// tag was not revalidated in that mode. marked and deadline are its latest
// revalidation by a cache profile (a mode with an expire) and when that
// expires what was made before it; 0 when none.
type tagTimes struct{ stale, expire, marked, deadline uint64 }

// merge keeps the later time of each mode, and the later profile
// revalidation's pair (at the same instant, the earlier deadline), as
// store.Memory and tagsScript do.
func (t tagTimes) merge(o tagTimes) tagTimes {
	m := tagTimes{max(t.stale, o.stale), max(t.expire, o.expire), t.marked, t.deadline}
	if o.marked != 0 && (o.marked > t.marked || o.marked == t.marked && o.deadline < t.deadline) {
		m.marked, m.deadline = o.marked, o.deadline
	}
	return m
}

// modeTimes returns the times a revalidation at at in mode records.
func modeTimes(mode regen.RevalidateMode, at time.Time) tagTimes {
	bits := timeBits(at)
	switch d, bounded := mode.ExpireAfter(); {
	case bounded && d == 0:
		return tagTimes{expire: bits}
	case bounded:
		return tagTimes{stale: bits, marked: bits, deadline: timeBits(at.Add(d))}
	}
	return tagTimes{stale: bits}
}

// encode returns the bytes kept in the tag hash: stale then expire, 16
// bytes, as earlier versions wrote them; then marked and deadline, 32 bytes
// in all, when the tag has a profile revalidation.
func (t tagTimes) encode() []byte {
	n := 16
	if t.marked != 0 {
		n = 32
	}
	b := make([]byte, n)
	binary.BigEndian.PutUint64(b, t.stale)
	binary.BigEndian.PutUint64(b[8:], t.expire)
	if n == 32 {
		binary.BigEndian.PutUint64(b[16:], t.marked)
		binary.BigEndian.PutUint64(b[24:], t.deadline)
	}
	return b
}

func decodeTagTimes(s string) (tagTimes, bool) {
	if len(s) != 16 && len(s) != 32 {
		return tagTimes{}, false
	}
	b := []byte(s)
	t := tagTimes{stale: binary.BigEndian.Uint64(b), expire: binary.BigEndian.Uint64(b[8:])}
	if len(b) == 32 {
		t.marked, t.deadline = binary.BigEndian.Uint64(b[16:]), binary.BigEndian.Uint64(b[24:])
	}
	return t, true
}

// tagEntry is one tag of a revalidation.
type tagEntry struct {
	tag string
	tagTimes
}

// message is a decoded message.
type message struct {
	kind byte
	from [idLen]byte
	tags []tagEntry // msgTags
	key  string     // msgSet, msgDelete
	at   uint64     // msgSet: created; msgDelete: upTo
}

func encodeTagsMsg(from [idLen]byte, entries []tagEntry) []byte {
	kind, size := byte(msgTags), 16
	for _, e := range entries {
		if e.marked != 0 {
			kind, size = msgTags32, 32
		}
	}
	n := 1 + idLen + binary.MaxVarintLen64
	for _, e := range entries {
		n += binary.MaxVarintLen64 + len(e.tag) + size
	}
	b := make([]byte, 0, n)
	b = append(b, kind)
	b = append(b, from[:]...)
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = appendString(b, e.tag)
		b = binary.BigEndian.AppendUint64(b, e.stale)
		b = binary.BigEndian.AppendUint64(b, e.expire)
		if size == 32 {
			b = binary.BigEndian.AppendUint64(b, e.marked)
			b = binary.BigEndian.AppendUint64(b, e.deadline)
		}
	}
	return b
}

func encodeKeyMsg(kind byte, from [idLen]byte, at uint64, key string) []byte {
	b := make([]byte, 0, 1+idLen+8+len(key))
	b = append(b, kind)
	b = append(b, from[:]...)
	b = binary.BigEndian.AppendUint64(b, at)
	return append(b, key...)
}

func decodeMessage(s string) (message, error) {
	var m message
	if len(s) < 1+idLen {
		return m, errCorrupt
	}
	b := []byte(s)
	m.kind = b[0]
	copy(m.from[:], b[1:])
	d := decoder{b: b[1+idLen:]}
	switch m.kind {
	case msgTags, msgTags32:
		size := 16
		if m.kind == msgTags32 {
			size = 32
		}
		n := d.count()
		m.tags = make([]tagEntry, n)
		for i := range m.tags {
			m.tags[i].tag = d.string()
			t := d.bytes(size)
			if len(t) < size {
				d.bad = true
				break
			}
			m.tags[i].tagTimes, _ = decodeTagTimes(string(t))
		}
		m.kind = msgTags
	case msgSet, msgDelete:
		m.at = binary.BigEndian.Uint64(d.bytes(8))
		m.key = string(d.b)
	default:
		return m, errCorrupt
	}
	if d.bad {
		return m, errCorrupt
	}
	return m, nil
}
