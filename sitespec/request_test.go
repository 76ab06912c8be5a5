package sitespec

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen/engine"
)

// TestEngineRequestAPIs serves a spec whose segments read cookies, headers
// and search params over real HTTP: each synthetic render writes the values
// it read, sorted and escaped, so two requests with different cookies get
// two different bodies from the dynamic route, and a handler reading its
// request still writes only its fetch bodies.
func TestEngineRequestAPIs(t *testing.T) {
	spec, err := Parse("site.yaml", []byte(`
segments:
  /:
    layout: {uses: [cookies]}
  /search:
    page: {uses: [searchParams, headers]}
  /me.txt:
    handler:
      uses: [cookies]
      fetches: [{url: /api/me}]
`))
	if err != nil {
		t.Fatal(err)
	}
	built := spec.Build(Options{Sleep: noSleep})
	e, err := engine.New(built.Site, engine.Options{Fetcher: built.Fetcher})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	get := func(path, cookie string) (status string, body string) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Every header the server sees, in no particular order.
		req.Header.Set("User-Agent", "test")
		req.Header.Set("Accept-Encoding", "identity")
		req.Header.Set("Cookie", cookie)
		req.Header.Add("X-Two", "b<")
		req.Header.Add("X-Two", "a")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d; want 200", path, res.StatusCode)
		}
		return res.Header.Get("X-Cache-Status"), string(b)
	}

	tests := []struct {
		name, path, cookie string
		want               string
	}{
		{
			name:   "ada",
			path:   "/search?q=%3Cb%3E&a=1&q=hat",
			cookie: `theme=dark; session=ada; session=a&b`,
			want: `<div data-layout="/">
<p data-cookie="session">ada</p>
<p data-cookie="session">a&amp;b</p>
<p data-cookie="theme">dark</p>
<main data-page="/search">
<p data-search="a">1</p>
<p data-search="q">&lt;b&gt;</p>
<p data-search="q">hat</p>
<p data-header="Accept-Encoding">identity</p>
<p data-header="Cookie">theme=dark; session=ada; session=a&amp;b</p>
<p data-header="User-Agent">test</p>
<p data-header="X-Two">b&lt;</p>
<p data-header="X-Two">a</p>
</main>
</div>
`,
		},
		{
			name:   "bob",
			path:   "/search?q=%3Cb%3E&a=1&q=hat",
			cookie: `session=bob`,
			want: `<div data-layout="/">
<p data-cookie="session">bob</p>
<main data-page="/search">
<p data-search="a">1</p>
<p data-search="q">&lt;b&gt;</p>
<p data-search="q">hat</p>
<p data-header="Accept-Encoding">identity</p>
<p data-header="Cookie">session=bob</p>
<p data-header="User-Agent">test</p>
<p data-header="X-Two">b&lt;</p>
<p data-header="X-Two">a</p>
</main>
</div>
`,
		},
		{
			name:   "handler",
			path:   "/me.txt",
			cookie: `session=ada`,
			want:   `{"url":"/api/me","version":1}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(tt.path, tt.cookie)
			if status != "BYPASS" {
				t.Errorf("GET %s X-Cache-Status = %q; want BYPASS", tt.path, status)
			}
			if diff := cmp.Diff(tt.want, body); diff != "" {
				t.Errorf("GET %s with Cookie %q body (-want +got):\n%s", tt.path, tt.cookie, diff)
			}
		})
	}
}
