package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/store"
	"github.com/regen-dev/regen/store/redis"
)

const serveHelp = `Serve serves the site over HTTP: cached pages at once (X-Cache-Status: HIT),
stale ones while one background regeneration runs (STALE), new paths after
rendering them (MISS), dynamic routes per request (BYPASS).

With --dir, pages are kept in DIR (the disk store): the pages regen build wrote
there are served as HIT without rendering, and regenerated pages are written
back, so a restart keeps the latest versions. DIR must exist and be a build
(or empty); one process at a time may serve it (a second fails at start,
naming the process holding DIR/.lock). Pages are written in the background:
a crash loses at most the last moments' renders, never leaves a torn page,
and keeps every acknowledged revalidation. With --redis, pages are shared
with every instance serving the same Redis (and --redis-prefix): a page one
instance renders is a HIT on the others, a revalidation on one reaches all, and
a path is rendered by one instance at a time; a Redis that is down is waited
for in the background while pages are served from memory, and a Redis that
answers but refuses writes (a cluster node given as redis://, a read-only
replica) is an error at start. For a Redis Cluster, name one or more masters:
--redis 'redis+cluster://10.0.0.1:6379?addr=10.0.0.2:6379' (rediss+cluster://
for TLS); a dead master then affects only the pages it holds, and every
instance writes back the revalidations a restarted master lost. Without
either, pages are kept in memory.

When REGEN_REVALIDATE_SECRET is set, POST /api/revalidate revalidates tags
and paths on demand:

	curl -X POST -H "Authorization: Bearer $REGEN_REVALIDATE_SECRET" \
	  -d '{"tags":["products"]}' http://127.0.0.1:3000/api/revalidate

The body is {"tags": [...], "paths": [...], "mode": "stale" | "expire"}.

Every origin call has a deadline (--fetch-timeout, 10s) and so has every
render (--render-timeout, 30s): a request whose render passes it is answered
504, and the next request renders afresh; a regeneration that passes it keeps
the last good page and is retried after a back-off. Background regenerations
run at most --max-regenerations at once (twice the CPUs, at least 10), with a
bounded queue; the pages and data kept in memory take at most --max-bytes,
each charged what it costs in the heap. Unless GOMEMLIMIT is set, the Go
runtime's memory limit is set to 1.5 times --max-bytes (at least --max-bytes
plus 32 MiB), so that the process stays near the bound under a flood.

The server reads a request's headers within 10s and its whole request within
30s, takes headers of at most 64 KiB (larger: 431), writes each response
within the render timeout plus 10s, and closes keep-alive connections idle
for 2 minutes.

With OTEL_TRACES_EXPORTER set, it makes OpenTelemetry spans: regen.request
(a request, with its cache status and route), regen.render (a render, with
why it ran and how it ended), regen.fetch (a fetch, with its URL and how the
Data Cache answered), regen.store.get, .set, .delete, .revalidate_tags,
.tag_state and .lock (store operations), and regen.regenerate (a background
regeneration: a new trace, linked to the request that found the page
stale). OTEL_TRACES_EXPORTER=console prints each span to stdout as it ends;
otlp exports them to OTEL_EXPORTER_OTLP_ENDPOINT over HTTP or gRPC, as
OTEL_EXPORTER_OTLP_PROTOCOL says (http/protobuf by default), and flushes
them at exit; none, or unset, makes none. OTEL_SERVICE_NAME names the
service (regen). A request's traceparent header (W3C Trace Context) puts its
spans in the caller's trace.

With --admin-addr ADDR, a second listener serves, on ADDR only (never on
--addr):

	/metrics    Prometheus metrics (text format): regen_requests_total and the
	            others (examples/observability has a dashboard and alerts)
	/healthz    200 while the process is up
	/readyz     200 when the site is loaded and the store reachable (for
	            --redis: Redis answers); 503 with the reason otherwise, and
	            from the moment shutdown starts
	/_regen/    the cache inspector: each route with its policy and why, its
	            cached paths with their state (fresh, stale, expired), age,
	            revalidate, expire, tags, size, last render and back-off, and a
	            form to revalidate a path or a tag; the same as JSON under
	            /_regen/api/ (routes, paths?route=R, paths?path=P, stats, and
	            POST revalidate with the body of /api/revalidate)

The admin listener has no secret: bind it to a private address (the default
--addr's 127.0.0.1, a pod's IP behind a NetworkPolicy). The inspector lists
the paths this process rendered (at most 10,000, the latest) and the
prerendered paths the store holds (a --dir build's); ?path= looks up any
path.

It prints "listening on http://ADDR" once it accepts connections (with
--addr 127.0.0.1:0, ADDR has the port the system chose), after "admin
listening on http://ADDR" for --admin-addr. On SIGINT or SIGTERM
it stops accepting connections, waits for the requests and the regenerations
in flight, and exits 0. It always exits within --shutdown-timeout (30s):
what is still running then is canceled (the last good pages stay) and it
exits 1. A second signal ends it at once.
`

// revalidatePath is where regen serve mounts the revalidation endpoint.
const revalidatePath = "/api/revalidate"

// The server's limits; the write timeout is the render timeout plus
// writeMargin.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeMargin       = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

type serveOptions struct {
	addr, dir          string
	adminAddr          string
	redis, redisPrefix string
	debug              bool
	maxBytes           byteSize
	fetchTimeout       time.Duration
	renderTimeout      time.Duration
	shutdownTimeout    time.Duration
	maxRegenerations   int
}

func serveFlags() (*flag.FlagSet, *serveOptions) {
	var o serveOptions
	fs := flag.NewFlagSet("regen serve", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:3000", "listen on `address` (host:port; port 0 picks a free one)")
	fs.StringVar(&o.adminAddr, "admin-addr", "", "serve /metrics, /healthz, /readyz and the cache inspector /_regen/ on `address` (host:port), apart from the site; if empty, not at all")
	fs.StringVar(&o.dir, "dir", "", "keep pages in `directory` (the output of regen build); if empty, in memory")
	fs.StringVar(&o.redis, "redis", "", "share pages with other instances through Redis at `url` (redis://host:port/db; a cluster: redis+cluster://host:port?addr=host2:port2)")
	fs.StringVar(&o.redisPrefix, "redis-prefix", "regen", "start every Redis key with `prefix`, so that sites can share one Redis")
	o.maxBytes = byteSize(store.DefaultMaxBytes)
	fs.Var(&o.maxBytes, "max-bytes", "bound the pages and data kept in memory to `size` (64MiB, 1GiB); with --dir or --redis, the memory tier in front")
	fs.DurationVar(&o.fetchTimeout, "fetch-timeout", fetchcache.DefaultTimeout, "give up on an origin call after `duration`")
	fs.DurationVar(&o.renderTimeout, "render-timeout", engine.DefaultRenderTimeout, "give up on a render after `duration` (504)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, cancel what still runs after `duration` and exit")
	fs.IntVar(&o.maxRegenerations, "max-regenerations", engine.DefaultMaxRegenerations, "run at most `n` background regenerations at once")
	fs.BoolVar(&o.debug, "debug", false, "log every cache decision (as REGEN_DEBUG_CACHE=1)")
	return fs, &o
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, o := serveFlags()
	pos, status, ok := parseArgs("serve", fs, args, stdout, stderr)
	if !ok {
		return status
	}
	if o.dir != "" && o.redis != "" {
		return usageError(stderr, "serve", "--dir and --redis cannot be used together (pick one store)")
	}
	for name, d := range map[string]time.Duration{"--fetch-timeout": o.fetchTimeout, "--render-timeout": o.renderTimeout, "--shutdown-timeout": o.shutdownTimeout} {
		if d <= 0 {
			return usageError(stderr, "serve", "%s must be positive (e.g. 10s)", name)
		}
	}
	if o.maxRegenerations <= 0 {
		return usageError(stderr, "serve", "--max-regenerations must be at least 1")
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// The cache holds at most --max-bytes; give the garbage collector
		// room beside it, and no more, so RSS stays near the bound.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(memoryLimit(int64(o.maxBytes))))
	}
	s, err := loadSite(pos)
	if err != nil {
		return printError(stderr, "regen serve", err, exitUsage)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	reg := newRegistry()
	tp, stopTracing, err := newTracerProvider(ctx, stdout)
	if err != nil {
		return printError(stderr, "regen serve", err, exitUsage)
	}
	defer stopTracing()
	opts := engine.Options{
		Logger: logger, DebugCache: o.debug || os.Getenv("REGEN_DEBUG_CACHE") == "1", MaxBytes: int64(o.maxBytes),
		FetchTimeout: o.fetchTimeout, RenderTimeout: o.renderTimeout, MaxRegenerations: o.maxRegenerations,
		Metrics: reg, TracerProvider: tp,
	}
	var closeStore func() error
	switch {
	case o.dir != "":
		st, closer, err := openDisk(o.dir, int64(o.maxBytes), logger)
		if err != nil {
			return printError(stderr, "regen serve", err, exitFailure)
		}
		opts.Store, closeStore = st, closer
	case o.redis != "":
		st, closer, err := openRedis(ctx, o.redis, o.redisPrefix, int64(o.maxBytes), logger)
		if err != nil {
			// A malformed URL is bad usage; a Redis that refuses writes is
			// a failure. A Redis that is down is waited for.
			status := exitUsage
			if errors.Is(err, redis.ErrRefused) {
				status = exitFailure
			}
			return printError(stderr, "regen serve", err, status)
		}
		opts.Store, closeStore = st, closer
	}
	e, err := s.engine(opts)
	if err != nil {
		if closeStore != nil {
			closeStore()
		}
		return printError(stderr, "regen serve", err, exitUsage)
	}

	var endpoint http.Handler
	if secret := os.Getenv("REGEN_REVALIDATE_SECRET"); secret != "" {
		endpoint = engine.NewRevalidateHandler(e, engine.RevalidateHandlerOptions{Secret: secret, Logger: logger})
	}
	srv := &http.Server{
		Handler:           traced(handler(e, endpoint), tp),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      o.renderTimeout + writeMargin,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	var adm *adminServer
	if o.adminAddr != "" {
		adm = newAdminServer(o.adminAddr, e, reg, opts.Store, srv.WriteTimeout, logger)
	}

	// Shut down within the shutdown timeout: the server stops, the engine
	// waits for the regenerations in flight (canceling them at the
	// deadline), then the store lets go.
	return serve(ctx, srv, o.addr, adm, s, endpoint != nil, o.shutdownTimeout, stdout, stderr,
		func(ctx context.Context) error {
			err := e.Shutdown(ctx)
			if closeStore != nil {
				err = errors.Join(err, closeStore())
			}
			return err
		})
}

// memoryLimit is the Go runtime's soft memory limit for a cache of
// maxBytes: half as much again for the garbage collector's headroom and the
// process itself, and at least 32 MiB more.
func memoryLimit(maxBytes int64) int64 {
	return max(maxBytes+maxBytes/2, maxBytes+32<<20)
}

// serve listens on addr and serves srv, and adm (if not nil) on its own
// address, until ctx is canceled, then shuts both down gracefully and calls
// shutdown, all within timeout. It returns the exit status.
func serve(ctx context.Context, srv *http.Server, addr string, adm *adminServer, s *site, endpoint bool, timeout time.Duration,
	stdout, stderr io.Writer, shutdown func(context.Context) error) int {
	var adminLn net.Listener
	ln, err := net.Listen("tcp", addr)
	if err == nil && adm != nil {
		if adminLn, err = net.Listen("tcp", adm.addr); err != nil {
			ln.Close()
			err = fmt.Errorf("--admin-addr: %w", err)
		}
	}
	if err != nil {
		if serr := shutdown(context.WithoutCancel(ctx)); serr != nil {
			printError(stderr, "regen serve", serr, exitFailure)
		}
		return printError(stderr, "regen serve", err, exitFailure)
	}
	adminServed := make(chan error, 1)
	if adm != nil {
		fmt.Fprintf(stdout, "admin listening on http://%s\n", adminLn.Addr())
		go func() { adminServed <- adm.srv.Serve(adminLn) }()
	}
	fmt.Fprintf(stdout, "regen serve: %s\n", s.title())
	if endpoint {
		fmt.Fprintf(stdout, "revalidation endpoint: POST %s\n", revalidatePath)
	} else {
		fmt.Fprintf(stdout, "revalidation endpoint: off (set REGEN_REVALIDATE_SECRET to mount POST %s)\n", revalidatePath)
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var status int
	select {
	case err := <-served:
		// Serve fails only for a broken listener.
		status = printError(stderr, "regen serve", err, exitFailure)
		served <- http.ErrServerClosed
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "shutting down: waiting for requests and regenerations in flight")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if adm != nil {
		adm.stopping.Store(true) // /readyz: 503 while the site drains
	}
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		status = printError(stderr, "regen serve", fmt.Errorf("shutdown: requests still running after %v: %w", timeout, err), exitFailure)
	} else if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		status = printError(stderr, "regen serve", err, exitFailure)
	}
	if adm != nil {
		if err := adm.srv.Shutdown(sctx); err != nil {
			adm.srv.Close()
		}
		if err := <-adminServed; err != nil && !errors.Is(err, http.ErrServerClosed) {
			status = printError(stderr, "regen serve", fmt.Errorf("admin listener: %w", err), exitFailure)
		}
	}
	if err := shutdown(sctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("shutdown: regenerations still running after %v were canceled", timeout)
		}
		status = printError(stderr, "regen serve", err, exitFailure)
	}
	return status
}

// handler serves the revalidation endpoint at revalidatePath when it is
// not nil, and everything else with the engine. It does not use
// http.ServeMux, whose path cleaning and redirects would answer paths the
// engine checks itself.
func handler(e *engine.Engine, endpoint http.Handler) http.Handler {
	if endpoint == nil {
		return e
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == revalidatePath {
			endpoint.ServeHTTP(w, r)
			return
		}
		e.ServeHTTP(w, r)
	})
}
