package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/render"
)

// newSite returns an engine serving an ISR route /blog/[slug] (tag
// "posts"), a static /about and a dynamic /now, each answering over real
// HTTP, and the admin handler's server.
func newSite(t *testing.T, opts Options) (e *engine.Engine, site, admin *httptest.Server) {
	t.Helper()
	var s engine.Site
	s.Page("/blog/[slug]", engine.Page{Revalidate: regen.Seconds(60), Render: render.PageFunc(
		func(ctx context.Context, sc *render.Scope, w io.Writer) error {
			_, err := fmt.Fprintf(w, "<p>post %s</p>", sc.Param("slug"))
			return err
		})})
	s.Page("/about", engine.Page{Render: render.PageFunc(func(ctx context.Context, sc *render.Scope, w io.Writer) error {
		_, err := io.WriteString(w, "about")
		return err
	})})
	s.Page("/now", engine.Page{Dynamic: regen.ForceDynamic, Render: render.PageFunc(func(ctx context.Context, sc *render.Scope, w io.Writer) error {
		_, err := io.WriteString(w, "now")
		return err
	})})
	e, err := engine.New(&s, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	site = httptest.NewServer(e)
	t.Cleanup(site.Close)
	admin = httptest.NewServer(New(e, opts))
	t.Cleanup(admin.Close)
	return e, site, admin
}

// do sends a request and returns the status, the headers and the body.
func do(t *testing.T, method, u string, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

func TestHealth(t *testing.T) {
	var notReady error
	_, _, admin := newSite(t, Options{Ready: func(ctx context.Context) error { return notReady }})
	tests := []struct {
		name     string
		path     string
		notReady error
		code     int
		body     string
	}{
		{"healthz", "/healthz", nil, 200, "ok\n"},
		{"healthz while not ready", "/healthz", errors.New("store unavailable"), 200, "ok\n"},
		{"readyz", "/readyz", nil, 200, "ready\n"},
		{"readyz not ready", "/readyz", errors.New("store unavailable"), 503, "not ready: store unavailable\n"},
		{"metrics without a gatherer", "/metrics", nil, 404, "404 page not found\n"},
		{"unknown", "/nope", nil, 404, "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			notReady = tt.notReady
			code, h, body := do(t, "GET", admin.URL+tt.path, "")
			if code != tt.code || body != tt.body {
				t.Errorf("GET %s = %d %q; want %d %q", tt.path, code, body, tt.code, tt.body)
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q; want text/plain", ct)
			}
		})
	}
	if code, _, _ := do(t, "POST", admin.URL+"/healthz", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d; want 405", code)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	_, _, admin := newSite(t, Options{Gatherer: reg})
	code, h, body := do(t, "GET", admin.URL+"/metrics", "")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics = %d %q; want 200 in the Prometheus text format", code, h.Get("Content-Type"))
	}
	for _, want := range []string{"# TYPE go_goroutines gauge\n", "\ngo_goroutines ", "\nprocess_start_time_seconds "} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics: no %q in\n%.500s", want, body)
		}
	}
}

func TestInspectorPage(t *testing.T) {
	_, site, admin := newSite(t, Options{})
	for _, p := range []string{"/blog/hello", "/blog/world", "/about", "/now"} {
		do(t, "GET", site.URL+p, "")
	}
	code, h, body := do(t, "GET", admin.URL+"/_regen/", "")
	if code != 200 || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /_regen/ = %d %q; want 200 HTML", code, h.Get("Content-Type"))
	}
	for _, want := range []string{
		`<section class="route" data-route="/blog/[slug]">`,
		`<tr data-path="/blog/hello"><td class="path">/blog/hello</td><td><span class="state fresh">fresh</span></td>`,
		`<tr data-path="/blog/world">`,
		`<tr data-path="/about"><td class="path">/about</td><td><span class="state fresh">fresh</span></td>`,
		`<td class="num">60s</td>`,      // revalidate
		`<td class="num">never</td>`,    // /about's revalidate
		`<td class="num">365d</td>`,     // expire
		`<code>_N_T_/blog/hello</code>`, // a tag
		`<section class="route" data-route="/now">`,
		`revalidate 60 from page /blog/[slug]`, // the policy's reason
		`<form class="revalidate" method="post" action="revalidate">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /_regen/: no %q in\n%s", want, body)
		}
	}
	if strings.Contains(body, `data-path="/now"`) {
		t.Error("GET /_regen/ lists the dynamic path /now")
	}
	if strings.Contains(body, "<script") {
		t.Error("GET /_regen/ has a script")
	}

	// One route; a lookup.
	_, _, body = do(t, "GET", admin.URL+"/_regen/?route="+url.QueryEscape("/about"), "")
	if strings.Contains(body, `data-path="/blog/hello"`) || !strings.Contains(body, `data-path="/about"`) {
		t.Errorf("GET /_regen/?route=/about lists other routes' paths:\n%s", body)
	}
	_, _, body = do(t, "GET", admin.URL+"/_regen/?path=/blog/world", "")
	if !strings.Contains(body, `<h2>/blog/world</h2>`) {
		t.Errorf("GET /_regen/?path=/blog/world: no lookup in\n%s", body)
	}
	_, _, body = do(t, "GET", admin.URL+"/_regen/?path=/blog/none", "")
	if !strings.Contains(body, `No entry for /blog/none.`) {
		t.Errorf("GET /_regen/?path=/blog/none: no %q in\n%s", "No entry", body)
	}
	// A path is escaped.
	do(t, "GET", site.URL+"/blog/%3Cb%3E", "")
	_, _, body = do(t, "GET", admin.URL+"/_regen/", "")
	if strings.Contains(body, "<b>") || !strings.Contains(body, "/blog/&lt;b&gt;") {
		t.Errorf("GET /_regen/ does not escape a path")
	}
}

func TestInspectorJSON(t *testing.T) {
	_, site, admin := newSite(t, Options{})
	do(t, "GET", site.URL+"/blog/hello", "")
	do(t, "GET", site.URL+"/about", "")

	code, h, body := do(t, "GET", admin.URL+"/_regen/api/routes", "")
	if code != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /_regen/api/routes = %d %q", code, h.Get("Content-Type"))
	}
	var routes struct {
		Routes []struct {
			Policy struct {
				Route, Kind string
				Revalidate  any
				Reasons     []string
			}
			Paths int
		}
	}
	if err := json.Unmarshal([]byte(body), &routes); err != nil {
		t.Fatalf("GET /_regen/api/routes: %v in %s", err, body)
	}
	var got []string
	for _, r := range routes.Routes {
		got = append(got, fmt.Sprintf("%s %s %v %d", r.Policy.Route, r.Policy.Kind, r.Policy.Revalidate, r.Paths))
	}
	want := []string{"/about static false 1", "/blog/[slug] isr 60 1", "/now dynamic 0 0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /_regen/api/routes (-want +got):\n%s", diff)
	}

	type path struct {
		Path, Route, State string
		Status             int
		AgeSeconds         float64
		Revalidate         any
		ExpireSeconds      float64
		Tags               []string
		Size               int64
		LastRender         struct {
			At              string
			DurationSeconds float64
			Failures        int
		}
	}
	var paths struct{ Paths []path }
	_, _, body = do(t, "GET", admin.URL+"/_regen/api/paths?route="+url.QueryEscape("/blog/[slug]"), "")
	if err := json.Unmarshal([]byte(body), &paths); err != nil {
		t.Fatalf("GET /_regen/api/paths: %v in %s", err, body)
	}
	if len(paths.Paths) != 1 {
		t.Fatalf("GET /_regen/api/paths?route=/blog/[slug] = %s; want one path", body)
	}
	p := paths.Paths[0]
	if p.Path != "/blog/hello" || p.Route != "/blog/[slug]" || p.State != "fresh" || p.Status != 200 ||
		p.Revalidate != 60.0 || p.ExpireSeconds != 365*24*3600 || p.Size <= 0 || p.LastRender.At == "" ||
		!strings.Contains(strings.Join(p.Tags, " "), "_N_T_/blog/hello") {
		t.Errorf("GET /_regen/api/paths: %+v", p)
	}

	_, _, body = do(t, "GET", admin.URL+"/_regen/api/paths", "")
	if err := json.Unmarshal([]byte(body), &paths); err != nil || len(paths.Paths) != 2 {
		t.Errorf("GET /_regen/api/paths = %s (%v); want two paths", body, err)
	}
	var one path
	code, _, body = do(t, "GET", admin.URL+"/_regen/api/paths?path=/about", "")
	if err := json.Unmarshal([]byte(body), &one); err != nil || code != 200 || one.Path != "/about" || one.Revalidate != false {
		t.Errorf("GET /_regen/api/paths?path=/about = %d %s (%v)", code, body, err)
	}
	for _, q := range []string{"?path=/blog/none", "?route=/none"} {
		if code, _, body := do(t, "GET", admin.URL+"/_regen/api/paths"+q, ""); code != 404 || !strings.Contains(body, `"error"`) {
			t.Errorf("GET /_regen/api/paths%s = %d %s; want 404 with an error", q, code, body)
		}
	}
	if code, _, body := do(t, "GET", admin.URL+"/_regen/api/stats", ""); code != 200 || !strings.Contains(body, `"renders": 2`) {
		t.Errorf("GET /_regen/api/stats = %d %s; want 2 renders", code, body)
	}
}

func TestInspectorRevalidate(t *testing.T) {
	e, site, admin := newSite(t, Options{})
	state := func(path string) string {
		info, _ := e.Lookup(context.Background(), path)
		return info.State.String()
	}
	form := func(v ...string) string {
		q := url.Values{}
		for i := 0; i+1 < len(v); i += 2 {
			q.Set(v[i], v[i+1])
		}
		return q.Encode()
	}
	formType := []string{"Content-Type", "application/x-www-form-urlencoded"}
	jsonType := []string{"Content-Type", "application/json"}
	self := func(h ...string) []string { return append(h, "Origin", admin.URL, "Sec-Fetch-Site", "same-origin") }
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		hdr    []string
		code   int
		body2  string // in the answer
		state  string // of /blog/hello after
	}{
		{"form GET", "GET", "/_regen/revalidate", "", nil, 405, "", "fresh"},
		{"form cross-site Origin", "POST", "/_regen/revalidate", form("target", "path", "value", "/blog/hello"),
			append(formType, "Origin", "http://evil.example"), 403, "", "fresh"},
		{"form cross-site fetch", "POST", "/_regen/revalidate", form("target", "path", "value", "/blog/hello"),
			append(formType, "Sec-Fetch-Site", "cross-site"), 403, "", "fresh"},
		{"form bad target", "POST", "/_regen/revalidate", form("target", "route", "value", "/blog/hello"), self(formType...), 400, "bad target", "fresh"},
		{"form bad path", "POST", "/_regen/revalidate", form("target", "path", "value", "blog"), self(formType...), 400, `must start with "/"`, "fresh"},
		{"form bad tag", "POST", "/_regen/revalidate", form("target", "tag", "value", ""), self(formType...), 400, "tag", "fresh"},
		{"form bad mode", "POST", "/_regen/revalidate", form("target", "path", "value", "/blog/hello", "mode", "later"), self(formType...), 400, "later", "fresh"},
		{"api GET", "GET", "/_regen/api/revalidate", "", nil, 405, "", "fresh"},
		{"api cross-site", "POST", "/_regen/api/revalidate", `{"paths":["/blog/hello"]}`, append(jsonType, "Sec-Fetch-Site", "cross-site"), 403, "", "fresh"},
		{"api bad body", "POST", "/_regen/api/revalidate", `{"paths":`, jsonType, 400, "malformed JSON", "fresh"},
		{"api nothing", "POST", "/_regen/api/revalidate", `{}`, jsonType, 400, "nothing to revalidate", "fresh"},
		{"api unknown profile", "POST", "/_regen/api/revalidate", `{"paths":["/blog/hello"],"mode":"later"}`, jsonType, 400, "later", "fresh"},
		{"form path", "POST", "/_regen/revalidate", form("target", "path", "value", "/blog/hello"), self(formType...), 303, "", "stale"},
		{"api tag expire", "POST", "/_regen/api/revalidate", `{"tags":["_N_T_/blog/hello"],"mode":"expire"}`, jsonType, 200, `"revalidated": true`, "expired"},
		{"form path again", "POST", "/_regen/revalidate", form("target", "path", "value", "/blog/[slug]", "mode", "expire"), self(formType...), 303, "", "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.state == "fresh" || tt.name == "form path" {
				do(t, "GET", site.URL+"/blog/hello", "") // fresh again
			}
			code, h, body := do(t, tt.method, admin.URL+tt.path, tt.body, tt.hdr...)
			if code != tt.code || !strings.Contains(body, tt.body2) {
				t.Errorf("%s %s = %d %q; want %d with %q", tt.method, tt.path, code, body, tt.code, tt.body2)
			}
			if code == 303 && !strings.HasPrefix(h.Get("Location"), "./?done=revalidated+path+") {
				t.Errorf("Location = %q; want back to the page", h.Get("Location"))
			}
			if got := state("/blog/hello"); got != tt.state {
				t.Errorf("state of /blog/hello = %s; want %s", got, tt.state)
			}
		})
	}
	// The page says what was done.
	_, _, body := do(t, "GET", admin.URL+"/_regen/?done="+url.QueryEscape("revalidated path /blog/hello (stale)"), "")
	if !strings.Contains(body, `<p class="notice" id="notice">revalidated path /blog/hello (stale)</p>`) {
		t.Errorf("no notice in\n%s", body)
	}
}
