package regen

import (
	"errors"
	"strings"
	"testing"
)

func TestRevalidate(t *testing.T) {
	tests := []struct {
		r        Revalidate
		str      string
		valid    bool
		interval bool
	}{
		{NotDeclared, "not declared", true, false},
		{Forever, "false", true, false},
		{Never, "0", true, false},
		{Seconds(0), "0", true, false},
		{Seconds(60), "60", true, true},
		{Seconds(-1), "-1", false, false},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.str {
			t.Errorf("Revalidate(%d).String() = %q; want %q", tt.r.Raw(), got, tt.str)
		}
		if got := tt.r.Valid() == nil; got != tt.valid {
			t.Errorf("Revalidate(%d).Valid() ok = %v; want %v", tt.r.Raw(), got, tt.valid)
		}
		if _, got := tt.r.Interval(); got != tt.interval {
			t.Errorf("Revalidate(%d).Interval() ok = %v; want %v", tt.r.Raw(), got, tt.interval)
		}
	}
	mins := []struct{ a, b, want Revalidate }{
		{NotDeclared, Seconds(5), Seconds(5)},
		{Seconds(5), NotDeclared, Seconds(5)},
		{Forever, Seconds(5), Seconds(5)},
		{Never, Seconds(5), Never},
		{NotDeclared, NotDeclared, NotDeclared},
		{Forever, NotDeclared, Forever},
	}
	for _, tt := range mins {
		if got := tt.a.Min(tt.b); got != tt.want {
			t.Errorf("%v.Min(%v) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"auto", "force-dynamic", "force-static", "error"} {
		if d, err := ParseDynamic(s); err != nil || d.String() != s {
			t.Errorf("ParseDynamic(%q) = %v, %v", s, d, err)
		}
	}
	for _, s := range []string{"default", "force-cache", "no-store"} {
		if m, err := ParseCacheMode(s); err != nil || m.String() != s {
			t.Errorf("ParseCacheMode(%q) = %v, %v", s, m, err)
		}
	}
	for _, s := range []string{"cookies", "headers", "searchParams"} {
		if a, err := ParseAPI(s); err != nil || a.String() != s {
			t.Errorf("ParseAPI(%q) = %v, %v", s, a, err)
		}
	}
	for _, s := range []string{"", "dynamic", "no_store", "Cookies"} {
		_, e1 := ParseDynamic(s)
		_, e2 := ParseCacheMode(s)
		_, e3 := ParseAPI(s)
		if e1 == nil || e2 == nil || e3 == nil {
			t.Errorf("Parse(%q) accepted a bad name: %v %v %v", s, e1, e2, e3)
		}
	}
	if m, err := ParseRevalidateMode(""); err != nil || m != RevalidateStale {
		t.Errorf(`ParseRevalidateMode("") = %v, %v; want stale`, m, err)
	}
}

func TestValidateTags(t *testing.T) {
	many := make([]string, MaxTags+1)
	for i := range many {
		many[i] = "t"
	}
	tests := []struct {
		tags []string
		ok   bool
	}{
		{nil, true},
		{[]string{"posts", strings.Repeat("x", MaxTagLen)}, true},
		{many[:MaxTags], true},
		{many, false},
		{[]string{strings.Repeat("x", MaxTagLen+1)}, false},
		{[]string{""}, false},
		{[]string{"ok", "a\r\nb"}, false},
	}
	for _, tt := range tests {
		err := ValidateTags(tt.tags)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrTag)) {
			t.Errorf("ValidateTags(%d tags) = %v; want ok %v", len(tt.tags), err, tt.ok)
		}
	}
}

func TestCheckTag(t *testing.T) {
	tests := []struct {
		tag  string
		want string // the reason; "" when valid
	}{
		{"posts", ""},
		{"product-café", ""},
		{strings.Repeat("x", MaxTagLen), ""},
		{"", TagEmpty},
		{strings.Repeat("x", MaxTagLen+1), TagTooLong},
		{"a\x00b", TagControl},
		{"a\rb", TagControl},
		{"a\nb", TagControl},
		{"a\tb", TagControl},
		{"a\x7f", TagControl},
		{"a\u0085b", TagControl},
		{"\xff\xfe", TagNotUTF8},
	}
	for _, tt := range tests {
		err := CheckTag(tt.tag)
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckTag(%.20q) = %v; want nil", tt.tag, err)
			}
			continue
		}
		if !errors.Is(err, ErrTag) {
			t.Errorf("CheckTag(%.20q) = %v; want ErrTag for %q", tt.tag, err, tt.want)
		}
		if _, dropped := FilterTags([]string{tt.tag}); len(dropped) != 1 || dropped[0].Reason != tt.want {
			t.Errorf("FilterTags(%.20q) dropped %v; want reason %q", tt.tag, dropped, tt.want)
		}
	}
}

func TestFilterTags(t *testing.T) {
	long := strings.Repeat("x", MaxTagLen+1)
	many := make([]string, MaxTags+2)
	for i := range many {
		many[i] = strings.Repeat("t", i+1)
	}
	tests := []struct {
		name        string
		tags        []string
		kept        []string
		dropReasons []string
	}{
		{"none", nil, nil, nil},
		{"all valid", []string{"a", "b"}, []string{"a", "b"}, nil},
		{"too long", []string{"a", long, "b"}, []string{"a", "b"}, []string{TagTooLong}},
		{"empty and control", []string{"", "a", "x\ny"}, []string{"a"}, []string{TagEmpty, TagControl}},
		{"too many", many, many[:MaxTags], []string{TagTooMany, TagTooMany}},
		{"invalid ones do not count", append([]string{long}, many[:MaxTags]...), many[:MaxTags], []string{TagTooLong}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, dropped := FilterTags(tt.tags)
			if strings.Join(kept, ",") != strings.Join(tt.kept, ",") {
				t.Errorf("FilterTags kept %d tags %.60q; want %d %.60q", len(kept), kept, len(tt.kept), tt.kept)
			}
			var reasons []string
			for _, d := range dropped {
				reasons = append(reasons, d.Reason)
			}
			if strings.Join(reasons, ",") != strings.Join(tt.dropReasons, ",") {
				t.Errorf("FilterTags dropped for %q; want %q", reasons, tt.dropReasons)
			}
		})
	}
	// Nothing to drop: the same slice, no allocation.
	tags := []string{"a", "b"}
	if allocs := testing.AllocsPerRun(100, func() { FilterTags(tags) }); allocs != 0 {
		t.Errorf("FilterTags of valid tags allocates %v times; want 0", allocs)
	}
}
