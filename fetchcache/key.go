package fetchcache

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// Key returns the cache key of req: a hash (xxhash, 128 bits, hex) over its
// method, URL, headers and body, prefixed "fetch:".
//
// The method "" counts as "GET". Headers are hashed by canonical name in
// sorted order, so the order in which they were set and the case of their
// names do not matter; headers without values, and the tracing headers
// traceparent and tracestate (which differ on every request), are left
// out, as Next.js leaves them out. Every field is length-prefixed, so no two
// different requests share a key by concatenation.
func Key(req *Request) string {
	var h hash128
	h.reset()
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	h.writeString(method)
	h.writeString(req.URL)
	h.writeHeader(req.Header)
	h.writeBytes(req.Body)
	return h.key("fetch:")
}

// memoKey returns the cache key of a Memoize call: "memo:" and a hash of the
// same kind as Key's over the number of parts and each part.
func memoKey(parts []string) string {
	var h hash128
	h.reset()
	h.writeLen(len(parts))
	for _, p := range parts {
		h.writeString(p)
	}
	return h.key("memo:")
}

// Seeds of the two 64-bit halves of a key's hash.
const (
	seedHi = 0
	seedLo = 0x9e3779b97f4a7c15
)

// hash128 is two xxhash digests with different seeds fed the same bytes: a
// 128-bit hash. Small fields are gathered in buf and written to the digests
// together. Reset it before use. Not safe for concurrent use.
type hash128 struct {
	hi, lo xxhash.Digest
	buf    [512]byte
	n      int // bytes of buf in use
}

func (h *hash128) reset() {
	h.hi.ResetWithSeed(seedHi)
	h.lo.ResetWithSeed(seedLo)
	h.n = 0
}

// flush writes the buffered bytes to the digests.
func (h *hash128) flush() {
	if h.n > 0 {
		h.hi.Write(h.buf[:h.n])
		h.lo.Write(h.buf[:h.n])
		h.n = 0
	}
}

func (h *hash128) writeLen(n int) {
	if h.n+8 > len(h.buf) {
		h.flush()
	}
	binary.LittleEndian.PutUint64(h.buf[h.n:], uint64(n))
	h.n += 8
}

// writeString writes s's length, then s.
func (h *hash128) writeString(s string) {
	h.writeLen(len(s))
	if len(s) > len(h.buf)-h.n {
		h.flush()
		if len(s) > len(h.buf) {
			h.hi.WriteString(s)
			h.lo.WriteString(s)
			return
		}
	}
	h.n += copy(h.buf[h.n:], s)
}

// writeBytes writes b's length, then b.
func (h *hash128) writeBytes(b []byte) {
	h.writeLen(len(b))
	if len(b) > len(h.buf)-h.n {
		h.flush()
		if len(b) > len(h.buf) {
			h.hi.Write(b)
			h.lo.Write(b)
			return
		}
	}
	h.n += copy(h.buf[h.n:], b)
}

// headerName is a header's name as set and canonicalized, with its values.
type headerName struct {
	canon, raw string
	values     []string
}

// writeHeader writes the number of distinct canonical names in hdr, then for
// each, in sorted order: the name, the number of its values, and the values,
// those of names that canonicalize alike in the order of their names as set.
func (h *hash128) writeHeader(hdr http.Header) {
	var buf [32]headerName
	names := buf[:0]
	for k, vs := range hdr {
		if len(vs) == 0 {
			continue
		}
		c := http.CanonicalHeaderKey(k)
		if c == "Traceparent" || c == "Tracestate" {
			continue
		}
		names = append(names, headerName{c, k, vs})
	}
	slices.SortFunc(names, func(a, b headerName) int {
		if c := cmp.Compare(a.canon, b.canon); c != 0 {
			return c
		}
		return cmp.Compare(a.raw, b.raw)
	})
	distinct := 0
	for i := range names {
		if i == 0 || names[i].canon != names[i-1].canon {
			distinct++
		}
	}
	h.writeLen(distinct)
	for i := 0; i < len(names); {
		j, n := i, 0
		for ; j < len(names) && names[j].canon == names[i].canon; j++ {
			n += len(names[j].values)
		}
		h.writeString(names[i].canon)
		h.writeLen(n)
		for ; i < j; i++ {
			for _, v := range names[i].values {
				h.writeString(v)
			}
		}
	}
}

// key returns prefix and the hex of the 128-bit sum.
func (h *hash128) key(prefix string) string {
	h.flush()
	var sum [16]byte
	binary.BigEndian.PutUint64(sum[:8], h.hi.Sum64())
	binary.BigEndian.PutUint64(sum[8:], h.lo.Sum64())
	var buf [8 + 2*len(sum)]byte
	n := copy(buf[:], prefix)
	n += hex.Encode(buf[n:], sum[:])
	return string(buf[:n])
}
