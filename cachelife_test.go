package regen

import (
	"testing"
	"time"
)

// TestBuiltinCacheLife checks the built-in profiles against Next.js 16's
// values (seconds; stale/revalidate/expire).
func TestBuiltinCacheLife(t *testing.T) {
	tests := []struct {
		name                      string
		stale, revalidate, expire int64 // 0: not set
	}{
		{"default", 0, 900, 0},
		{"seconds", 30, 1, 60},
		{"minutes", 300, 60, 3600},
		{"hours", 300, 3600, 86400},
		{"days", 300, 86400, 604800},
		{"weeks", 300, 604800, 2592000},
		{"max", 300, 2592000, 31536000},
	}
	for _, tt := range tests {
		c, ok := BuiltinCacheLife(tt.name)
		want := CacheLife{Stale: time.Duration(tt.stale) * time.Second, Revalidate: Seconds(tt.revalidate), Expire: time.Duration(tt.expire) * time.Second}
		if !ok || c != want {
			t.Errorf("BuiltinCacheLife(%q) = %v, %v; want %v", tt.name, c, ok, want)
		}
		if err := c.Valid(); err != nil {
			t.Errorf("BuiltinCacheLife(%q).Valid() = %v", tt.name, err)
		}
		if m := RevalidateProfile(tt.name); m.Profile() != tt.name || m.String() != tt.name {
			t.Errorf("RevalidateProfile(%q) = %v (profile %q)", tt.name, m, m.Profile())
		}
	}
	if got := len(BuiltinCacheLifeNames()); got != len(tests) {
		t.Errorf("%d built-in profiles; want %d", got, len(tests))
	}
	if _, ok := BuiltinCacheLife("hourly"); ok {
		t.Errorf(`BuiltinCacheLife("hourly") found one`)
	}
}

func TestCacheLifeValid(t *testing.T) {
	tests := []struct {
		c  CacheLife
		ok bool
	}{
		{CacheLife{Revalidate: Seconds(60), Expire: time.Hour}, true},
		{CacheLife{Revalidate: Forever}, true},
		{CacheLife{Revalidate: Seconds(60)}, true},
		{CacheLife{Revalidate: Seconds(3600), Expire: time.Hour}, false}, // not below expire
		{CacheLife{Revalidate: Never}, false},
		{CacheLife{Expire: time.Hour}, false}, // no revalidate
		{CacheLife{Revalidate: Seconds(60), Stale: 1500 * time.Millisecond}, false},
		{CacheLife{Revalidate: Seconds(60), Expire: -time.Hour}, false},
		{CacheLife{Revalidate: Seconds(-5)}, false},
	}
	for _, tt := range tests {
		if err := tt.c.Valid(); (err == nil) != tt.ok {
			t.Errorf("%v.Valid() = %v; want ok %v", tt.c, err, tt.ok)
		}
	}
}

// TestRevalidateMode: the modes, how they read and parse, and their expire.
func TestRevalidateMode(t *testing.T) {
	tests := []struct {
		m       RevalidateMode
		str     string
		d       time.Duration
		bounded bool
	}{
		{RevalidateStale, "stale", 0, false},
		{RevalidateExpire, "expire", 0, true},
		{RevalidateProfile("max"), "max", 365 * 24 * time.Hour, true},
		{RevalidateProfile("default"), "default", 0, false},
		{RevalidateProfile("editorial"), "editorial", 0, false}, // resolved by the engine
		{RevalidateProfile("editorial").WithLife(CacheLife{Revalidate: Seconds(60), Expire: time.Hour}), "editorial", time.Hour, true},
		{StaleUntil(90 * time.Second), "stale-until=90", 90 * time.Second, true},
		{StaleUntil(0), "expire", 0, true},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.str {
			t.Errorf("String() = %q; want %q", got, tt.str)
		}
		if d, b := tt.m.ExpireAfter(); d != tt.d || b != tt.bounded {
			t.Errorf("%v.ExpireAfter() = %v, %v; want %v, %v", tt.m, d, b, tt.d, tt.bounded)
		}
	}
	var zero RevalidateMode
	if zero != RevalidateStale {
		t.Errorf("the zero RevalidateMode is not RevalidateStale")
	}
	for s, want := range map[string]RevalidateMode{"": RevalidateStale, "stale": RevalidateStale, "expire": RevalidateExpire, "hours": RevalidateProfile("hours"), "editorial": RevalidateProfile("editorial")} {
		if m, err := ParseRevalidateMode(s); err != nil || m != want {
			t.Errorf("ParseRevalidateMode(%q) = %v, %v; want %v", s, m, err, want)
		}
	}
	for _, s := range []string{"a b", "-x", "9lives"} {
		if _, err := ParseRevalidateMode(s); err == nil {
			t.Errorf("ParseRevalidateMode(%q) accepted it", s)
		}
	}
}
