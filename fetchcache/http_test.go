package fetchcache_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
)

// The default Fetcher talks to a real server over the loopback interface.
// No time passes in these tests: every call is a miss or a hit at Call.Now.
func TestDefaultFetcher(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/echo":
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Method", r.Method)
			io.WriteString(w, r.Header.Get("X-Token")+" "+string(body))
		case "/missing":
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		name     string
		req      fetchcache.Request
		want     *fetchcache.Response // nil: want an error
		wantErr  string
		wantHits int64 // server hits for two fetches of req
	}{
		{
			name:     "GET",
			req:      fetchcache.Request{URL: srv.URL + "/echo", Header: http.Header{"X-Token": {"a"}}},
			want:     &fetchcache.Response{Status: 200, Body: []byte("a "), Header: http.Header{"X-Method": {"GET"}}},
			wantHits: 1,
		},
		{
			name:     "POST with a body",
			req:      fetchcache.Request{Method: "POST", URL: srv.URL + "/echo", Body: []byte("q=1")},
			want:     &fetchcache.Response{Status: 200, Body: []byte(" q=1"), Header: http.Header{"X-Method": {"POST"}}},
			wantHits: 1,
		},
		{
			name:     "uncached",
			req:      fetchcache.Request{URL: srv.URL + "/echo", Cache: regen.NoStore},
			want:     &fetchcache.Response{Status: 200, Body: []byte(" "), Header: http.Header{"X-Method": {"GET"}}},
			wantHits: 2,
		},
		{
			name:     "404",
			req:      fetchcache.Request{URL: srv.URL + "/missing"},
			wantErr:  `fetchcache: fetch "` + srv.URL + `/missing": status 404 Not Found`,
			wantHits: 2,
		},
		{
			name:     "relative URL",
			req:      fetchcache.Request{URL: "/echo"},
			wantErr:  `fetchcache: fetch "/echo": Get "/echo": unsupported protocol scheme ""`,
			wantHits: 0,
		},
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fetchcache.New(fetchcache.Options{})
			t.Cleanup(func() { c.Close() })
			hits.Store(0)
			for i := range 2 {
				resp, res, err := c.Fetch(t.Context(), &tt.req, fetchcache.Call{Now: now})
				if tt.want == nil {
					if err == nil || err.Error() != tt.wantErr {
						t.Errorf("fetch %d: Fetch error = %v; want %s", i, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("fetch %d: Fetch error: %v", i, err)
				}
				// Compare the header the handler set, not the server's own.
				got := &fetchcache.Response{Status: resp.Status, Body: resp.Body, Header: http.Header{"X-Method": resp.Header.Values("X-Method")}}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("fetch %d: response mismatch (-want +got):\n%s", i, diff)
				}
				if i == 1 && tt.wantHits == 1 && res.Status != regen.Hit {
					t.Errorf("fetch %d: status %v; want HIT", i, res.Status)
				}
			}
			if got := hits.Load(); got != tt.wantHits {
				t.Errorf("server hit %d times; want %d", got, tt.wantHits)
			}
		})
	}

	t.Run("404 is a StatusError", func(t *testing.T) {
		c := fetchcache.New(fetchcache.Options{})
		t.Cleanup(func() { c.Close() })
		_, _, err := c.Fetch(t.Context(), &fetchcache.Request{URL: srv.URL + "/missing"}, fetchcache.Call{})
		if se := (*fetchcache.StatusError)(nil); !errors.As(err, &se) || se.Status != http.StatusNotFound {
			t.Errorf("Fetch error = %v; want a *StatusError 404", err)
		}
	})
}
