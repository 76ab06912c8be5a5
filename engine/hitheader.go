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
// its address is not reused) but not its entry. It is safe for concurrent
// use.
type hitHeaders [hitHeaderSlots]atomic.Pointer[flatHeader]

const (
	hitHeaderBits  = 10
	hitHeaderSlots = 1 << hitHeaderBits
)

// flatHeader is a Header as a list.
type flatHeader struct {
	hdr      http.Header
	kv       []headerValues
	partial  bool // a partial route's shell (holesHeader)
	location bool // it has a Location
	etag     string
}

type headerValues struct {
	name string
	vs   []string
}

// mapAddr is the address of h's map.
func mapAddr(h http.Header) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&h)) }

// of returns ent's header as a list.
func (x *hitHeaders) of(ent *routecache.Entry) *flatHeader {
	p := mapAddr(ent.Header)
	slot := &x[(uint64(uintptr(p))*0x9e3779b97f4a7c15)>>(64-hitHeaderBits)]
	if f := slot.Load(); f != nil && mapAddr(f.hdr) == p {
		return f
	}
	f := &flatHeader{hdr: ent.Header, kv: make([]headerValues, 0, len(ent.Header))}
	for k, vs := range ent.Header {
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
		f.kv = append(f.kv, headerValues{k, vs})
	}
	slot.Store(f)
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
