package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/regen-dev/regen/render"
)

func TestRevalidateHandler(t *testing.T) {
	const secret = "s3cret-token"
	var site Site
	site.Page("/a", Page{Render: fetchPage("a", nil)})
	site.Page("/b", Page{Render: fetchPage("b", nil)})
	var logs logBuffer
	e := newEngine(t, &site, Options{Logger: logs.logger()})
	mux := http.NewServeMux()
	mux.Handle("/api/revalidate", NewRevalidateHandler(e, RevalidateHandlerOptions{Secret: secret, Logger: logs.logger()}))
	mux.Handle("/", e)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	call := func(method, auth, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+"/api/revalidate", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	status := func(path string) string {
		t.Helper()
		res, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header.Get("X-Cache-Status")
	}
	status("/a")
	status("/b")

	bad := []struct {
		name, method, auth, body string
		code                     int
		reason                   string
	}{
		{"GET", http.MethodGet, "Bearer " + secret, "", 405, "method GET not allowed"},
		{"no secret", http.MethodPost, "", `{"paths":["/a"]}`, 401, "missing or wrong secret"},
		{"wrong secret", http.MethodPost, "Bearer nope", `{"paths":["/a"]}`, 401, "missing or wrong secret"},
		{"not bearer", http.MethodPost, secret, `{"paths":["/a"]}`, 401, "missing or wrong secret"},
		{"too large", http.MethodPost, "Bearer " + secret, `{"tags":["` + strings.Repeat("x", 70000) + `"]}`, 413, "body over 65536 bytes"},
		{"malformed", http.MethodPost, "Bearer " + secret, `{"paths":`, 400, "malformed JSON body"},
		{"unknown field", http.MethodPost, "Bearer " + secret, `{"path":["/a"]}`, 400, `unknown field "path"`},
		{"empty", http.MethodPost, "Bearer " + secret, `{}`, 400, "nothing to revalidate"},
		{"bad mode", http.MethodPost, "Bearer " + secret, `{"paths":["/a"],"mode":"so ft"}`, 400, `unknown revalidate mode "so ft"`},
		{"unknown profile", http.MethodPost, "Bearer " + secret, `{"paths":["/a"],"mode":"soft"}`, 400, `unknown cache profile "soft"`},
		{"bad type", http.MethodPost, "Bearer " + secret, `{"paths":["/a"],"type":"segment"}`, 400, `unknown type "segment" (must be page or layout)`},
		{"wrong JSON type", http.MethodPost, "Bearer " + secret, `{"tags":[1]}`, 400, "malformed JSON body"},
		{"bad path", http.MethodPost, "Bearer " + secret, `{"paths":["/a","b"]}`, 400, `bad path "b"`},
		{"long tag", http.MethodPost, "Bearer " + secret, `{"tags":["` + strings.Repeat("x", 300) + `"]}`, 400, "tag limit exceeded"},
		{"dot dot", http.MethodPost, "Bearer " + secret, `{"paths":["/a","/b/../a"]}`, 400, `bad path "/b/../a": has a dot segment`},
		{"encoded dot dot", http.MethodPost, "Bearer " + secret, `{"paths":["/b/%2e%2e/a"]}`, 400, `bad path "/b/%2e%2e/a": has a dot segment`},
		{"mixed dot dot", http.MethodPost, "Bearer " + secret, `{"paths":["/b/.%2E"]}`, 400, `bad path "/b/.%2E": has a dot segment`},
		{"dot", http.MethodPost, "Bearer " + secret, `{"paths":["/./a"]}`, 400, `bad path "/./a": has a dot segment`},
		{"leading dot dot", http.MethodPost, "Bearer " + secret, `{"paths":["/.."]}`, 400, `bad path "/..": has a dot segment`},
		{"relative", http.MethodPost, "Bearer " + secret, `{"paths":["../a"]}`, 400, `bad path "../a": must start with "/"`},
		{"path NUL", http.MethodPost, "Bearer " + secret, `{"paths":["/a\u0000"]}`, 400, `bad path "/a\x00": holds a control character`},
		{"path CRLF", http.MethodPost, "Bearer " + secret, `{"paths":["/a\r\nX: y"]}`, 400, `holds a control character`},
		{"path too long", http.MethodPost, "Bearer " + secret, `{"paths":["/` + strings.Repeat("a", MaxPathLen) + `"]}`, 400, "over 2048 bytes"},
		{"tag NUL", http.MethodPost, "Bearer " + secret, `{"tags":["posts","a\u0000"]}`, 400, "control character"},
		{"tag CR", http.MethodPost, "Bearer " + secret, `{"tags":["a\rb"]}`, 400, "control character"},
		{"tag LF", http.MethodPost, "Bearer " + secret, `{"tags":["a\nb"]}`, 400, "control character"},
		{"bearer without token", http.MethodPost, "Bearer", `{"paths":["/a"]}`, 401, "missing or wrong secret"},
		{"bearer glued to token", http.MethodPost, "Bearer" + secret, `{"paths":["/a"]}`, 401, "missing or wrong secret"},
		{"other scheme", http.MethodPost, "Basic " + secret, `{"paths":["/a"]}`, 401, "missing or wrong secret"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(tt.method, tt.auth, tt.body)
			var got struct {
				Revalidated bool   `json:"revalidated"`
				Error       string `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("%s: body %q is not JSON: %v", tt.name, body, err)
			}
			if code != tt.code || got.Revalidated || !strings.Contains(got.Error, tt.reason) {
				t.Errorf("%s = %d %s; want %d with %q", tt.name, code, body, tt.code, tt.reason)
			}
		})
	}
	if s := status("/a"); s != "HIT" {
		t.Errorf("after bad requests GET /a = %s; want HIT (a bad request revalidates nothing)", s)
	}
	if s := status("/b"); s != "HIT" {
		t.Errorf("after bad requests GET /b = %s; want HIT (a bad request revalidates nothing)", s)
	}

	// The scheme is case-insensitive (RFC 9110 11.1).
	for _, auth := range []string{"bearer " + secret, "BEARER " + secret, "Bearer  " + secret} {
		if code, body := call(http.MethodPost, auth, `{"tags":["unused"]}`); code != 200 {
			t.Errorf("Authorization %.8q... = %d %s; want 200", auth, code, body)
		}
	}

	code, body := call(http.MethodPost, "Bearer "+secret, `{"paths":["/a"],"mode":"expire"}`)
	var ok struct {
		Revalidated bool  `json:"revalidated"`
		Now         int64 `json:"now"`
	}
	if err := json.Unmarshal([]byte(body), &ok); code != 200 || err != nil || !ok.Revalidated || ok.Now == 0 {
		t.Fatalf("good request = %d %s; want 200 {revalidated: true, now}", code, body)
	}
	if want := fmt.Sprintf(`{"revalidated":true,"now":%d}`+"\n", ok.Now); body != want {
		t.Errorf("good request body = %q; want %q", body, want)
	}
	if s := status("/a"); s != "MISS" {
		t.Errorf("after expire GET /a = %s; want MISS", s)
	}
	if s := status("/b"); s != "HIT" {
		t.Errorf("GET /b = %s; want HIT", s)
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("log holds the secret: %s", logs.String())
	}
	if !strings.Contains(logs.String(), "regen: revalidated") || !strings.Contains(logs.String(), "/a") {
		t.Errorf("log = %s; want a line naming what was revalidated", logs.String())
	}
}

func TestPolicyJSON(t *testing.T) {
	var site Site
	site.Page("/products/[slug]", Page{Revalidate: sec(60), Render: nopPage, StaticParams: []render.Params{{"slug": "shoe"}, {"slug": "hat"}}})
	site.Page("/about", Page{Render: nopPage})
	site.Page("/me", Page{Dynamic: 2, Render: nopPage})
	e := newEngine(t, &site, Options{})
	var lines []string
	for _, p := range e.Routes() {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	want := []string{
		`{"route":"/about","kind":"static","revalidate":false,"expire":31536000,"dynamicParams":true,"prerender":["/about"],"reasons":["static: no revalidate declared (cached until revalidated on demand)"]}`,
		`{"route":"/me","kind":"dynamic","revalidate":0,"expire":31536000,"dynamicParams":true,"prerender":[],"reasons":["dynamic because page /me declares dynamic force-dynamic"]}`,
		`{"route":"/products/[slug]","kind":"isr","revalidate":60,"expire":31536000,"dynamicParams":true,"prerender":["/products/hat","/products/shoe"],"reasons":["revalidate 60 from page /products/[slug]"]}`,
	}
	if got := strings.Join(lines, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("routes JSON:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
