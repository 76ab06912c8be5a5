package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen/bench"
)

// TestBenchMatchesSpec checks that the bench gives the same figures for
// the shop registered in Go as for examples/shop/site.yaml, strategy by
// strategy, for the same seed: the same paths and data, the same renders,
// origin calls, cache statuses, times and staleness.
func TestBenchMatchesSpec(t *testing.T) {
	run := func(t *testing.T, site *bench.GoSite) *bench.Report {
		t.Helper()
		w, err := bench.DefaultWorkload()
		if err != nil {
			t.Fatal(err)
		}
		w.Seed = 7
		w.Traffic.Duration = bench.Duration(8 * time.Minute)
		w.Changes.PerHour = 180
		w.Strategies = []string{"ssg", "ssr", "ssr+data", "isr:60s", "isr:60s+on-demand", "isr:5m+on-demand:expire", "declared", "declared+on-demand", "ppr:60s"}
		w.GoSite = site
		rep, err := bench.Run(context.Background(), w, bench.Options{})
		if err != nil {
			t.Fatalf("Run error: %v", err)
		}
		return rep
	}
	fromSpec, fromGo := run(t, nil), run(t, benchSite())
	if fromGo.Site != "shop-go" {
		t.Errorf("Site = %q; want %q", fromGo.Site, "shop-go")
	}
	fromGo.Site = fromSpec.Site
	var specJSON, goJSON bytes.Buffer
	if err := fromSpec.WriteJSON(&specJSON); err != nil {
		t.Fatal(err)
	}
	if err := fromGo.WriteJSON(&goJSON); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(specJSON.String(), goJSON.String()); diff != "" {
		t.Errorf("reports (--json) of the spec and of the Go site differ (-spec +go):\n%s", diff)
	}
	var spec, gosite bytes.Buffer
	if err := fromSpec.WriteTable(&spec); err != nil {
		t.Fatal(err)
	}
	if err := fromGo.WriteTable(&gosite); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec.String(), gosite.String()); diff != "" {
		t.Errorf("tables differ (-spec +go):\n%s", diff)
	}
	if !strings.Contains(spec.String(), "ISR(1m)+on-demand") {
		t.Errorf("table:\n%s\nwant a row for ISR(1m)+on-demand", spec.String())
	}
}
