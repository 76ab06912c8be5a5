package engine

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// basePathError checks Options.BasePath as Next.js checks basePath: empty,
// or a path that starts with "/" and does not end with one. It also asks
// for a clean path of plain segments, which a request path can equal.
func basePathError(base string) error {
	if base == "" {
		return nil
	}
	fix := path.Clean("/" + base)
	var why string
	switch {
	case base == "/" || fix == "/":
		why = "is the root (leave it empty to serve the site at /)"
	case base[0] != '/':
		why = fmt.Sprintf("must start with \"/\" (use %q)", fix)
	case strings.HasSuffix(base, "/"):
		why = fmt.Sprintf("must not end with \"/\" (use %q)", fix)
	case fix != base:
		why = fmt.Sprintf("is not a clean path (use %q)", fix)
	case strings.ContainsAny(base, "?#") || checkPath(base) != pathOK:
		why = "must be a plain path, without \"?\", \"#\", control characters or invalid UTF-8 (such as \"/docs\")"
	default:
		return nil
	}
	return &ConfigError{Route: "/", Field: "BasePath", Rule: ErrBasePath, Msg: fmt.Sprintf("Options.BasePath %q %s", base, why)}
}

// routePath returns the route path of r's path: the path without
// Options.BasePath. The base itself ("/docs") is the route "/". ok is false
// when the path lies outside the base ("/other", "/docsx"), which is
// answered 404, as Next.js does.
//
// A path stripped by a handler in front of the engine may have lost its
// leading slash: http.StripPrefix("/site/", e) passes "/site/blog" on as
// "blog", and http.StripPrefix("/site", e) passes "/site" on as "". As
// http.FileServer does, such a path is read with a leading slash, unless
// r.RequestURI shows it was cut inside a segment: StripPrefix("/site")
// passes "/sitemap.xml" on as "map.xml", a path outside the mount.
func (e *Engine) routePath(r *http.Request) (p string, ok bool) {
	p = r.URL.Path
	if e.basePath != "" {
		rest, found := strings.CutPrefix(p, e.basePath)
		if !found || (rest != "" && rest[0] != '/') {
			return "", false
		}
		p = rest
	}
	if p == "" {
		return "/", true
	}
	if p[0] != '/' {
		if !cutAtSlash(r) {
			return "", false
		}
		p = "/" + p
	}
	return p, true
}

// cutAtSlash reports whether r's path, which lost its leading slash, was
// cut from the path the client asked for (r.RequestURI) right after a
// slash. When that cannot be told (no RequestURI, a rewritten path), it
// reports true.
func cutAtSlash(r *http.Request) bool {
	if r.RequestURI == "" {
		return true
	}
	orig, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return true
	}
	before, ok := strings.CutSuffix(orig.Path, r.URL.Path)
	return !ok || strings.HasSuffix(before, "/")
}

// withSlash returns u, or a copy of u whose path starts with a slash when
// u's does not (a path a handler in front of the engine stripped).
func withSlash(u *url.URL) *url.URL {
	if strings.HasPrefix(u.Path, "/") && (u.RawPath == "" || strings.HasPrefix(u.RawPath, "/")) {
		return u
	}
	v := *u
	if !strings.HasPrefix(v.Path, "/") {
		v.Path = "/" + v.Path
	}
	if v.RawPath != "" && !strings.HasPrefix(v.RawPath, "/") {
		v.RawPath = "/" + v.RawPath
	}
	return &v
}

// mountPrefix returns the part of the path the client asked for that a
// handler in front of the engine removed from r.URL before calling it:
// "/site" when http.StripPrefix("/site", e) serves "/site/blog/" as
// "/blog/". It reads it from r.RequestURI, which StripPrefix (and routers
// mounting a stripped handler) leave as the client sent it. u is r.URL with
// a leading slash (withSlash).
//
// It is "" when nothing was removed; when r.RequestURI is unset (a request
// built in Go rather than read by a server); when r.URL is not a suffix of
// it (a middleware rewrote the path, not stripped it); and when the prefix
// could be read as another host. The redirect then names the path the
// engine saw, as before.
func mountPrefix(r *http.Request, u *url.URL) string {
	if r.RequestURI == "" || r.RequestURI == "*" {
		return ""
	}
	orig, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return ""
	}
	prefix, ok := strings.CutSuffix(orig.EscapedPath(), u.EscapedPath())
	if !ok {
		// The escaping differs (StripPrefix cut RawPath where an escaped
		// slash follows the prefix): compare the decoded paths and escape
		// the prefix anew.
		p, ok := strings.CutSuffix(orig.Path, u.Path)
		if !ok {
			return ""
		}
		prefix = (&url.URL{Path: p}).EscapedPath()
	}
	if prefix != "" && !safeLocation(prefix) {
		return ""
	}
	return prefix
}

// safeLocation reports whether target, an escaped path, can only be read as
// a path of this site: it starts with one "/" (not "//" nor "/\", which
// browsers follow to another host), and holds only printable ASCII other
// than "\".
func safeLocation(target string) bool {
	if len(target) == 0 || target[0] != '/' || (len(target) > 1 && (target[1] == '/' || target[1] == '\\')) {
		return false
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// prefixed returns loc, a render's redirect, with the path the site is
// served under in front when loc is a path of the site ("/blog/a"): the
// base path, and what a handler in front of the engine stripped, as
// Next.js puts basePath in front of redirect() destinations. Anything else
// (an absolute URL, a relative path) is returned as it is.
func (e *Engine) prefixed(r *http.Request, loc []string) []string {
	l := loc[0]
	if len(l) == 0 || l[0] != '/' || (len(l) > 1 && (l[1] == '/' || l[1] == '\\')) {
		return loc
	}
	prefix := mountPrefix(r, withSlash(r.URL)) + e.basePath
	if prefix == "" {
		return loc
	}
	return []string{prefix + l}
}
