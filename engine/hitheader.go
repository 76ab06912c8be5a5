package engine

import (
	"net/http"
	"sync/atomic"
	"unsafe"

	"github.com/regen-dev/regen/routecache"
)

// hitHeaders remembers, for the entries last written, their headers as a
// list: copying a list into the response's header map costs a fraction of
// iterating the entry's map, which was the largest share of a HIT. Entries
// and their headers are immutable, and the store hands the same *Entry,
// with the same Header, to repeated reads of a path (store.Memory keeps
// the items last read; a route's pages without per-item values share one
// Header), so the list made for a Header map stays true. A slot holds the
// latest map whose address hashes to it, which keeps that map alive (so
// its address is not reused) but not its entry.
//
// A list is remembered only for a map written twice in a row among those
// hashing to its slot, and in place of a list not used since the last such
// attempt (a second chance, as in the CLOCK algorithm): a store that
// decodes an item anew for each read (store.Memory's items beyond those it
// keeps ready) hands a new map every time, and more maps than slots may be
// read in turn; remembering each would allocate on every HIT and evict the
// lists of the maps read often. The first sighting is only noted, by
// address, which keeps nothing alive: a reused address only makes a list
// be remembered one sighting early. It is safe for concurrent use.
type hitHeaders struct {
	lists [hitHeaderSlots]atomic.Pointer[flatHeader]
	seen  [hitHeaderSlots]atomic.Uintptr // the address of the latest map written that hashes to the slot
}

const (
	hitHeaderBits  = 12
	hitHeaderSlots = 1 << hitHeaderBits
)

// flatHeader is a Header as a list.
type flatHeader struct {
	hdr      http.Header
	kv       []headerValues
	partial  bool // a partial route's shell (holesHeader)
	location bool // it has a Location
	etag     string
	used     uint32 // 1: read since another map's list last asked for its slot; atomic (flatten returns a flatHeader by value)
}

type headerValues struct {
	name string
	vs   []string
}

// mapAddr is the address of h's map.
func mapAddr(h http.Header) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&h)) }

// of returns the list remembered for ent's header map, or nil: the caller
// makes one with flatten.
func (x *hitHeaders) of(ent *routecache.Entry) *flatHeader {
	p := mapAddr(ent.Header)
	i := (uint64(uintptr(p)) * 0x9e3779b97f4a7c15) >> (64 - hitHeaderBits)
	cur := x.lists[i].Load()
	if cur != nil && mapAddr(cur.hdr) == p {
		if atomic.LoadUint32(&cur.used) == 0 {
			atomic.StoreUint32(&cur.used, 1)
		}
		return cur
	}
	if x.seen[i].Swap(uintptr(p)) != uintptr(p) || cur != nil && atomic.SwapUint32(&cur.used, 0) != 0 {
		return nil
	}
	f := flatten(ent.Header, make([]headerValues, 0, len(ent.Header)))
	x.lists[i].Store(&f)
	return &f
}

// flatten returns h as a list, appended to kv.
func flatten(h http.Header, kv []headerValues) flatHeader {
	f := flatHeader{hdr: h}
	for k, vs := range h {
		switch k {
		case holesHeader:
			f.partial = true
		case "Location":
			f.location = len(vs) == 1
		case "Etag":
			if len(vs) > 0 {
				f.etag = vs[0]
			}
		}
		kv = append(kv, headerValues{k, vs})
	}
	f.kv = kv
	return f
}

// copyTo sets the headers of f on h, the Location prefixed for r.
func (f *flatHeader) copyTo(e *Engine, h http.Header, r *http.Request) {
	for _, kv := range f.kv {
		v := kv.vs
		if f.location && kv.name == "Location" {
			v = e.prefixed(r, v)
		}
		h[kv.name] = v
	}
}
