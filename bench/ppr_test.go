package bench

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestShapePPR runs examples/workloads/ppr.yaml (a site whose root layout
// has a user menu reading the session cookie, as a hole) for 10 minutes of
// virtual time, and checks the ordering of the figures: PPR's first byte is
// ISR's (the shell is cached) and far below SSR's (what Next.js 15 gives
// that site); its last byte is the slowest hole's; its render CPU and origin
// calls lie between ISR's (no personalisation) and SSR's.
func TestShapePPR(t *testing.T) {
	w, err := LoadWorkload(filepath.Join("..", "examples", "workloads", "ppr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w.Traffic.Duration = Duration(10 * time.Minute)
	w.Strategies = []string{"ssr", "ppr:60s", "isr:60s"}
	rep, err := Run(context.Background(), w, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ssr, ppr, isr := rep.Strategies[0], rep.Strategies[1], rep.Strategies[2]
	if ppr.Name != "PPR(1m)" {
		t.Fatalf("strategy %q; want PPR(1m)", ppr.Name)
	}

	// The slowest hole: the user menu's render and its uncached fetch.
	l := w.Site.Segments[0].Layout
	if l == nil || len(l.Holes) != 1 {
		t.Fatalf("site %s: want a root layout with one hole", w.SiteFile)
	}
	hole := l.Holes[0].Cost + time.Duration(len(l.Holes[0].Fetches))*w.Site.Origin.Latency
	holeMS := float64(hole) / float64(time.Millisecond)
	hitMS := float64(time.Duration(w.Capacity.Hit)) / float64(time.Millisecond)

	// Time to first byte: the shell's, from the cache.
	if ppr.TTFB != isr.TTFB {
		t.Errorf("PPR ttfb %+v; want ISR's %+v (the shell is served from the cache)", ppr.TTFB, isr.TTFB)
	}
	if ppr.TTFB.P99*10 > ssr.TTFB.P50 {
		t.Errorf("PPR ttfb p99 = %vms; want far below SSR's p50 %vms", ppr.TTFB.P99, ssr.TTFB.P50)
	}
	// Time to the last byte: the slowest hole's.
	if got := ppr.LastByte.P50; got < holeMS || got > holeMS+hitMS {
		t.Errorf("PPR last byte p50 = %vms; want the slowest hole's %vms", got, holeMS)
	}
	if ppr.LastByte.P50 >= ssr.TTFB.P50 {
		t.Errorf("PPR last byte p50 = %vms; want below SSR's first byte %vms", ppr.LastByte.P50, ssr.TTFB.P50)
	}
	if isr.LastByte != isr.TTFB {
		t.Errorf("ISR last byte %+v; want its first byte %+v (no hole)", isr.LastByte, isr.TTFB)
	}
	// Work: ISR < PPR < SSR.
	if !(isr.RenderCPUPerHour < ppr.RenderCPUPerHour && ppr.RenderCPUPerHour < ssr.RenderCPUPerHour) {
		t.Errorf("render CPU s/h: ISR %v, PPR %v, SSR %v; want ISR < PPR < SSR", isr.RenderCPUPerHour, ppr.RenderCPUPerHour, ssr.RenderCPUPerHour)
	}
	if !(isr.OriginPer1k < ppr.OriginPer1k && ppr.OriginPer1k < ssr.OriginPer1k) {
		t.Errorf("origin calls/1k: ISR %v, PPR %v, SSR %v; want ISR < PPR < SSR", isr.OriginPer1k, ppr.OriginPer1k, ssr.OriginPer1k)
	}
	// The hole's fetch is made once per request; the shell's are cached.
	if ppr.OriginPer1k < 1000 || ppr.OriginPer1k > 1000+2*isr.OriginPer1k {
		t.Errorf("PPR origin calls/1k = %v; want 1000 (the user menu's) plus about ISR's %v", ppr.OriginPer1k, isr.OriginPer1k)
	}
	// The shell is cached: no request renders the whole page for itself.
	if ppr.Bypass != 0 || ppr.RendersPer1k != isr.RendersPer1k {
		t.Errorf("PPR: %d BYPASS, %v renders/1k; want none and ISR's %v (the holes are not renders of the page)", ppr.Bypass, ppr.RendersPer1k, isr.RendersPer1k)
	}
	if ppr.FreshShare != isr.FreshShare {
		t.Errorf("PPR fresh share %v; want ISR's %v (the same shell, regenerated alike)", ppr.FreshShare, isr.FreshShare)
	}

	// The plots include the first and last bytes, the table their columns.
	files, err := rep.Plot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(files, func(f string) bool { return filepath.Base(f) == "lastbyte.png" }) {
		t.Errorf("Plot wrote %q; want lastbyte.png", files)
	}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "last p50") {
		t.Errorf("table:\n%s\nwant the last byte's columns", b.String())
	}
}

// TestLivePPR runs PPR and SSR on examples/workloads/ppr.yaml for real, 300ms
// each: PPR's holes are rendered per request over HTTP (an origin call each),
// its first byte leaves before its last, which waits at least for the hole's
// fetch; SSR renders every request.
func TestLivePPR(t *testing.T) {
	if testing.Short() {
		t.Skip("a real run")
	}
	w, err := LoadWorkload(filepath.Join("..", "examples", "workloads", "ppr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w.Strategies = []string{"ssr", "ppr:60s"}
	w.Traffic.RPS = 100
	w.Changes.PerHour = 0
	w.Live.Duration = Duration(300 * time.Millisecond)
	rep, err := Run(context.Background(), w, Options{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	ssr, ppr := rep.Strategies[0], rep.Strategies[1]
	for _, r := range rep.Strategies {
		if r.Requests < 10 || r.Errors > 0 {
			t.Errorf("live %s: %d requests, %d errors; want some, and no error", r.Name, r.Requests, r.Errors)
		}
	}
	if ppr.Bypass != 0 || ppr.RendersPer1k >= 1000 || ppr.OriginPer1k < 1000 {
		t.Errorf("live PPR: %d BYPASS, %v renders/1k, %v origin calls/1k; want none, the shells' only, and at least one (the hole's) a request",
			ppr.Bypass, ppr.RendersPer1k, ppr.OriginPer1k)
	}
	if ssr.RendersPer1k != 1000 {
		t.Errorf("live SSR: %v renders/1k; want 1000", ssr.RendersPer1k)
	}
	hole := float64(w.Site.Origin.Latency) / float64(time.Millisecond)
	if ppr.LastByte.P50 < hole || ppr.TTFB.P50 >= ppr.LastByte.P50 {
		t.Errorf("live PPR: first byte p50 %vms, last byte p50 %vms; want the first before the last, which waits for the hole's %vms fetch",
			ppr.TTFB.P50, ppr.LastByte.P50, hole)
	}
}
