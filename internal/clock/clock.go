// Package clock holds the time helpers the project's packages share.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx ends, whichever comes first, and returns
// ctx.Err() in the second case. A d of zero or less returns ctx.Err() at
// once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SleepVia waits with f, the sleep a caller injected (a simulation's
// virtual time), or with Sleep when f is nil.
func SleepVia(ctx context.Context, f func(context.Context, time.Duration) error, d time.Duration) error {
	if f != nil {
		return f(ctx, d)
	}
	return Sleep(ctx, d)
}
