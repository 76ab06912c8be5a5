package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/sitespec"
	"github.com/regen-dev/regen/store"
)

// TestFloodCharge: what the memory store charges for the pages and data of
// the demo's product pages, as the engine really makes them, is within 10%
// of what they take in the heap, so --max-bytes bounds what a flood of new
// slugs holds.
func TestFloodCharge(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 16,000 pages and measures the heap")
	}
	s, err := loadSite(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The demo without its latency and costs: a render takes no time.
	s.built = s.spec.Build(sitespec.Options{Sleep: func(context.Context, time.Duration) error { return nil }})
	st := store.NewMemory(store.MemoryOptions{MaxBytes: 1 << 40}) // evicts nothing
	e, err := s.engine(engine.Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	get := func(slug string) {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/products/"+slug, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("GET /products/%s = %d; want 200", slug, w.Code)
		}
	}
	// Settle what does not grow with the slugs before measuring: the
	// origin's memory of 4,096 URLs (two per product page) and the engine's
	// index of the paths it rendered (engine.MaxIndexedPaths) fill up.
	for i := range engine.MaxIndexedPaths {
		get("warm-" + strconv.Itoa(i))
	}
	const n = 6000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	charged0 := st.Bytes()
	for i := range n {
		get("flood-" + strconv.Itoa(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	charged := float64(st.Bytes()-charged0) / n
	heap := (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
	runtime.KeepAlive(e)
	t.Logf("per product page (a page and two data entries): charged %.0f B; the heap holds %.0f B", charged, heap)
	if ratio := charged / heap; ratio < 0.9 || ratio > 1.1 {
		t.Errorf("charged %.0f B per product page; the heap holds %.0f B (ratio %.2f; want within 10%%)", charged, heap, ratio)
	}
}
