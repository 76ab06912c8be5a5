package engine

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/regen-dev/regen"
)

// MaxRevalidateBody bounds the revalidation endpoint's request body.
const MaxRevalidateBody = 64 << 10

// RevalidateHandlerOptions configure NewRevalidateHandler.
type RevalidateHandlerOptions struct {
	// Secret is the bearer token callers must send. Required: a handler
	// without a secret refuses every call.
	Secret string
	// Logger receives one line per call. If nil, slog.Default().
	Logger *slog.Logger
}

// RevalidateRequest is the body the revalidation endpoint accepts:
// {"tags": [...], "paths": [...], "mode": "stale"|"expire", "type":
// "page"|"layout"}.
type RevalidateRequest struct {
	Tags  []string `json:"tags"`
	Paths []string `json:"paths"`
	// Mode is "stale" (the default), "expire", or the name of a cache
	// profile (regen.RevalidateProfile: stale now, expired after the
	// profile's expire, as Next.js 16's revalidateTag(tag, profile)).
	Mode regen.RevalidateMode `json:"mode"`
	// Type is "page" (the default) or "layout" for every path given in
	// Paths, as in Next.js's revalidatePath(path, type).
	Type PathKind `json:"type"`
}

// NewRevalidateHandler returns the revalidation endpoint of docs/caching.md, to be
// mounted where the user chooses (`regen serve` mounts it at
// /api/revalidate): POST with `Authorization: Bearer <secret>` and a JSON
// body {"tags": [...], "paths": [...], "mode": "stale"|"expire"}.
//
// It answers 405 for other methods, 401 for a missing or wrong secret
// (compared in constant time), 413 for a body over 64 KiB, 400 with the
// reason for a malformed body, and 200 {"revalidated": true, "now": <unix
// ms>} once every tag and path is revalidated. A bad request revalidates
// nothing. Each call is logged (what was revalidated, never the secret).
func NewRevalidateHandler(e *Engine, opts RevalidateHandlerOptions) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	secret := []byte(opts.Secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(code int, reason string) {
			log.Warn("regen: revalidate refused", "status", code, "reason", reason, "remote", r.RemoteAddr)
			writeJSON(w, code, revalidateAnswer{Error: reason})
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			fail(http.StatusMethodNotAllowed, "method "+r.Method+" not allowed (use POST)")
			return
		}
		token, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok || len(secret) == 0 || subtle.ConstantTimeCompare([]byte(token), secret) != 1 {
			fail(http.StatusUnauthorized, "missing or wrong secret")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRevalidateBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxRevalidateBody))
				return
			}
			fail(http.StatusBadRequest, "reading body: "+err.Error())
			return
		}
		req, err := ParseRevalidateRequest(body)
		if err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		mode, err := e.resolveMode(req.Mode)
		if err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		req.Mode = mode
		ctx := r.Context()
		for _, t := range req.Tags {
			if err := e.RevalidateTag(ctx, t, req.Mode); err != nil {
				log.Error("regen: revalidate failed", "tag", t, "error", err)
				writeJSON(w, http.StatusInternalServerError, revalidateAnswer{Error: err.Error()})
				return
			}
		}
		for _, p := range req.Paths {
			if err := e.RevalidatePath(ctx, p, req.Type, req.Mode); err != nil {
				log.Error("regen: revalidate failed", "path", p, "error", err)
				writeJSON(w, http.StatusInternalServerError, revalidateAnswer{Error: err.Error()})
				return
			}
		}
		now := e.now()
		log.Info("regen: revalidated", "tags", req.Tags, "paths", req.Paths, "mode", req.Mode.String(), "remote", r.RemoteAddr)
		writeJSON(w, http.StatusOK, revalidateAnswer{Revalidated: true, Now: now.UnixMilli()})
	})
}

// ParseRevalidateRequest parses and checks a revalidation request body. It
// refuses unknown fields, an empty request, bad tags (regen.ValidateTags:
// empty, too long, too many, control characters), paths that do not start
// with "/", are over MaxPathLen, hold a control character or a dot segment
// ("..", "%2e%2e"), and unknown modes and types.
func ParseRevalidateRequest(body []byte) (*RevalidateRequest, error) {
	var req RevalidateRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syntax) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) || strings.HasPrefix(err.Error(), "json: ") {
			return nil, fmt.Errorf("malformed JSON body: %v", err)
		}
		return nil, err // a bad "mode" or "type", as its UnmarshalText says
	}
	if dec.More() {
		return nil, errors.New("malformed JSON body: more than one value")
	}
	if len(req.Tags) == 0 && len(req.Paths) == 0 {
		return nil, errors.New(`nothing to revalidate (give "tags" or "paths")`)
	}
	if err := regen.ValidateTags(req.Tags); err != nil {
		return nil, err
	}
	for _, p := range req.Paths {
		if why := revalidatePathProblem(p); why != "" {
			return nil, fmt.Errorf("bad path %.80q: %s", p, why)
		}
	}
	return &req, nil
}

// bearerToken returns the token of an Authorization header of the Bearer
// scheme, whose name is case-insensitive (RFC 9110 11.1, RFC 6750 2.1).
func bearerToken(h string) (token string, ok bool) {
	const scheme = "Bearer"
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) || h[len(scheme)] != ' ' {
		return "", false
	}
	return strings.TrimLeft(h[len(scheme):], " "), true
}

// revalidatePathProblem says why the endpoint refuses p, or "". A path names
// what the engine caches, a clean path (or a route pattern): one with a dot
// segment, decoded or percent-encoded ("..", "%2e%2e"), names nothing the
// engine would ever serve, and answering that it was revalidated would be a
// lie; control characters and invalid UTF-8 have no place in a path either.
func revalidatePathProblem(p string) string {
	switch {
	case p == "" || p[0] != '/':
		return `must start with "/"`
	case len(p) > MaxPathLen:
		return fmt.Sprintf("over %d bytes", MaxPathLen)
	case !utf8.ValidString(p):
		return "not valid UTF-8"
	}
	for _, r := range p {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return "holds a control character"
		}
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if isDotSegment(seg) {
			return "has a dot segment (\".\" or \"..\", decoded or percent-encoded)"
		}
	}
	return ""
}

// isDotSegment reports whether seg is "." or "..", with any of its dots
// written "%2e" or "%2E".
func isDotSegment(seg string) bool {
	dots := 0
	for len(seg) > 0 && dots < 3 {
		switch {
		case seg[0] == '.':
			seg = seg[1:]
		case len(seg) >= 3 && seg[0] == '%' && seg[1] == '2' && (seg[2] == 'e' || seg[2] == 'E'):
			seg = seg[3:]
		default:
			return false
		}
		dots++
	}
	return len(seg) == 0 && (dots == 1 || dots == 2)
}

// revalidateAnswer is the endpoint's answer, keys in docs/caching.md's order:
// {"revalidated": true, "now": <unix ms>}, or {"revalidated": false, "error": "..."}.
type revalidateAnswer struct {
	Revalidated bool   `json:"revalidated"`
	Now         int64  `json:"now,omitempty"`
	Error       string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", ccDynamic[0])
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
