package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/render"
)

// rawGet sends target as the request line's target, byte for byte (a Go
// client would escape it), and returns the answer.
func rawGet(t *testing.T, srv *httptest.Server, target string) httpResponse {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, srv.Listener.Addr())
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return httpResponse{res.StatusCode, res.Header, string(b)}
}

// offSite reports whether a browser could follow loc off the site: a
// scheme-relative "//host" (browsers read "\" as "/" and drop tabs and
// newlines first), or an absolute URL.
func offSite(loc string) bool {
	l := strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	u, err := url.Parse(l)
	return err != nil || u.Host != "" || u.Scheme != "" || strings.HasPrefix(l, "//")
}

// TestHTTPSlashRedirectStaysOnSite: the trailing-slash redirect is built
// from the path as the client escaped it, keeps the query, and never points
// off the site or at another page. Before, "/%5cevil.example/" answered
// "Location: /\evil.example", which browsers follow to evil.example, and
// "/static%3Fx=1/" answered "/static?x=1", another page.
func TestHTTPSlashRedirectStaysOnSite(t *testing.T) {
	hs := newHTTPSite(t, Options{})
	tests := []struct {
		target   string
		code     int
		location string // "" when no redirect
	}{
		{"/static/", 308, "/static"},
		{"/static///", 308, "/static"},
		{"/static/?x=1", 308, "/static?x=1"},
		{"/static/?x=1&y=%2F", 308, "/static?x=1&y=%2F"},
		{"/%5cevil.example/", 308, "/%5cevil.example"},
		{"/%5Cevil.example/", 308, "/%5Cevil.example"},
		{`/\evil.example/`, 308, "/%5Cevil.example"},
		{"/static%3Fx=1/", 308, "/static%3Fx=1"},
		{"/products/a%3Fx=1/", 308, "/products/a%3Fx=1"},
		{"/a%23frag/", 308, "/a%23frag"},
		{"/caf%C3%A9/", 308, "/caf%C3%A9"},
		{"/a%2f/", 308, "/a"},             // the escaped slash is a trailing one once decoded
		{"/a/%2f%2f/", 308, "/a"},         // no redirect loop
		{"/%2f%2fevil/", 404, ""},         // "///evil/": empty segments
		{"/%2F%2Fevil.example/", 404, ""}, //
		{"///evil/", 404, ""},
		{"//evil.example/", 404, ""},
		{"/%09/", 400, ""},
		{"/%09/evil.example/", 400, ""},
		{"/.%2fevil/", 404, ""},
		{"/%2e%2e/evil/", 404, ""},
		{"/", 404, ""}, // no route at "/": not a redirect
		{"//", 308, "/"},
	}
	for _, tt := range tests {
		r := rawGet(t, hs.srv, tt.target)
		loc := r.header.Get("Location")
		if r.code != tt.code || loc != tt.location {
			t.Errorf("GET %s = %d Location %q; want %d %q", tt.target, r.code, loc, tt.code, tt.location)
		}
		if loc != "" && offSite(loc) {
			t.Errorf("GET %s: Location %q leads off the site", tt.target, loc)
		}
		if r.header.Get("X-Cache-Status") != "BYPASS" {
			t.Errorf("GET %s X-Cache-Status = %q; want BYPASS", tt.target, r.header.Get("X-Cache-Status"))
		}
	}
	// The Go client follows the redirect to the page.
	res, err := hs.srv.Client().Get(hs.srv.URL + "/static/?x=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.RequestURI() != "/static?x=1" {
		t.Errorf("following /static/?x=1 ended at %s with %d; want /static?x=1 200", res.Request.URL.RequestURI(), res.StatusCode)
	}
	if head := hs.do(t, http.MethodHead, "/static/"); head.code != 308 || head.body != "" || head.header.Get("Location") != "/static" {
		t.Errorf("HEAD /static/ = %d %q Location %q; want 308, no body, /static", head.code, head.body, head.header.Get("Location"))
	}
}

// TestSlashRedirectNeverOffSite fuzzes the redirect with every byte where a
// path would let a browser leave the site.
func TestSlashRedirectNeverOffSite(t *testing.T) {
	for _, raw := range []string{
		"/%5c%5cevil/", "/%5c/evil/", "/\\/evil/", "/%5C%2Fevil/", "/%2F%5Cevil/", "/%20/evil/", "/%7f/",
		"/%09%09evil/", "/%0a/evil/", "/%0d%0aSet-Cookie:x/", "/a?b/", "/%E2%80%AE/", "/%ff/",
	} {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			continue
		}
		if checkPath(u.Path) != pathTrailingSlash {
			continue
		}
		target, ok := slashRedirect(u, trimTrailingSlash(u.Path))
		if ok && (offSite(target) || strings.ContainsAny(target, "\r\n\t\\ ")) {
			t.Errorf("slashRedirect(%q) = %q: leads off the site", raw, target)
		}
	}
}

// TestHTTPHostilePaths: invalid UTF-8 after percent-decoding is 400, as in
// Next.js, and nothing is rendered or cached; over MaxPathLen is 414.
func TestHTTPHostilePaths(t *testing.T) {
	var site Site
	site.Page("/s/[q]", Page{Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		fmt.Fprintf(w, "q=%s", s.Param("q"))
		return nil
	})})
	e := newEngine(t, &site, Options{Logger: (&logBuffer{}).logger()})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	hs := &httpSite{srv: srv, e: e}
	tests := []struct {
		path string
		code int
	}{
		{"/s/%ff%fe", 400},
		{"/s/%ff%fe", 400}, // and again: nothing was cached
		{"/s/caf%C3", 400},
		{"/s/%C3%28", 400},
		{"/s/%ED%A0%80", 400}, // an encoded UTF-16 surrogate
		{"/s/%C0%AF", 400},    // an overlong "/"
		{"/s/%ff%fe/", 400},
		{"/s/" + strings.Repeat("a", MaxPathLen-3), 200},
		{"/s/" + strings.Repeat("a", MaxPathLen-2), 414},
		{"/s/" + strings.Repeat("%61", MaxPathLen), 414},
		{"/s/" + strings.Repeat("a", 10*MaxPathLen), 414},
	}
	for _, tt := range tests {
		before := e.Stats().Renders
		r := hs.do(t, http.MethodGet, tt.path)
		want := "BYPASS"
		if tt.code == 200 {
			want = "MISS"
		}
		if r.code != tt.code || r.header.Get("X-Cache-Status") != want {
			t.Errorf("GET %.40s = %d %s; want %d %s", tt.path, r.code, r.header.Get("X-Cache-Status"), tt.code, want)
		}
		if tt.code != 200 && e.Stats().Renders != before {
			t.Errorf("GET %.40s rendered %d times; want 0", tt.path, e.Stats().Renders-before)
		}
	}
	if r := hs.do(t, http.MethodGet, "/s/caf%C3%A9"); r.code != 200 || r.body != "q=café" {
		t.Errorf("GET /s/caf%%C3%%A9 = %d %q; want 200 q=café", r.code, r.body)
	}
}

// TestRevalidatePathRefuses: Engine.RevalidatePath refuses what the
// endpoint refuses, with the same reasons.
func TestRevalidatePathRefuses(t *testing.T) {
	e := newEngine(t, &Site{}, Options{})
	for path, want := range map[string]string{
		"blog":        `must start with "/"`,
		"/a/../b":     "dot segment",
		"/a/%2e%2e/b": "dot segment",
		"/a\nb":       "control character",
		"/\xff":       "UTF-8",
	} {
		err := e.RevalidatePath(t.Context(), path, PagePath, regen.RevalidateStale)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("RevalidatePath(%q) = %v; want an error saying %q", path, err, want)
		}
	}
	if err := e.RevalidatePath(t.Context(), "/blog/[slug]", PagePath, regen.RevalidateStale); err != nil {
		t.Errorf("RevalidatePath of a route pattern = %v", err)
	}
}
