package engine

import "strings"

// MaxPathLen bounds request paths; longer ones are refused with 400.
const MaxPathLen = 2048

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
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return pathBad
		}
	}
	if p == "/" {
		return pathOK
	}
	trailing := p[len(p)-1] == '/'
	q := p
	if trailing {
		q = strings.TrimRight(p, "/")
	}
	for seg := range strings.SplitSeq(q[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return pathNotFound
		}
	}
	if trailing {
		return pathTrailingSlash
	}
	return pathOK
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
