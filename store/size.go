package store

import (
	"math/bits"
	"net/http"
	"unsafe"
)

// What things cost in the heap, as the Go runtime (1.24 and later) lays
// them out. TestItemCharge checks the sum against runtime.MemStats for the
// items the engine stores, so a runtime that changes its layout shows there.

// sizeClasses are the block sizes of the Go allocator for objects of up to
// 32 KiB (internal/runtime/gc.SizeClassToSize); larger objects take whole
// 8 KiB pages.
var sizeClasses = [...]uint16{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

const (
	maxSmallSize = 32768
	pageSize     = 8192
	// tinySize: pointer-free objects smaller than this share 16-byte
	// blocks, so a short string costs about its length.
	tinySize = 16
	// Objects with pointers larger than this carry an 8-byte header.
	mallocHeaderMin  = 512
	mallocHeaderSize = 8
)

// allocSize returns the bytes the allocator takes for an object of n bytes,
// which holds pointers or not.
func allocSize(n int64, pointers bool) int64 {
	if n <= 0 {
		return 0
	}
	if pointers && n > mallocHeaderMin {
		n += mallocHeaderSize
	}
	if n > maxSmallSize {
		return (n + pageSize - 1) &^ (pageSize - 1)
	}
	if n <= smallSizeMax {
		return int64(sizeTables.by8[(n+7)>>3])
	}
	return int64(sizeTables.by128[(n-smallSizeMax+127)>>7])
}

// smallSizeMax is the largest size sizeTables.by8 answers, as the
// runtime's own tables.
const smallSizeMax = 1024

// sizeTables map a size to the smallest class of at least that size: by8
// for sizes up to smallSizeMax in steps of 8, by128 above it in steps of
// 128 (every class above smallSizeMax is a multiple of 128).
var sizeTables = func() (t struct {
	by8   [smallSizeMax/8 + 1]uint16
	by128 [(maxSmallSize-smallSizeMax)/128 + 1]uint16
}) {
	c := 0
	for i := range t.by8 {
		for int(sizeClasses[c]) < i*8 {
			c++
		}
		t.by8[i] = sizeClasses[c]
	}
	for i := range t.by128 {
		for int(sizeClasses[c]) < smallSizeMax+i*128 {
			c++
		}
		t.by128[i] = sizeClasses[c]
	}
	return t
}()

// stringBytes returns what the bytes of a string of its own cost. A string
// shorter than tinySize shares a block with other small objects; it is
// charged its length rounded up to a word, its usual alignment.
func stringBytes(s string) int64 {
	n := int64(len(s))
	if n < tinySize {
		return (n + 7) &^ 7
	}
	return allocSize(n, false)
}

// The layout of a Go map (a Swiss table) whose slots are slotSize bytes:
// a header; up to 8 entries fit in one group of 8 slots and 8 control
// bytes; more take a directory and a table of a power-of-two number of
// groups, filled to at most 7/8.
const (
	mapHeaderBytes = 48
	mapTableBytes  = 8 + 32 // the directory's one pointer and the table
	mapGroupSlots  = 8
)

// mapBytes returns what a map of n entries with slots of slotSize bytes
// costs, as grown by inserting them.
func mapBytes(n int, slotSize int64) int64 {
	group := int64(8) + mapGroupSlots*slotSize
	if n <= mapGroupSlots {
		if n == 0 {
			return mapHeaderBytes
		}
		return mapHeaderBytes + allocSize(group, true)
	}
	slots := (uint64(n)*8 + 6) / 7   // at most 7/8 full
	slots = 1 << bits.Len64(slots-1) // a power of two
	groups := int64(slots) / mapGroupSlots
	return mapHeaderBytes + mapTableBytes + allocSize(groups*group, true)
}

// Slot sizes of the maps an item and the store hold.
const (
	headerSlotBytes = int64(unsafe.Sizeof("") + unsafe.Sizeof([]string(nil))) // string → []string
	stringHeader    = int64(unsafe.Sizeof(""))
)

// headerBytes is what h costs in the heap: its map and its values, each
// rounded up to the block the allocator gives it; names are counted as
// references (see Item.Size).
func headerBytes(h http.Header) int64 {
	if h == nil {
		return 0
	}
	n := mapBytes(len(h), headerSlotBytes)
	for _, vs := range h {
		n += allocSize(int64(cap(vs))*stringHeader, true)
		for _, v := range vs {
			n += stringBytes(v)
		}
	}
	return n
}

// itemBytes is what the Item struct itself costs.
var itemBytes = allocSize(int64(unsafe.Sizeof(Item{})), true)

// charge returns the bytes Memory counts against MaxBytes for it under key,
// whose record took n bytes of slabs and heap: n.
func charge(_ string, _ *Item, n int64) int64 { return n }
