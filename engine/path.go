package engine

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/regen-dev/regen"
)

// MaxPathLen bounds request paths (percent-decoded); longer ones are
// refused with 414 URI Too Long.
const MaxPathLen = 2048

// acceptPath checks r's path before any lookup and answers the requests it
// refuses (400, 404, 414) or redirects (308). path is the route path:
// r's path without Options.BasePath. ok is false when it has answered.
//
// The redirect keeps what lies outside the route path: the base path, and
// the prefix a handler in front of the engine stripped (mountPrefix), so
// that under http.StripPrefix("/site", e) "/site/blog/" redirects to
// "/site/blog". With a base path, the base followed by a slash ("/docs/")
// redirects to the base ("/docs"), as Next.js does with trailingSlash
// false.
func (e *Engine) acceptPath(w http.ResponseWriter, r *http.Request) (path string, ok bool) {
	full := r.URL.Path
	path, ok = e.routePath(r)
	if !ok {
		e.serveNotFound(w, r)
		return "", false
	}
	check := checkPath(path)
	if check == pathOK && path == "/" && e.basePath != "" && len(full) > len(e.basePath) {
		check = pathTrailingSlash // "/docs/"
	}
	switch check {
	case pathBad:
		e.writeError(w, r, http.StatusBadRequest)
		return "", false
	case pathTooLong:
		e.writeError(w, r, http.StatusRequestURITooLong)
		return "", false
	case pathNotFound:
		e.serveNotFound(w, r)
		return "", false
	case pathTrailingSlash:
		u := withSlash(r.URL)
		target, ok := slashRedirect(u, trimTrailingSlash(u.Path))
		if ok {
			if prefix := mountPrefix(r, u); prefix != "" {
				target = prefix + target
				ok = safeLocation(target)
			}
		}
		if !ok {
			e.serveNotFound(w, r)
			return "", false
		}
		h := w.Header()
		h["X-Cache-Status"] = xCacheStatus[regen.Bypass]
		h["Cache-Status"] = cacheStatus[regen.Bypass]
		h["Location"] = []string{target}
		h["Content-Type"] = textPlain
		w.WriteHeader(http.StatusPermanentRedirect)
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, target+"\n")
		}
		return "", false
	}
	return path, true
}

// slashRedirect returns the Location of the redirect from u, a path with
// trailing slashes, to clean, its decoded path without them: u's path as the
// client escaped it (EscapedPath), without the trailing slashes, and u's
// query, as Next.js redirects "/x/?a=1" to "/x?a=1". Building it from the
// decoded path would turn "/%5cevil.example/" into "/\evil.example" and
// "/a%3Fx=1/" into "/a?x=1", another page or another site. When the escaped
// path does not decode to clean (an escaped slash before the trailing ones)
// it escapes clean itself. ok is false if the target could be read as
// another host (it starts with "//" or "/\"), which a checked path never
// gives; the caller then answers 404 instead.
//
// The Location is set as is: http.Redirect would clean it (path.Clean)
// and let a target that parses as a host through unchanged.
func slashRedirect(u *url.URL, clean string) (target string, ok bool) {
	target = trimTrailingSlash(u.EscapedPath())
	if dec, err := url.PathUnescape(target); err != nil || dec != clean {
		target = (&url.URL{Path: clean}).EscapedPath()
	}
	if !safeLocation(target) {
		return "", false
	}
	if u.RawQuery != "" {
		target += "?" + escapeNonASCII(u.RawQuery)
	}
	return target, true
}

// escapeNonASCII percent-encodes the bytes of s that are not printable
// ASCII, as http.Redirect does to a Location.
func escapeNonASCII(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

type pathCheck uint8

const (
	pathOK pathCheck = iota
	pathBad
	pathTooLong
	pathNotFound
	pathTrailingSlash
)

// checkPath checks a request path (already percent-decoded once by
// net/http) before any lookup: a path over MaxPathLen is too long; control
// characters (C0, DEL and C1, which RevalidatePath refuses too) and invalid
// UTF-8 (Next.js answers 400 to a param that does not decode) are bad
// requests; dot segments and empty segments match nothing;
// a trailing slash redirects to the path without it. It does not allocate.
func checkPath(p string) pathCheck {
	if len(p) == 0 || p[0] != '/' {
		return pathBad
	}
	if len(p) > MaxPathLen {
		return pathTooLong
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
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(q[i:])
			if (r == utf8.RuneError && size == 1) || r < 0xa0 { // invalid, or C1 control
				return pathBad
			}
			i += size - 1
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
