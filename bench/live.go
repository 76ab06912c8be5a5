package bench

import (
	"context"
	"errors"
	"time"
)

func runLive(ctx context.Context, w *Workload, cat *catalog, strategies []Strategy, progress func(string, time.Duration, time.Duration)) ([]*Result, error) {
	return nil, errors.New("bench: live mode: not implemented yet")
}
