package engine

import (
	"net/http"
	"strings"

	"github.com/regen-dev/regen"
)

// MaxPathLen bounds request paths; longer ones are refused with 400.
const MaxPathLen = 2048

// acceptPath checks r's path before any lookup and answers the requests it
// refuses (400, 404) or redirects (308). ok is false when it has answered.
func (e *Engine) acceptPath(w http.ResponseWriter, r *http.Request) (path string, ok bool) {
	path = r.URL.Path
	switch checkPath(path) {
	case pathBad:
		e.writeError(w, r, http.StatusBadRequest)
		return "", false
	case pathNotFound:
		e.serveNotFound(w, r)
		return "", false
	case pathTrailingSlash:
		target := trimTrailingSlash(path)
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		w.Header()["X-Cache-Status"] = xCacheStatus[regen.Bypass]
		w.Header()["Cache-Status"] = cacheStatus[regen.Bypass]
		http.Redirect(w, r, target, http.StatusPermanentRedirect)
		return "", false
	}
	return path, true
}

type pathCheck uint8

const (
	pathOK pathCheck = iota
	pathBad
	pathNotFound
	pathTrailingSlash
)

// checkPath checks a request path (already percent-decoded once by
// net/http) before any lookup: control bytes and overlong paths are bad
// requests, dot segments and empty segments match nothing, a trailing slash
// redirects to the path without it. It does not allocate.
func checkPath(p string) pathCheck {
	if len(p) == 0 || p[0] != '/' || len(p) > MaxPathLen {
		return pathBad
	}
	q := p
	for len(q) > 1 && q[len(q)-1] == '/' {
		q = q[:len(q)-1]
	}
	result := pathOK
	if len(q) != len(p) {
		result = pathTrailingSlash
	}
	if q == "/" {
		return result
	}
	// Scan the segments once: start is the index after the last slash,
	// dots counts the dots in the segment.
	start, dots := 1, 0
	for i := 1; i <= len(q); i++ {
		if i == len(q) || q[i] == '/' {
			if n := i - start; n == 0 || (n == dots && n <= 2) {
				return pathNotFound
			}
			start, dots = i+1, 0
			continue
		}
		switch c := q[i]; {
		case c < 0x20 || c == 0x7f:
			return pathBad
		case c == '.':
			dots++
		}
	}
	return result
}

func trimTrailingSlash(p string) string {
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			return "/"
		}
	}
	return p
}

// etagMatch reports whether an If-None-Match header matches etag, by the
// weak comparison RFC 9110 asks for. It does not allocate.
func etagMatch(inm []string, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, line := range inm {
		for line != "" {
			line = strings.TrimLeft(line, " \t,")
			if line == "" {
				break
			}
			if line[0] == '*' {
				return true
			}
			end := len(line)
			if i := strings.IndexByte(line, ','); i >= 0 {
				end = i
			}
			tag := strings.TrimSpace(line[:end])
			line = line[end:]
			if strings.TrimPrefix(tag, "W/") == want {
				return true
			}
		}
	}
	return false
}
