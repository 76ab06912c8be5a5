package main

import (
	"context"
	"log/slog"

	"github.com/regen-dev/regen/engine"
)

// build prerenders the site into dir with engine.Build, calling onPage after
// each path.
func build(ctx context.Context, s *site, dir string, concurrency int, logger *slog.Logger, onPage func(done, total int, path string)) (*engine.BuildResult, error) {
	return engine.Build(ctx, s.built.Site, dir, engine.BuildOptions{
		Options:     engine.Options{Fetcher: s.built.Fetcher, Logger: logger},
		Concurrency: concurrency,
		OnPage: func(done, total int, p engine.Prerendered) {
			onPage(done, total, p.Path)
		},
	})
}
