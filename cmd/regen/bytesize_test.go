package main

import "testing"

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"64MiB": 64 << 20, "64mib": 64 << 20, "1GiB": 1 << 30, "500MB": 500e6, "2KB": 2000,
		"4096": 4096, "10B": 10, "3K": 3 << 10, "16M": 16 << 20, " 8 MiB ": 8 << 20,
	} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "0", "1.5MiB", "64XB", "99999999999GiB"} {
		var b byteSize
		if err := b.Set(in); err == nil {
			t.Errorf("Set(%q) = %d, want an error", in, b)
		}
	}
	b := byteSize(64 << 20)
	if got := b.String(); got != "64MiB" {
		t.Errorf("String() = %q, want 64MiB", got)
	}
}

func TestMemoryLimit(t *testing.T) {
	for max, want := range map[int64]int64{64 << 20: 96 << 20, 256 << 20: 384 << 20, 8 << 20: 40 << 20} {
		if got := memoryLimit(max); got != want {
			t.Errorf("memoryLimit(%d MiB) = %d MiB; want %d MiB", max>>20, got>>20, want>>20)
		}
	}
}
