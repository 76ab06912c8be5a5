package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

const versionHelp = `Version prints the version of the regen module this command was built from,
the Go version that built it and, when the build recorded one, the VCS
revision (12 hex digits), followed by "modified" if the working tree had
uncommitted changes:

	regen v0.1.0 (go1.26.1)
	regen v0.0.0-20260102150405-0123456789ab+dirty (go1.26.1, vcs 0123456789ab, modified)

go install ...@version records the module version; go build in a git
checkout records a pseudo-version and the revision (unless -buildvcs=false);
the version is "(devel)" when neither is known, as with go run.
`

func versionFlags() *flag.FlagSet {
	return flag.NewFlagSet("regen version", flag.ContinueOnError)
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	pos, status, ok := parseArgs("version", versionFlags(), args, stdout, stderr)
	if !ok {
		return status
	}
	if len(pos) > 0 {
		return usageError(stderr, "version", "takes no arguments, got %q", pos[0])
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, versionLine(bi))
	return exitOK
}

// versionLine describes the build bi (nil when the binary has no build
// information) in one line: "regen VERSION (GO, vcs REVISION[, modified])".
func versionLine(bi *debug.BuildInfo) string {
	version, goVersion := "", runtime.Version()
	var revision string
	var modified bool
	if bi != nil {
		version = bi.Main.Version
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if version == "" {
		version = "(devel)"
	}
	line := "regen " + version + " (" + goVersion
	if revision != "" {
		if len(revision) > 12 {
			revision = revision[:12]
		}
		line += ", vcs " + revision
		if modified {
			line += ", modified"
		}
	}
	return line + ")"
}
