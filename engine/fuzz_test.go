package engine

import (
	"encoding/json"
	"testing"
)

// FuzzParsePattern: no panics, and a parsed pattern formats back to itself.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"/", "/blog", "/blog/[slug]", "/docs/[...path]", "/docs/[[...path]]", "/(shop)/cart",
		"blog", "/blog/", "//x", "/[1x]", "/a/../b", "/[[...a]", "/(a", "/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts, err := parsePattern(s)
		if err != nil {
			return
		}
		if got := joinParts(parts); got != s {
			t.Errorf("joinParts(parsePattern(%q)) = %q", s, got)
		}
	})
}

// FuzzParseRevalidateRequest: no panics, and an accepted request encodes
// and parses back to the same request.
func FuzzParseRevalidateRequest(f *testing.F) {
	for _, s := range []string{`{"tags":["posts"]}`, `{"paths":["/blog/hello"],"mode":"expire"}`, `{"paths":["/blog"],"type":"layout"}`,
		`{}`, `{"paths":`, `{"tags":[1]}`, `{"mode":"soft","tags":["a"]}`, `{"tags":["a"]} {}`, `{"tags":["a"],"mode":"max"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRevalidateRequest(body)
		if err != nil {
			return
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseRevalidateRequest(b)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		b2, _ := json.Marshal(again)
		if string(b) != string(b2) {
			t.Errorf("round trip %s != %s", b, b2)
		}
	})
}
