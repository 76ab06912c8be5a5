// Package admin serves an engine's operations endpoints on a listener of
// their own: Prometheus metrics, health checks and a cache inspector.
package admin

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/regen-dev/regen/engine"
)

// InspectorPath is where the cache inspector is mounted: its page, its
// revalidation form, and its JSON API under InspectorPath+"api/".
const InspectorPath = "/_regen/"

// Options configure New. The zero value means all defaults.
type Options struct {
	// Gatherer is what /metrics serves, in the Prometheus text format. If
	// nil, /metrics answers 404.
	Gatherer prometheus.Gatherer
	// Ready reports whether the process is ready for traffic: nil when it
	// is, else an error saying why not, which /readyz answers with 503. The
	// engine, hence the site, is loaded before New is called; Ready adds
	// the rest (the store is reachable, the server is not shutting down).
	// If nil, /readyz answers 200.
	Ready func(ctx context.Context) error
	// Logger receives one line per revalidation made from the inspector.
	// If nil, slog.Default().
	Logger *slog.Logger
}

// New returns the admin handler of e:
//
//   - GET /metrics: opts.Gatherer, in the Prometheus text format;
//   - GET /healthz: 200 "ok" while the process is up;
//   - GET /readyz: 200 "ready" when opts.Ready says so, else 503 with its reason;
//   - /_regen/: the cache inspector (see Inspector).
//
// Everything else is 404. Mount it on a listener of its own, never in front
// of the site: the inspector revalidates without a secret.
func New(e *engine.Engine, opts Options) http.Handler {
	mux := http.NewServeMux()
	if opts.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(logger(opts).Handler(), slog.LevelWarn), ErrorHandling: promhttp.ContinueOnError,
		}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if opts.Ready != nil {
			if err := opts.Ready(r.Context()); err != nil {
				plain(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
				return
			}
		}
		plain(w, http.StatusOK, "ready")
	})
	mux.Handle(InspectorPath, http.StripPrefix(InspectorPath[:len(InspectorPath)-1], Inspector(e, opts.Logger)))
	return mux
}

func logger(opts Options) *slog.Logger {
	if opts.Logger != nil {
		return opts.Logger
	}
	return slog.Default()
}

// plain answers code with a line of text, never cached.
func plain(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}
