package fetchcache_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
)

var keyFormat = regexp.MustCompile(`^fetch:[0-9a-f]{32}$`)

func TestKey(t *testing.T) {
	base := fetchcache.Request{
		URL:    "https://api.example.com/posts?page=1",
		Header: http.Header{"Accept": {"application/json"}, "X-Token": {"a"}},
	}
	with := func(f func(r *fetchcache.Request)) *fetchcache.Request {
		r := base
		r.Header = base.Header.Clone()
		f(&r)
		return &r
	}
	tests := []struct {
		name string
		a, b *fetchcache.Request
		same bool
	}{
		{"same request", &base, with(func(*fetchcache.Request) {}), true},
		{"GET is the default method", &base, with(func(r *fetchcache.Request) { r.Method = "GET" }), true},
		{"method", &base, with(func(r *fetchcache.Request) { r.Method = "POST" }), false},
		{"URL", &base, with(func(r *fetchcache.Request) { r.URL += "0" }), false},
		{"query", &base, with(func(r *fetchcache.Request) { r.URL = "https://api.example.com/posts?page=2" }), false},
		{"header value", &base, with(func(r *fetchcache.Request) { r.Header.Set("X-Token", "b") }), false},
		{"header added", &base, with(func(r *fetchcache.Request) { r.Header.Set("X-Other", "a") }), false},
		{"header removed", &base, with(func(r *fetchcache.Request) { r.Header.Del("X-Token") }), false},
		{"no header", &base, with(func(r *fetchcache.Request) { r.Header = nil }), false},
		{"header name case", &base, with(func(r *fetchcache.Request) {
			r.Header = http.Header{"x-token": {"a"}, "accept": {"application/json"}}
		}), true},
		{"header values order", with(func(r *fetchcache.Request) { r.Header["X-Token"] = []string{"a", "b"} }),
			with(func(r *fetchcache.Request) { r.Header["X-Token"] = []string{"b", "a"} }), false},
		{"header values across name cases", with(func(r *fetchcache.Request) { r.Header["X-Token"] = []string{"a", "b"} }),
			with(func(r *fetchcache.Request) { r.Header["X-Token"] = []string{"a"}; r.Header["x-token"] = []string{"b"} }), true},
		{"header without values", &base, with(func(r *fetchcache.Request) { r.Header["X-Empty"] = nil }), true},
		{"traceparent", &base, with(func(r *fetchcache.Request) {
			r.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		}), true},
		{"tracestate", &base, with(func(r *fetchcache.Request) { r.Header["tracestate"] = []string{"congo=t61rcWkgMzE"} }), true},
		{"body", &base, with(func(r *fetchcache.Request) { r.Body = []byte("q=1") }), false},
		{"empty body", &base, with(func(r *fetchcache.Request) { r.Body = []byte{} }), true},
		{"bodies", with(func(r *fetchcache.Request) { r.Body = []byte("q=1") }),
			with(func(r *fetchcache.Request) { r.Body = []byte("q=2") }), false},
		{"URL and body concatenated", &fetchcache.Request{URL: "/ab", Body: []byte("c")},
			&fetchcache.Request{URL: "/a", Body: []byte("bc")}, false},
		{"header name and value concatenated", &fetchcache.Request{URL: "/", Header: http.Header{"A": {"bc"}}},
			&fetchcache.Request{URL: "/", Header: http.Header{"Ab": {"c"}}}, false},
		{"header values concatenated", &fetchcache.Request{URL: "/", Header: http.Header{"A": {"b", "c"}}},
			&fetchcache.Request{URL: "/", Header: http.Header{"A": {"bc"}}}, false},
		{"method and URL concatenated", &fetchcache.Request{Method: "GE", URL: "T/"},
			&fetchcache.Request{Method: "GET", URL: "/"}, false},
		{"caching options are not in the key", &base, with(func(r *fetchcache.Request) {
			r.Revalidate, r.Cache, r.Tags = regen.Seconds(5), regen.ForceCache, []string{"posts"}
		}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := fetchcache.Key(tt.a), fetchcache.Key(tt.b)
			for _, k := range []string{a, b} {
				if !keyFormat.MatchString(k) {
					t.Errorf("Key = %q; want fetch: and 32 hex digits", k)
				}
			}
			if (a == b) != tt.same {
				t.Errorf("Key(a) = %s, Key(b) = %s; want same = %v", a, b, tt.same)
			}
			if again := fetchcache.Key(tt.a); again != a {
				t.Errorf("Key(a) = %s, then %s; want it stable", a, again)
			}
		})
	}
}

func TestKeyGolden(t *testing.T) {
	// Keys are stored, possibly in a store shared across versions: a
	// change to them must be deliberate.
	req := &fetchcache.Request{
		Method: "POST",
		URL:    "https://api.example.com/search",
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"q":"go"}`),
	}
	if got, want := fetchcache.Key(req), "fetch:d396f7b46a182e32193fb67e32fd3f5c"; got != want {
		t.Errorf("Key = %s; want %s", got, want)
	}
}

func TestMemoizeKey(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		same bool
	}{
		{"same parts", []string{"user", "42"}, []string{"user", "42"}, true},
		{"different part", []string{"user", "42"}, []string{"user", "43"}, false},
		{"order", []string{"user", "42"}, []string{"42", "user"}, false},
		{"joined", []string{"a,b"}, []string{"a", "b"}, false},
		{"split differently", []string{"ab", "c"}, []string{"a", "bc"}, false},
		{"empty part", []string{"a"}, []string{"a", ""}, false},
		{"no parts", nil, []string{""}, false},
	}
	noop := func(context.Context) ([]byte, error) { return nil, nil }
	c := fetchcache.New(fetchcache.Options{})
	t.Cleanup(func() { c.Close() })
	uncached := fetchcache.MemoOptions{Revalidate: regen.Never}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ra, _ := c.Memoize(t.Context(), tt.a, uncached, fetchcache.Call{}, noop)
			_, rb, _ := c.Memoize(t.Context(), tt.b, uncached, fetchcache.Call{}, noop)
			if (ra.Key == rb.Key) != tt.same {
				t.Errorf("keys %s and %s; want same = %v", ra.Key, rb.Key, tt.same)
			}
			if !regexp.MustCompile(`^memo:[0-9a-f]{32}$`).MatchString(ra.Key) {
				t.Errorf("key = %q; want memo: and 32 hex digits", ra.Key)
			}
		})
	}
}

func TestKeyAllocs(t *testing.T) {
	req := &fetchcache.Request{
		URL:    "https://api.example.com/posts",
		Header: http.Header{"Accept": {"application/json"}, "Authorization": {"Bearer x"}, "X-Token": {"a"}},
	}
	if n := testing.AllocsPerRun(100, func() { fetchcache.Key(req) }); n != 1 {
		t.Errorf("Key allocates %v times; want 1, the key", n)
	}
}

// referenceKey is Key written out plainly: the fields encoded into one
// buffer, then hashed twice.
func referenceKey(req *fetchcache.Request) string {
	var b []byte
	str := func(s string) {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	method := req.Method
	if method == "" {
		method = "GET"
	}
	str(method)
	str(req.URL)
	canon := map[string][]string{}
	for k, vs := range req.Header {
		c := http.CanonicalHeaderKey(k)
		if len(vs) > 0 && c != "Traceparent" && c != "Tracestate" {
			canon[c] = append(canon[c], k)
		}
	}
	names := slices.Sorted(maps.Keys(canon))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(names)))
	for _, c := range names {
		raws := canon[c]
		slices.Sort(raws)
		var vs []string
		for _, r := range raws {
			vs = append(vs, req.Header[r]...)
		}
		str(c)
		b = binary.LittleEndian.AppendUint64(b, uint64(len(vs)))
		for _, v := range vs {
			str(v)
		}
	}
	str(string(req.Body))
	lo := xxhash.NewWithSeed(0x9e3779b97f4a7c15)
	lo.Write(b)
	return fmt.Sprintf("fetch:%016x%016x", xxhash.Sum64(b), lo.Sum64())
}

func TestKeyReference(t *testing.T) {
	sizes := []int{0, 1, 7, 8, 100, 503, 504, 505, 511, 512, 513, 1000, 5000}
	for _, n := range sizes {
		for _, m := range []int{0, 3, 40} {
			long := strings.Repeat("a", n)
			req := &fetchcache.Request{Method: "PUT", URL: "https://x.example/" + long, Header: http.Header{}, Body: []byte(long + "!")}
			for i := range m {
				req.Header.Add(fmt.Sprintf("x-h%d", i%7), long[:min(n, i*13)])
			}
			got, want := fetchcache.Key(req), referenceKey(req)
			if got != want {
				t.Errorf("size %d, %d headers: Key = %s; reference %s", n, m, got, want)
			}
		}
	}
}
