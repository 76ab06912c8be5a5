package main

import (
	"context"
	"io"
	"time"

	"github.com/regen-dev/regen/bench"
	"github.com/regen-dev/regen/fetchcache"
)

// benchSite is the shop as the bench serves it under each strategy: the
// catalog answers at once, and the bench adds its 20 ms latency (the
// spec's) on the simulation's clock, as it spends each render's cost.
func benchSite() *bench.GoSite {
	return &bench.GoSite{
		Name:    "shop-go",
		Latency: 20 * time.Millisecond,
		Register: func(r *bench.Registrar) fetchcache.Fetcher {
			register(r)
			return newCatalog(0)
		},
	}
}

// runBench simulates the built-in workload (regen bench's) on the shop
// registered in Go and writes the table regen bench prints.
func runBench(ctx context.Context, w io.Writer) error {
	wl, err := bench.DefaultWorkload()
	if err != nil {
		return err
	}
	wl.GoSite = benchSite()
	rep, err := bench.Run(ctx, wl, bench.Options{})
	if err != nil {
		return err
	}
	return rep.WriteTable(w)
}
