package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/regen-dev/regen"
)

func TestCheckPath(t *testing.T) {
	tests := []struct {
		path string
		want pathCheck
	}{
		{"/", pathOK},
		{"/blog", pathOK},
		{"/blog/hello", pathOK},
		{"/blog/hello.html", pathOK},
		{"/a/.../b", pathOK},
		{"/.well-known/x", pathOK},
		{"/blog/", pathTrailingSlash},
		{"/blog//", pathTrailingSlash},
		{"", pathBad},
		{"blog", pathBad},
		{"/a\x00b", pathBad},
		{"/a\nb", pathBad},
		{"/a\x7f", pathBad},
		{"/" + string(make([]byte, MaxPathLen)), pathTooLong},
		{"/" + strings.Repeat("a", MaxPathLen-1), pathOK},
		{"/" + strings.Repeat("a", MaxPathLen), pathTooLong},
		{"/s/\xff\xfe", pathBad},
		{"/s/caf\xc3", pathBad},
		{"/s/\xc3/", pathBad},
		{"/s/\xed\xa0\x80", pathBad}, // a UTF-16 surrogate
		{"/s/café", pathOK},
		{"/s/\ufffd", pathOK},
		{"/s/日本/", pathTrailingSlash},
		{"/\\evil.example/", pathTrailingSlash},
		{"//", pathTrailingSlash},
		{"/a\x00/", pathBad},
		{"//a", pathNotFound},
		{"/a//b", pathNotFound},
		{"/..", pathNotFound},
		{"/a/../b", pathNotFound},
		{"/a/./b", pathNotFound},
		{"/a/..", pathNotFound},
		{"/a/../", pathNotFound},
	}
	for _, tt := range tests {
		if got := checkPath(tt.path); got != tt.want {
			t.Errorf("checkPath(%q) = %v; want %v", tt.path, got, tt.want)
		}
	}
}

func TestEtagMatch(t *testing.T) {
	tests := []struct {
		inm  []string
		etag string
		want bool
	}{
		{[]string{`"a"`}, `"a"`, true},
		{[]string{`"b", "a"`}, `"a"`, true},
		{[]string{`W/"a"`}, `"a"`, true},
		{[]string{`*`}, `"a"`, true},
		{[]string{`"b"`, `"c", "a"`}, `"a"`, true},
		{[]string{`"b"`}, `"a"`, false},
		{[]string{``}, `"a"`, false},
		{[]string{`"ab"`}, `"a"`, false},
	}
	for _, tt := range tests {
		if got := etagMatch(tt.inm, tt.etag); got != tt.want {
			t.Errorf("etagMatch(%q, %q) = %v; want %v", tt.inm, tt.etag, got, tt.want)
		}
	}
}

func TestCacheControl(t *testing.T) {
	tests := []struct {
		kind   Kind
		rev    regen.Revalidate
		expire time.Duration
		want   string
	}{
		{Static, regen.Forever, DefaultExpire, "s-maxage=31536000"},
		{ISR, regen.Seconds(60), DefaultExpire, "s-maxage=60, stale-while-revalidate=31535940"},
		{ISR, regen.Seconds(3600), 10 * time.Minute, "s-maxage=3600, stale-while-revalidate=0"},
		{Dynamic, regen.Never, DefaultExpire, "private, no-cache, no-store, max-age=0, must-revalidate"},
	}
	for _, tt := range tests {
		if got := cacheControl(tt.kind, tt.rev, tt.expire); got != tt.want {
			t.Errorf("cacheControl(%v, %v, %v) = %q; want %q", tt.kind, tt.rev, tt.expire, got, tt.want)
		}
	}
}

// BenchmarkCheckPath checks the path of a hit; it must not allocate.
func BenchmarkCheckPath(b *testing.B) {
	for _, p := range []string{"/blog/hello", "/products/" + strings.Repeat("a", 200), "/s/café-日本"} {
		b.Run(fmt.Sprintf("len=%d", len(p)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if checkPath(p) != pathOK {
					b.Fatal(p)
				}
			}
		})
	}
}
