package main

import (
	"context"
	"log/slog"

	"github.com/regen-dev/regen/store"
	"github.com/regen-dev/regen/store/redis"
)

// openRedis opens the Redis store at url (redis://host:port/db, or
// redis+cluster://host:port?addr=host:port&... for a Redis Cluster), with
// its keys under prefix, and returns it with its close. maxBytes bounds its
// local tier. It fails for a malformed URL, and for a Redis that answers
// but refuses the store's writes (a cluster node given as redis://, a
// read-only replica, missing permissions): serving pages that no other
// instance sees would be worse. A Redis that is down is waited for.
func openRedis(ctx context.Context, url, prefix string, maxBytes int64, logger *slog.Logger) (store.Store, func() error, error) {
	rs, err := redis.Open(ctx, url, redis.Options{Prefix: prefix, Logger: logger, LocalMaxBytes: maxBytes})
	if err != nil {
		return nil, nil, err
	}
	return rs, rs.Close, nil
}
