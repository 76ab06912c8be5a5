package engine

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
)

// responseStream writes a render's output to the request that started it
// while the render runs (render.Stream): a dynamic render's (BYPASS), or a
// MISS's, which the render stores whole for the other requests.
//
// A MISS renders detached from its request, which may stop waiting (its
// context ends, the render passes its deadline) while the render still
// writes: detach, called by the request's goroutine before it touches the
// response again, makes every later call a no-op, and waits for one in
// progress.
type responseStream struct {
	e  *Engine
	rt *route
	w  http.ResponseWriter
	r  *http.Request
	rc *http.ResponseController

	mu       sync.Mutex
	detached bool
	started  bool
	failed   bool // a write failed: the client is gone
	kind     Kind // the kind the response's headers announced
}

// respond prepares the answer to a request that renders: a partial route's
// holes start at once, beside the render of its shell, which does not
// stream (the caller closes the set); any other render streams to the
// request through the returned stream.
func (e *Engine) respond(w http.ResponseWriter, r *http.Request, rt *route, path string, params render.Params, now time.Time) (*holeSet, *responseStream) {
	if len(rt.holes) > 0 {
		return e.startHoles(r, rt, path, params, now), nil
	}
	return nil, &responseStream{e: e, rt: rt, w: w, r: r}
}

// Start writes the response's status and headers: those the render set so
// far, and the engine's for the route's policy as refined by what the
// render revealed so far (a render is refined again when it ends; what it
// reveals only adds to the policy). A streamed response has no ETag and no
// Content-Length.
func (s *responseStream) Start(status int, header http.Header, rec *render.Record) {
	pol := s.rt.refine(rec, s.e.in)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.detached {
		return
	}
	s.started = true
	h := s.w.Header()
	for k, v := range renderHeader(header) {
		h[k] = v
	}
	delete(h, "Content-Length")
	s.kind = pol.Kind
	st := regen.Miss
	if pol.Kind == Dynamic {
		st = regen.Bypass
		h["Cache-Control"] = ccDynamic
	} else {
		kind, rev, expire := s.e.pathInterval(s.rt, pol, rec.Fetches)
		h["Cache-Control"] = []string{cacheControl(kind, rev, expire)}
	}
	h["X-Cache-Status"] = xCacheStatus[st]
	h["Cache-Status"] = cacheStatus[st]
	s.w.WriteHeader(status)
	s.rc = http.NewResponseController(s.w)
}

func (s *responseStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.detached || s.failed {
		return 0, http.ErrHandlerTimeout
	}
	if s.r.Method == http.MethodHead {
		return len(p), nil
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.failed = true
	}
	return n, err
}

func (s *responseStream) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.detached || s.failed || s.rc == nil {
		return http.ErrHandlerTimeout
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		// A writer that cannot flush (a recorder, a middleware's wrapper
		// without Unwrap) still gets every byte, only later.
		s.failed = true
		return err
	}
	return nil
}

// detach stops the stream and reports whether it had started, in which case
// the response can only be ended by end.
func (s *responseStream) detach() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.detached = true
	return s.started
}

// end ends a started response: it returns when the render streamed all of
// its output with headers that still hold, and otherwise closes the
// connection (a failure after the first byte, a part only, or a route the
// render found dynamic after announcing a cacheable response), so that
// neither the client nor a cache in between takes a truncated or wrong
// response for a complete one.
func (s *responseStream) end(streamed render.Streamed, dynamic bool, err error) {
	if err == nil && streamed == render.StreamedAll && (s.kind == Dynamic || !dynamic) {
		return
	}
	if err == nil && s.r.Context().Err() == nil {
		why := "the render took back output that had left (a redirect, or a not-found page replacing it)"
		if streamed == render.StreamedAll {
			why = "the render revealed a dynamic route after its response announced a cacheable one"
		}
		s.e.log.Warn("regen: response ended abnormally", "path", s.r.URL.Path, "route", s.rt.pattern, "why", why)
	} else if err != nil && s.r.Context().Err() == nil {
		s.e.log.Error("regen: render failed after its first byte; closing the connection", "path", s.r.URL.Path, "route", s.rt.pattern, "error", err)
	}
	panic(http.ErrAbortHandler)
}
