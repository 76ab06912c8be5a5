package main

import (
	"context"
	"log/slog"

	"github.com/regen-dev/regen/store"
	"github.com/regen-dev/regen/store/redis"
)

// openRedis opens the Redis store at url, with its keys under prefix, and
// returns it with its close. maxBytes bounds its local tier. It fails only for a malformed URL.
func openRedis(ctx context.Context, url, prefix string, maxBytes int64, logger *slog.Logger) (store.Store, func() error, error) {
	rs, err := redis.Open(ctx, url, redis.Options{Prefix: prefix, Logger: logger, LocalMaxBytes: maxBytes})
	if err != nil {
		return nil, nil, err
	}
	return rs, rs.Close, nil
}
