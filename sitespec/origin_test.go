package sitespec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen/fetchcache"
)

func fetchBody(t *testing.T, f fetchcache.Fetcher, url string, tags ...string) string {
	t.Helper()
	resp, err := f.Fetch(context.Background(), &fetchcache.Request{URL: url, Tags: tags})
	if err != nil {
		t.Fatalf("Fetch(%q) error: %v", url, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("Fetch(%q) status = %d; want 200", url, resp.Status)
	}
	return string(resp.Body)
}

func TestOriginPublish(t *testing.T) {
	o := &Origin{}
	// The origin learns the tags of each URL from the fetches it serves.
	fetchBody(t, o, "/api/a", "a")
	fetchBody(t, o, "/api/b", "b")
	fetchBody(t, o, "/api/ab", "a", "b")
	fetchBody(t, o, "/api/none")

	steps := []struct {
		name    string
		publish func()
		want    map[string]int64
	}{
		{"first versions", func() {}, map[string]int64{"/api/a": 1, "/api/b": 1, "/api/ab": 1, "/api/none": 1}},
		{"Publish(a)", func() { o.Publish("a") }, map[string]int64{"/api/a": 2, "/api/b": 1, "/api/ab": 2, "/api/none": 1}},
		// One new version per tag: /api/ab carries both.
		{"Publish(a, b)", func() { o.Publish("a", "b") }, map[string]int64{"/api/a": 3, "/api/b": 2, "/api/ab": 4, "/api/none": 1}},
		{"Publish(unknown)", func() { o.Publish("unknown") }, map[string]int64{"/api/a": 3, "/api/b": 2, "/api/ab": 4, "/api/none": 1}},
		{"PublishURL", func() { o.PublishURL("/api/none") }, map[string]int64{"/api/a": 3, "/api/b": 2, "/api/ab": 4, "/api/none": 2}},
	}
	for _, step := range steps {
		step.publish()
		for url, want := range step.want {
			if got := o.Version(url); got != want {
				t.Errorf("%s: Version(%q) = %d; want %d", step.name, url, got, want)
			}
			wantBody := fmt.Sprintf(`{"url":%q,"version":%d}`, url, want)
			if got := fetchBody(t, o, url); got != wantBody {
				t.Errorf("%s: body of %q = %s; want %s", step.name, url, got, wantBody)
			}
		}
	}
	if got, want := o.Calls(), int64(4+len(steps)*4); got != want {
		t.Errorf("Calls() = %d; want %d", got, want)
	}
}

// TestOriginPublishBeforeFetch: a Publish counts for the URLs fetched with
// its tag after it too, and the tags a URL was fetched with count for its
// fetches without tags.
func TestOriginPublishBeforeFetch(t *testing.T) {
	o := &Origin{}
	o.Publish("a")
	if got, want := fetchBody(t, o, "/api/late", "a"), `{"url":"/api/late","version":2}`; got != want {
		t.Errorf("first fetch after Publish(a) = %s; want %s", got, want)
	}
	if got, want := fetchBody(t, o, "/api/late"), `{"url":"/api/late","version":2}`; got != want {
		t.Errorf("fetch without tags = %s; want %s", got, want)
	}
	if got := o.Version("/api/late"); got != 2 {
		t.Errorf("Version = %d; want 2", got)
	}
}

// TestOriginFlood: the origin remembers the tags of at most maxURLs URLs
// under a flood of new ones, and its other state does not grow with them. A
// URL it forgot answers the same version when fetched with its tags, and
// PublishURL's versions are never forgotten.
func TestOriginFlood(t *testing.T) {
	o := &Origin{}
	product := func(i int) (string, []string) {
		slug := "p" + strconv.Itoa(i)
		return "/api/products/" + slug, []string{"products", "product-" + slug}
	}
	url0, tags0 := product(0)
	fetchBody(t, o, url0, tags0...)
	o.PublishURL(url0)
	o.Publish("products")
	o.Publish("product-p0")
	const flood = 3 * maxURLs
	for i := 1; i <= flood; i++ {
		url, tags := product(i)
		fetchBody(t, o, url, tags...)
	}
	o.mu.Lock()
	remembered, published, versions := o.tags.Len(), len(o.published), len(o.versions)
	forgot := !o.tags.Contains(url0)
	o.mu.Unlock()
	if remembered != maxURLs || published != 2 || versions != 1 {
		t.Errorf("after %d URLs: tags of %d URLs, %d published tags, %d published URLs; want %d, 2, 1", flood, remembered, published, versions, maxURLs)
	}
	if !forgot {
		t.Fatalf("the first URL's tags are still remembered after %d others; want them forgotten for this test", flood)
	}
	// 1, PublishURL, Publish(products), Publish(product-p0).
	if got, want := fetchBody(t, o, url0, tags0...), fmt.Sprintf(`{"url":%q,"version":4}`, url0); got != want {
		t.Errorf("forgotten URL fetched with its tags = %s; want %s", got, want)
	}
	if got := o.Version(url0); got != 4 {
		t.Errorf("Version of a URL remembered again = %d; want 4", got)
	}
	// A URL fetched after the publishes counts the one of "products".
	url, _ := product(flood)
	if got, want := fetchBody(t, o, url), fmt.Sprintf(`{"url":%q,"version":2}`, url); got != want {
		t.Errorf("recent URL fetched without tags = %s; want %s", got, want)
	}
	if got := o.Version(url); got != 2 {
		t.Errorf("Version(%q) = %d; want 2", url, got)
	}
}

// TestOriginTagsPerURLBounded: a URL fetched with ever new tags keeps the
// first maxURLTags.
func TestOriginTagsPerURLBounded(t *testing.T) {
	o := &Origin{}
	for i := range 2 * maxURLTags {
		fetchBody(t, o, "/api/x", "t"+strconv.Itoa(i))
	}
	o.Publish("t0", "t"+strconv.Itoa(2*maxURLTags-1))
	if got := o.Version("/api/x"); got != 2 {
		t.Errorf("Version = %d; want 2 (t0 remembered, the last tag not)", got)
	}
	o.mu.Lock()
	tags, _ := o.tags.Peek("/api/x")
	o.mu.Unlock()
	if len(tags) != maxURLTags {
		t.Errorf("tags remembered for one URL: %d; want %d", len(tags), maxURLTags)
	}
}

func TestOriginBodyEscapesHTML(t *testing.T) {
	o := &Origin{}
	got := fetchBody(t, o, "/api/<script>&")
	want := `{"url":"/api/\u003cscript\u003e\u0026","version":1}`
	if got != want {
		t.Errorf("body = %s; want %s", got, want)
	}
}

func TestOriginSetStatus(t *testing.T) {
	o := &Origin{}
	o.SetStatus("/api/down", http.StatusServiceUnavailable)
	resp, err := o.Fetch(context.Background(), &fetchcache.Request{URL: "/api/down"})
	if err != nil || resp.Status != http.StatusServiceUnavailable {
		t.Errorf("Fetch(/api/down) = %v, %v; want status 503", resp, err)
	}
	o.SetStatus("/api/down", 0)
	if got, want := fetchBody(t, o, "/api/down"), `{"url":"/api/down","version":1}`; got != want {
		t.Errorf("body after SetStatus(0) = %s; want %s", got, want)
	}
}

func TestOriginLatency(t *testing.T) {
	t.Run("waits its latency", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := &Origin{Latency: 30 * time.Millisecond}
			start := time.Now()
			fetchBody(t, o, "/api/a")
			if got := time.Since(start); got != 30*time.Millisecond {
				t.Errorf("Fetch took %v; want 30ms", got)
			}
		})
	})
	t.Run("a publish during the wait shows", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := &Origin{Latency: 30 * time.Millisecond}
			fetchBody(t, o, "/api/a", "a")
			done := make(chan string)
			go func() { done <- fetchBody(t, o, "/api/a") }()
			time.Sleep(10 * time.Millisecond)
			o.Publish("a")
			if got, want := <-done, `{"url":"/api/a","version":2}`; got != want {
				t.Errorf("body = %s; want %s", got, want)
			}
		})
	})
	t.Run("canceled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := &Origin{Latency: time.Second}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := o.Fetch(ctx, &fetchcache.Request{URL: "/api/a"})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Fetch error = %v; want context.DeadlineExceeded", err)
			}
			if got := time.Since(start); got != 100*time.Millisecond {
				t.Errorf("Fetch gave up after %v; want 100ms", got)
			}
			if got := o.Calls(); got != 1 {
				t.Errorf("Calls() = %d; want 1", got)
			}
		})
	})
	t.Run("Sleep hook", func(t *testing.T) {
		var slept []time.Duration
		o := &Origin{Latency: 30 * time.Millisecond, Sleep: func(ctx context.Context, d time.Duration) error {
			slept = append(slept, d)
			return nil
		}}
		fetchBody(t, o, "/api/a")
		fetchBody(t, o, "/api/b")
		if diff := cmp.Diff([]time.Duration{30 * time.Millisecond, 30 * time.Millisecond}, slept); diff != "" {
			t.Errorf("Sleep calls mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Sleep hook error", func(t *testing.T) {
		boom := errors.New("boom")
		o := &Origin{Sleep: func(context.Context, time.Duration) error { return boom }}
		if _, err := o.Fetch(context.Background(), &fetchcache.Request{URL: "/api/a"}); !errors.Is(err, boom) {
			t.Errorf("Fetch error = %v; want the Sleep hook's", err)
		}
	})
}

func TestFetcher(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Header.Get("X-Test"))
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RequestURI(), body)
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server at %s; want one on 127.0.0.1", srv.URL)
	}

	o := &Origin{}
	tests := []struct {
		name       string
		fetcher    *Fetcher
		req        *fetchcache.Request
		wantStatus int
		wantBody   string
		wantHeader string
	}{
		{
			name:       "relative URL to the origin",
			fetcher:    &Fetcher{Origin: o},
			req:        &fetchcache.Request{URL: "/api/nav"},
			wantStatus: 200,
			wantBody:   `{"url":"/api/nav","version":1}`,
		},
		{
			name:       "absolute URL over HTTP",
			fetcher:    &Fetcher{Origin: o, Client: srv.Client()},
			req:        &fetchcache.Request{URL: srv.URL + "/api/nav?x=1", Header: http.Header{"X-Test": {"yes"}}},
			wantStatus: 200,
			wantBody:   "GET /api/nav?x=1 ",
			wantHeader: "yes",
		},
		{
			name:       "default client",
			fetcher:    &Fetcher{},
			req:        &fetchcache.Request{URL: srv.URL + "/a"},
			wantStatus: 200,
			wantBody:   "GET /a ",
		},
		{
			name:       "method and body",
			fetcher:    &Fetcher{},
			req:        &fetchcache.Request{Method: "POST", URL: srv.URL + "/q", Body: []byte("query")},
			wantStatus: 200,
			wantBody:   "POST /q query",
		},
		{
			name:       "a 404 is a response",
			fetcher:    &Fetcher{},
			req:        &fetchcache.Request{URL: srv.URL + "/missing"},
			wantStatus: 404,
			wantBody:   "404 page not found\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.fetcher.Fetch(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Fetch(%q) error: %v", tt.req.URL, err)
			}
			if resp.Status != tt.wantStatus || string(resp.Body) != tt.wantBody {
				t.Errorf("Fetch(%q) = %d %q; want %d %q", tt.req.URL, resp.Status, resp.Body, tt.wantStatus, tt.wantBody)
			}
			if got := resp.Header.Get("X-Seen"); got != tt.wantHeader {
				t.Errorf("Fetch(%q) sent X-Test %q; want %q", tt.req.URL, got, tt.wantHeader)
			}
		})
	}
	if got := o.Calls(); got != 1 {
		t.Errorf("origin Calls() = %d; want 1 (absolute URLs never reach it)", got)
	}
}

func TestFetcherErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name    string
		fetcher *Fetcher
		url     string
		want    string
	}{
		{"no origin", &Fetcher{}, "/api/nav", `sitespec: fetch "/api/nav": no origin for relative URLs`},
		{"other scheme", &Fetcher{Origin: &Origin{}}, "ftp://example.com/a", `sitespec: fetch "ftp://example.com/a": not a relative URL nor an http:// or https:// one`},
		{"protocol-relative", &Fetcher{Origin: &Origin{}}, "//example.com/a", `sitespec: fetch "//example.com/a": not a relative URL nor an http:// or https:// one`},
		{"unreachable", &Fetcher{}, closed.URL + "/a", `sitespec: fetch "` + closed.URL + `/a": `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.fetcher.Fetch(context.Background(), &fetchcache.Request{URL: tt.url})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Fetch(%q) error = %v; want %s", tt.url, err, tt.want)
			}
		})
	}
}
