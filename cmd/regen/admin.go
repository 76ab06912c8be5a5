package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/regen-dev/regen/admin"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/store"
)

// adminServer is regen serve's admin listener (--admin-addr): metrics,
// health and the cache inspector, on an address of their own.
type adminServer struct {
	srv      *http.Server
	addr     string
	stopping atomic.Bool // set when shutdown starts: /readyz answers 503
}

// newAdminServer returns the admin listener's server for e, serving reg's
// metrics, with the main server's limits. /readyz answers 503 once the
// server is shutting down, and while the store says it is unavailable
// (the Redis store's Stats.Available).
func newAdminServer(addr string, e *engine.Engine, reg prometheus.Gatherer, st store.Store, writeTimeout time.Duration, logger *slog.Logger) *adminServer {
	a := &adminServer{addr: addr}
	ready := func(ctx context.Context) error {
		if a.stopping.Load() {
			return errShuttingDown
		}
		return storeReady(st)
	}
	a.srv = &http.Server{
		Handler:           admin.New(e, admin.Options{Gatherer: reg, Ready: ready, Logger: logger}),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return a
}

var (
	errShuttingDown     = errors.New("shutting down")
	errStoreUnavailable = errors.New("store unavailable: Redis does not answer (pages are served from memory meanwhile)")
)

// storeReady says whether st is reachable: a shared store (store/redis)
// by its Usage, as regen_store_available reports it; the memory and disk
// stores always are, once open.
func storeReady(st store.Store) error {
	if u, ok := st.(store.UsageReporter); ok {
		if us := u.Usage(); us.Shared && !us.Available {
			return errStoreUnavailable
		}
	}
	return nil
}

// newRegistry returns the registry regen serve's metrics are registered
// on, with the Go runtime's and the process's collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
