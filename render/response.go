package render

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// A render's response: the status and headers a segment sets through its
// Scope, and the redirect a segment returns. The engine stores them with the
// cached entry and replays them on HIT and STALE, as Next.js stores an ISR
// page's status and headers (build/templates/app-page.ts caches
// metadata.statusCode and metadata.headers beside the HTML).

// RedirectError is returned by a segment, through Redirect, to answer a
// redirect (Next.js's redirect() and permanentRedirect()). The render stops
// there: the layouts above the segment do not run, what the segments below
// wrote is dropped, and the Result has status Status, a Location header and
// RedirectBody as its body.
type RedirectError struct {
	URL    string // the Location, as given
	Status int    // http.StatusTemporaryRedirect (307) or http.StatusPermanentRedirect (308)
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("render: redirect %d to %q", e.Status, e.URL)
}

// Redirect returns the error a segment returns to redirect to url: 307, or
// 308 when permanent, as Next.js's redirect() and permanentRedirect() answer
// in a page. A url that is empty or holds a control character fails the
// render instead.
//
//	if moved {
//		return render.Redirect("/blog/"+slug, true)
//	}
func Redirect(url string, permanent bool) error {
	code := http.StatusTemporaryRedirect
	if permanent {
		code = http.StatusPermanentRedirect
	}
	return &RedirectError{URL: url, Status: code}
}

// RedirectBody is the body of a redirect's Result: an HTML document without
// the route's layouts whose meta refresh (0 seconds for 308, 1 for 307)
// takes a browser there if it ignores the status, like the document Next.js
// renders for a redirect (app-render/make-get-server-inserted-html.tsx).
func RedirectBody(url string, status int) []byte {
	delay := "1"
	if status == http.StatusPermanentRedirect {
		delay = "0"
	}
	u := html.EscapeString(url)
	return []byte(`<!DOCTYPE html><html><head><meta id="__next-page-redirect" http-equiv="refresh" content="` +
		delay + `;url=` + u + `"></head><body><a href="` + u + `">` + u + "</a></body></html>\n")
}

// SetStatus sets the status of the render's response; the last call wins.
// It must be 200 to 599, or the render fails. A segment returning
// ErrNotFound or a Redirect overrides it. A call after the render has
// ended does nothing.
func (s *Scope) SetStatus(code int) {
	r := s.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended {
		r.status, r.statusBy = code, s.name
	}
}

// SetHeader sets a header of the render's response, replacing its values,
// like http.Header.Set: Content-Type, Link, Content-Language,
// X-Robots-Tag... (Header, by contrast, reads a request header.) The
// headers are stored with a cached entry and replayed with it. The engine's
// own headers (Cache-Control, ETag, Content-Length, X-Cache-Status,
// Cache-Status) replace a render's. A name that is not a valid header name,
// a value with a control character other than tab, Set-Cookie (a cached
// page would hand one visitor's cookie to all) and Location (return a
// Redirect) fail the render. A call after the render has ended does
// nothing.
func (s *Scope) SetHeader(key, value string) { s.header(key, value, false) }

// AddHeader adds a value to a header of the render's response, like
// http.Header.Add; see SetHeader.
func (s *Scope) AddHeader(key, value string) { s.header(key, value, true) }

func (s *Scope) header(key, value string, add bool) {
	r := s.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return
	}
	if err := checkHeader(key, value); err != nil && r.badHeader == nil {
		r.badHeader = fmt.Errorf("render: route %q: %s: %w", r.job.Route, s.name, err)
	}
	if r.header == nil {
		r.header = http.Header{}
	}
	if add {
		r.header.Add(key, value)
	} else {
		r.header.Set(key, value)
	}
}

// response returns the status (200 when none was set) and a copy of the
// headers the render has set so far.
func (r *recorder) response() (int, http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	status := r.status
	if status < 200 || status > 599 {
		status = http.StatusOK // an invalid status fails the render at its end
	}
	return status, r.header.Clone()
}

// failed reports whether the render has failed already: a violation of
// error mode, or a header or status it may not set.
func (r *recorder) failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first != nil || r.badHeader != nil || r.status != 0 && (r.status < 200 || r.status > 599)
}

// checkHeader reports a header a render may not set.
func checkHeader(key, value string) error {
	if !httpguts.ValidHeaderFieldName(key) {
		return fmt.Errorf("header name %q is not a token (use letters, digits and -)", key)
	}
	switch http.CanonicalHeaderKey(key) {
	case "Set-Cookie":
		return errors.New("Set-Cookie in a render's response (a cached page would give one visitor's cookie to all; set cookies outside the engine)")
	case "Location":
		return errors.New(`Location in a render's response (return render.Redirect(url, permanent) instead)`)
	}
	if !httpguts.ValidHeaderFieldValue(value) {
		return fmt.Errorf("header %s: value %q has a control character (remove it)", key, value)
	}
	return nil
}

// checkRedirect reports a redirect URL that cannot be a Location.
func checkRedirect(e *RedirectError) error {
	switch {
	case e.URL == "":
		return errors.New("redirect to an empty URL (give a path or an absolute URL)")
	case strings.IndexFunc(e.URL, func(c rune) bool { return c < ' ' || c == 0x7f }) >= 0:
		return fmt.Errorf("redirect URL %q has a control character (escape it)", e.URL)
	case e.Status != http.StatusTemporaryRedirect && e.Status != http.StatusPermanentRedirect:
		return fmt.Errorf("redirect status %d (must be 307 or 308; use render.Redirect)", e.Status)
	}
	return nil
}
