package store

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/regen-dev/regen"
)

// The tags every page of a route shares: the engine makes them once per
// route, so entries hold the same strings.
var routeTags = []string{"_N_T_/layout", "_N_T_/(shop)/layout", "_N_T_/(shop)/products/layout", "_N_T_/(shop)/products/[slug]/layout", "_N_T_/(shop)/products/[slug]/page"}

// chargeShape makes the i-th item of a kind the engine stores, and its key,
// allocating what the engine allocates for it.
type chargeShape struct {
	name string
	make func(rng *rand.Rand, scratch []byte, i int) (string, *Item)
}

var chargeShapes = []chargeShape{
	// A route entry, as engine.newEntry builds it: a 2–8 KiB page cloned from
	// the render's buffer, four headers, the fetches' tags, the route's
	// implicit tags (shared) and the path's own.
	{"route", func(rng *rand.Rand, scratch []byte, i int) (string, *Item) {
		slug := "shoe-" + strconv.Itoa(i)
		path := "/products/" + slug
		body := bytes.Clone(scratch[:2<<10+rng.IntN(6<<10)])
		tags := make([]string, 0, 8)
		tags = append(tags, "products", "product-"+slug, "stock-"+slug)
		tags = append(tags, routeTags...)
		tags = append(tags, "_N_T_"+path)
		return path, &Item{
			Status: http.StatusOK,
			Header: http.Header{
				"Content-Type":   {"text/html; charset=utf-8"},
				"Content-Length": {strconv.Itoa(len(body))},
				"Cache-Control":  {"s-maxage=" + strconv.FormatInt(60, 10) + ", stale-while-revalidate=" + strconv.FormatInt(31535940, 10)},
				"Etag":           {`"` + strconv.FormatUint(xxhash.Sum64(body), 36) + `"`},
			},
			Body:       body,
			Tags:       tags,
			Created:    t0,
			Revalidate: regen.Seconds(60),
			Expire:     365 * 24 * time.Hour,
		}
	}},
	// A Data Cache entry, as fetchcache stores an answer: a 60–200 byte
	// JSON body; no headers, the synthetic origin's one or three of an HTTP
	// answer; 2–4 tags; under "fetch:" and a 128-bit hash.
	{"data", func(rng *rand.Rand, scratch []byte, i int) (string, *Item) {
		var sum [16]byte
		for j := range sum {
			sum[j] = byte(rng.Uint32())
		}
		key := "fetch:" + hex.EncodeToString(sum[:])
		slug := "shoe-" + strconv.Itoa(i)
		body := bytes.Clone(scratch[:60+rng.IntN(141)])
		var h http.Header
		switch i % 3 {
		case 1:
			h = http.Header{"Content-Type": {"application/json"}}
		case 2:
			h = http.Header{
				"Content-Type": {"application/json"},
				"Date":         {time.Unix(int64(i), 0).UTC().Format(http.TimeFormat)},
				"Etag":         {`"` + strconv.FormatUint(xxhash.Sum64(body), 36) + `"`},
			}
		}
		n := 2 + rng.IntN(3)
		tags := make([]string, 0, n)
		tags = append(tags, "products", "_N_T_/products/"+slug)
		for j := 2; j < n; j++ {
			tags = append(tags, "product-"+slug+"-"+strconv.Itoa(j))
		}
		return key, &Item{
			Status:     http.StatusOK,
			Header:     h,
			Body:       body,
			Tags:       tags,
			Created:    t0,
			Revalidate: regen.Seconds(30),
		}
	}},
}

// measureCharge stores n items of shape in a Memory store that evicts
// nothing, and returns what the store charged and what the heap grew by,
// per item.
func measureCharge(tb testing.TB, shape chargeShape, n int) (charged, heap float64) {
	tb.Helper()
	ctx := tb.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	scratch := make([]byte, 8<<10)
	for i := range scratch {
		scratch[i] = byte('a' + i%26)
	}
	m := NewMemory(MemoryOptions{MaxBytes: 1 << 40})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		key, it := shape.make(rng, scratch, i)
		if err := m.Set(ctx, key, it); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if m.Len() != n {
		tb.Fatalf("store holds %d items; want %d", m.Len(), n)
	}
	charged = float64(m.Bytes()) / float64(n)
	heap = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(n)
	runtime.KeepAlive(m)
	runtime.KeepAlive(scratch)
	return charged, heap
}

// TestItemCharge: what Memory charges for an item is within 10% of what
// the item and the store's record of it cost in the heap, for the pages and
// the data the engine stores.
func TestItemCharge(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap over 20k items")
	}
	for _, shape := range chargeShapes {
		t.Run(shape.name, func(t *testing.T) {
			charged, heap := measureCharge(t, shape, 20000)
			t.Logf("charged %.0f B per item; the heap holds %.0f B per item", charged, heap)
			if ratio := charged / heap; ratio < 0.9 || ratio > 1.1 {
				t.Errorf("charged %.0f B per item; the heap holds %.0f B per item (ratio %.2f; want within 10%%)", charged, heap, ratio)
			}
		})
	}
}

func BenchmarkItemCharge(b *testing.B) {
	for _, shape := range chargeShapes {
		b.Run("shape="+shape.name, func(b *testing.B) {
			b.ReportAllocs()
			var charged, heap float64
			for b.Loop() {
				charged, heap = measureCharge(b, shape, 20000)
			}
			b.ReportMetric(charged, "charged-B/item")
			b.ReportMetric(heap, "heap-B/item")
			b.ReportMetric(charged/heap, "charged/heap")
		})
	}
}

func TestAllocSize(t *testing.T) {
	tests := []struct {
		n        int64
		pointers bool
		want     int64
	}{
		{0, false, 0},
		{1, false, 8},
		{8, false, 8},
		{9, false, 16},
		{100, false, 112},
		{512, true, 512},
		{513, false, 576},
		{512 + 1, true, 576}, // with its 8-byte header
		{640, true, 704},     // 648 with its header
		{5000, false, 5376},
		{32768, false, 32768},
		{32769, false, 40960},
		{100000, false, 106496},
	}
	for _, tt := range tests {
		if got := allocSize(tt.n, tt.pointers); got != tt.want {
			t.Errorf("allocSize(%d, %v) = %d; want %d", tt.n, tt.pointers, got, tt.want)
		}
	}
	// The tables agree with a search of the classes for every small size.
	for n := int64(1); n <= maxSmallSize; n++ {
		i := slices.IndexFunc(sizeClasses[:], func(c uint16) bool { return int64(c) >= n })
		if got, want := allocSize(n, false), int64(sizeClasses[i]); got != want {
			t.Fatalf("allocSize(%d, false) = %d; want %d", n, got, want)
		}
	}
}

func TestItemSize(t *testing.T) {
	tests := []struct {
		name string
		it   *Item
		want int64
	}{
		{"empty", &Item{}, 112},
		{"body", &Item{Body: make([]byte, 100)}, 112 + 112},
		{"body's capacity", &Item{Body: make([]byte, 10, 5000)}, 112 + 5376},
		{"empty header", &Item{Header: http.Header{}}, 112 + 48},
		{"one header", &Item{Header: http.Header{"Content-Type": {"application/json"}}}, 112 + 400 + 16 + 16},
		{"nine headers", &Item{Header: http.Header{"A": nil, "B": nil, "C": nil, "D": nil, "E": nil, "F": nil, "G": nil, "H": nil, "I": nil}}, 112 + 792},
		{"tags", &Item{Tags: []string{"posts", "_N_T_/blog/hello"}}, 112 + 32},
	}
	for _, tt := range tests {
		if got := tt.it.Size(); got != tt.want {
			t.Errorf("%s: Size() = %d; want %d", tt.name, got, tt.want)
		}
	}
}

// TestMapBytes: mapBytes agrees with the heap for header maps of every
// size an item may have.
func TestMapBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	names := make([]string, 64)
	for i := range names {
		names[i] = "X-Header-" + strconv.Itoa(i)
	}
	const maps = 20000
	for _, n := range []int{0, 1, 8, 9, 14, 15, 28, 29, 56, 64} {
		hs := make([]http.Header, maps)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range hs {
			h := http.Header{}
			for _, k := range names[:n] {
				h[k] = nil
			}
			hs[i] = h
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		got := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / maps
		runtime.KeepAlive(hs)
		if want := float64(mapBytes(n, headerSlotBytes)); got < min(want*0.97, want-8) || got > max(want*1.03, want+8) {
			t.Errorf("a header map of %d entries holds %.0f B; mapBytes = %.0f", n, got, want)
		}
	}
}

func BenchmarkItemSize(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	scratch := make([]byte, 8<<10)
	for _, shape := range chargeShapes {
		b.Run("shape="+shape.name, func(b *testing.B) {
			_, it := shape.make(rng, scratch, 1)
			b.ReportAllocs()
			for b.Loop() {
				it.Size()
			}
		})
	}
}
