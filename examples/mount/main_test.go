package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMount serves the example over HTTP on 127.0.0.1, with the prefix
// stripped and with it named in BasePath: the site answers under /site with
// its redirects keeping the prefix, next to the API and the health check,
// and a write through the API revalidates the page it changes.
func TestMount(t *testing.T) {
	for _, tt := range []struct {
		name     string
		basePath bool
	}{
		{"StripPrefix", false},
		{"BasePath", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := newPosts()
			e, h, err := newServer(db, tt.basePath)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			client := *srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			do := func(method, path, body string) (code int, hdr http.Header, b string) {
				t.Helper()
				req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				res, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				rb, _ := io.ReadAll(res.Body)
				return res.StatusCode, res.Header, string(rb)
			}

			steps := []struct {
				method, path, body string
				code               int
				cache              string // X-Cache-Status; "" when not the engine's
				location           string
				contains           string
			}{
				{"GET", "/site/blog/hello", "", 200, "MISS", "", "<h1>Hello</h1>"},
				{"GET", "/site/blog/hello", "", 200, "HIT", "", "<h1>Hello</h1>"},
				{"GET", "/site/blog/hello/", "", 308, "BYPASS", "/site/blog/hello", ""},
				{"GET", "/site/blog/hello/?ref=x", "", 308, "BYPASS", "/site/blog/hello?ref=x", ""},
				{"GET", "/site", "", 200, "MISS", "", `<a href="/site/blog/hello">Hello</a>`},
				{"GET", "/site/blog/nope", "", 404, "MISS", "", ""},
				{"GET", "/blog/hello", "", 404, "", "", ""}, // outside the mount: the ServeMux's 404
				{"GET", "/healthz", "", 200, "", "", "ok"},
				{"PUT", "/api/posts/hello", `{"title":"Hello again","body":"Edited."}`, 204, "", "", ""},
				{"GET", "/site/blog/hello", "", 200, "MISS", "", "<h1>Hello again</h1>"},
				{"PUT", "/api/posts/nope", `{"title":"Nope","body":"Now here."}`, 204, "", "", ""},
				{"GET", "/site/blog/nope", "", 200, "MISS", "", "<h1>Nope</h1>"},
				{"GET", "/site", "", 200, "MISS", "", `<a href="/site/blog/nope">Nope</a>`},
			}
			for _, s := range steps {
				code, hdr, body := do(s.method, s.path, s.body)
				if code != s.code || hdr.Get("X-Cache-Status") != s.cache || hdr.Get("Location") != s.location {
					t.Errorf("%s %s = %d %q Location %q; want %d %q %q", s.method, s.path, code, hdr.Get("X-Cache-Status"), hdr.Get("Location"), s.code, s.cache, s.location)
				}
				if !strings.Contains(body, s.contains) {
					t.Errorf("%s %s body = %q; want it to contain %q", s.method, s.path, body, s.contains)
				}
			}

			// "/site/" is the root under StripPrefix; with BasePath it
			// redirects to "/site", as Next.js does.
			wantCode, wantLoc := 200, ""
			if tt.basePath {
				wantCode, wantLoc = 308, "/site"
			}
			if code, hdr, _ := do("GET", "/site/", ""); code != wantCode || hdr.Get("Location") != wantLoc {
				t.Errorf("GET /site/ = %d Location %q; want %d %q", code, hdr.Get("Location"), wantCode, wantLoc)
			}
			// The API lists the posts as JSON.
			_, _, body := do("GET", "/api/posts", "")
			var got []post
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("GET /api/posts: %v (%q)", err, body)
			}
			want := []post{
				{Slug: "hello", Title: "Hello again", Body: "Edited."},
				{Slug: "nope", Title: "Nope", Body: "Now here."},
				{Slug: "world", Title: "World", Body: "The second post."},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GET /api/posts mismatch (-want +got):\n%s", diff)
			}
			// A client following the redirect lands on the page.
			res, err := srv.Client().Get(srv.URL + "/site/blog/world/")
			if err != nil {
				t.Fatal(err)
			}
			// The whole body: a streamed MISS stores its entry before its
			// last bytes, not before its headers.
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 || res.Request.URL.Path != "/site/blog/world" {
				t.Errorf("following /site/blog/world/ ended at %s with %d; want /site/blog/world 200", res.Request.URL.Path, res.StatusCode)
			}
			// The cache keys are the route paths, without the prefix.
			if ent, _, _ := e.Entry(context.Background(), "/blog/world"); ent == nil {
				t.Errorf("Entry(/blog/world) = nil; want the page cached under its route path")
			}
		})
	}
}
