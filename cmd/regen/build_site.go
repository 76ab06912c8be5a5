package main

import (
	"context"
	"errors"

	"github.com/regen-dev/regen/engine"
)

// buildResult is what the route table after a build shows.
type buildResult struct {
	pages  int
	routes []engine.Policy
}

// build prerenders the site into dir.
func build(ctx context.Context, s *site, dir string, concurrency int, onPage func(done, total int, path string)) (*buildResult, error) {
	return nil, errors.New("engine.Build is not available yet")
}
