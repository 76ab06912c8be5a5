package fetchcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPFetcherBodyLimit(t *testing.T) {
	if f, ok := New(Options{}).fetcher.(httpFetcher); !ok || f.client.Timeout != DefaultTimeout || f.maxBody != 32<<20 {
		t.Errorf("default fetcher = %#v; want an http.Client with a %v timeout reading up to 32 MiB", f, DefaultTimeout)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", len(r.URL.Path)-1))
	}))
	t.Cleanup(srv.Close)
	f := httpFetcher{client: srv.Client(), maxBody: 8}
	tests := []struct {
		path    string
		wantErr string
	}{
		{"/" + strings.Repeat("a", 7), ""},
		{"/" + strings.Repeat("a", 8), ""},
		{"/" + strings.Repeat("a", 9), "response body larger than 8 bytes"},
	}
	for _, tt := range tests {
		resp, err := f.Fetch(t.Context(), &Request{URL: srv.URL + tt.path})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("Fetch(%q) error: %v", tt.path, err)
		case tt.wantErr == "" && len(resp.Body) != len(tt.path)-1:
			t.Errorf("Fetch(%q) body = %q; want %d bytes", tt.path, resp.Body, len(tt.path)-1)
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("Fetch(%q) error = %v; want %s", tt.path, err, tt.wantErr)
		}
	}
}
