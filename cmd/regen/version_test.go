package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build information", nil, "regen (devel) (" + runtime.Version() + ")"},
		{"a module version", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v0.1.0"}},
			"regen v0.1.0 (go1.26.1)"},
		{"a pseudo-version with its revision", &debug.BuildInfo{GoVersion: "go1.26.1",
			Main:     debug.Module{Version: "v0.0.0-20260102150405-0123456789ab"},
			Settings: settings("vcs", "git", "vcs.revision", rev, "vcs.modified", "false")},
			"regen v0.0.0-20260102150405-0123456789ab (go1.26.1, vcs 0123456789ab)"},
		{"a modified working tree", &debug.BuildInfo{GoVersion: "go1.26.1",
			Main:     debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", rev, "vcs.modified", "true")},
			"regen (devel) (go1.26.1, vcs 0123456789ab, modified)"},
		{"no version recorded", &debug.BuildInfo{GoVersion: "go1.26.1"}, "regen (devel) (go1.26.1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionLine(tt.bi); got != tt.want {
				t.Errorf("versionLine() = %q; want %q", got, tt.want)
			}
		})
	}
}

// TestVersion runs regen version: one line on stdout, exit 0; and it is
// listed by regen help.
func TestVersion(t *testing.T) {
	status, stdout, stderr := runCLI(t, "version")
	if status != 0 || stderr != "" {
		t.Fatalf("regen version = %d, stderr %q; want 0 and no stderr", status, stderr)
	}
	if !strings.HasPrefix(stdout, "regen ") || !strings.Contains(stdout, "(go1.") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("regen version printed %q; want one line like %q", stdout, "regen (devel) (go1.26.1)")
	}
	if status, _, stderr := runCLI(t, "version", "extra"); status != exitUsage || !strings.Contains(stderr, "regen version: takes no arguments") {
		t.Errorf("regen version extra = %d, stderr %q; want 2 and a usage error", status, stderr)
	}
	_, help, _ := runCLI(t, "help")
	if !strings.Contains(help, "regen version") {
		t.Errorf("regen help does not list regen version:\n%s", help)
	}
}
