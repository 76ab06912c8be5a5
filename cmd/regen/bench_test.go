package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// benchWorkload is bench's test workload: five pages, ten minutes.
var benchWorkload = filepath.Join("..", "..", "bench", "testdata", "tiny.yaml")

func TestBench(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		out  string // a substring of stdout
	}{
		{"help", []string{"-h"}, "usage: regen bench [flags] [SPEC]"},
		{"table", []string{"--workload", benchWorkload, "--duration", "2m", "--strategies", "ssg,isr:30s", "--quiet"}, "ISR(30s)"},
		{"json", []string{"--workload", benchWorkload, "--duration", "2m", "--strategies", "ssr", "--json", "--quiet"}, `"strategies"`},
		{"plot", []string{"--workload", benchWorkload, "--duration", "2m", "--strategies", "ssg,ssr", "--plot", dir, "--quiet"}, "SSR"},
		{"no change", []string{"--workload", benchWorkload, "--duration", "1m", "--changes", "0", "--strategies", "isr:30s", "--quiet"}, "n/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, stdout, stderr := runCLI(t, append([]string{"bench"}, tt.args...)...)
			if status != 0 || stderr != "" {
				t.Fatalf("regen bench %s = %d, stderr %q; want 0 and none", strings.Join(tt.args, " "), status, stderr)
			}
			if !strings.Contains(stdout, tt.out) {
				t.Errorf("regen bench %s printed %q; want it to contain %q", strings.Join(tt.args, " "), stdout, tt.out)
			}
		})
	}
	for _, f := range []string{"staleness.png", "staleness.svg", "ttfb.png", "ttfb.svg", "tradeoff.png", "tradeoff.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("--plot wrote no %s: %v", f, err)
		}
	}
}

// TestBenchHelp: regen help bench and regen bench --help print the same
// help, with every flag, on stdout.
func TestBenchHelp(t *testing.T) {
	_, help, _ := runCLI(t, "help", "bench")
	status, flagHelp, stderr := runCLI(t, "bench", "--help")
	if status != 0 || stderr != "" {
		t.Errorf("regen bench --help = %d, stderr %q; want 0 and none", status, stderr)
	}
	if diff := cmp.Diff(help, flagHelp); diff != "" {
		t.Errorf("regen help bench and regen bench --help differ (-help +--help):\n%s", diff)
	}
	for _, want := range []string{"usage: regen bench [flags] [SPEC]\n\nBench compares", "\nFlags:\n\n", "-workload file", "-live", "n/a"} {
		if !strings.Contains(help, want) {
			t.Errorf("regen help bench = %q; want it to contain %q", help, want)
		}
	}
}

// TestBenchErrors checks every kind of bad input to regen bench: exit
// status 2, each problem on one line starting "regen bench: " (never
// "regen bench: bench:"), a bad workload file named by file, line and
// field, a bad flag by the flag.
func TestBenchErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	badSpec := write("bad.yaml", "segments:\n  /:\n    page:\n      revalidate: -5\n  /x:\n    page:\n      dynamic: nope\n")
	conflict := write("conflict.yaml", "segments:\n  /[a]:\n    page: {}\n  /[b]:\n    page: {}\n")
	badWorkload := write("w.yaml", "traffic:\n  durations: 1h\n  rps: -3\nstrategies: [ssg, csr]\n")
	badSite := write("w-site.yaml", "site: bad.yaml\n")
	missingSite := write("w-missing.yaml", "site: none.yaml\n")
	paths := write("w-paths.yaml", "traffic: {paths: [/, /nope]}\n")
	none := filepath.Join(dir, "none.yaml")
	spec := filepath.Join("..", "..", "bench", "testdata", "tiny-site.yaml")
	quick := []string{"--duration", "1m", "--strategies", "isr:30s", "--quiet"}
	tests := []struct {
		name string
		args []string
		want []string // the lines of stderr (the engine's message: its start)
	}{
		{"bad flag", []string{"--nope"},
			[]string{"regen bench: flag provided but not defined: -nope (run regen help bench)"}},
		{"bad flag value", []string{"--rps", "fast"},
			[]string{`regen bench: invalid value "fast" for flag -rps: parse error (run regen help bench)`}},
		{"two specs", append(quick, spec, spec),
			[]string{"regen bench: want at most one SPEC, got 2 arguments: " + spec + " " + spec + " (run regen help bench)"}},
		{"spec twice", append(quick, "--site", spec, spec),
			[]string{"regen bench: the site spec is given twice, as --site " + spec + " and as " + spec + " (give one)"}},
		{"zero rps", []string{"--rps", "0"},
			[]string{"regen bench: --rps 0 (must be above 0)"}},
		{"zero workers", []string{"--workers", "0"},
			[]string{"regen bench: --workers 0 (must be at least 1)"}},
		{"negative duration", []string{"--duration", "-1m"},
			[]string{"regen bench: --duration -1m0s (must be positive)"}},
		{"zipf out of range", []string{"--zipf", "-2", "--workers", "100000"},
			[]string{
				"regen bench: --zipf -2 (must be between 0 and 10; 0 is uniform)",
				"regen bench: --workers 100000 (must be between 1 and 65536)",
			}},
		{"bad strategy", []string{"--strategies", "ssg,csr"},
			[]string{`regen bench: --strategies: strategy "csr": unknown (want ssg, ssr, ssr+data, isr:60s, isr:60s+on-demand, ppr, ppr:60s or declared)`}},
		{"unknown profile mode", []string{"--duration", "1m", "--quiet", "--strategies", "isr:60s+od:soon"},
			[]string{`regen bench: --strategies: "isr:60s+od:soon": unknown cache profile "soon" (known: days, default, hours, max, minutes, seconds, weeks)`}},
		{"empty strategies", []string{"--strategies", ","},
			[]string{"regen bench: --strategies is empty (list one or more, like ssg,isr:60s)"}},
		{"bad sweep", []string{"--sweep", "10s,soon,1.5s"},
			[]string{`regen bench: --sweep: "soon" is not a duration (write one like 90s, 5m or 1h)`}},
		{"sweep not whole seconds", []string{"--sweep", "10s,1.5s"},
			[]string{"regen bench: --sweep: 1.5s (ISR intervals are whole seconds, at least 1s)"}},
		{"bad tag", []string{"--change-tags", "a,\x01"},
			[]string{`regen bench: --change-tags: tag holds a control character: "\x01" (give a tag the site's fetches carry)`}},
		{"missing workload", []string{"--workload", none},
			[]string{"regen bench: open " + none + ": no such file or directory"}},
		{"bad workload", []string{"--workload", badWorkload},
			[]string{
				"regen bench: " + badWorkload + ":2: traffic.durations: unknown field (did you mean duration?)",
				"regen bench: " + badWorkload + ":3: traffic.rps: -3 (must be above 0 and at most 10,000,000)",
				"regen bench: " + badWorkload + `:4: strategies[1]: strategy "csr": unknown (want ssg, ssr, ssr+data, isr:60s, isr:60s+on-demand, ppr, ppr:60s or declared)`,
			}},
		{"bad workload field under a flag", []string{"--workload", write("w-rps.yaml", "traffic: {rps: -3}\n"), "--rps", "5"},
			[]string{"regen bench: " + dir + "/w-rps.yaml:1: traffic.rps: -3 (must be above 0 and at most 10,000,000)"}},
		{"workload with a bad site", []string{"--workload", badSite},
			[]string{
				"regen bench: " + badSpec + `:4: segment "/": page.revalidate: -5 is negative (must be false, 0 or a positive number of seconds)`,
				"regen bench: " + badSpec + `:7: segment "/x": page.dynamic: unknown dynamic mode "nope" (must be auto, force-dynamic, force-static or error)`,
			}},
		{"workload with a missing site", []string{"--workload", missingSite},
			[]string{"regen bench: " + missingSite + ":1: site: open " + none + ": no such file or directory (a spec's path is relative to the workload file)"}},
		{"workload requesting a path that does not render", append(quick, "--workload", paths),
			[]string{"regen bench: " + paths + `:1: traffic.paths[1]: "/nope" answers 404 Not Found (every requested path must render)`}},
		{"change page not requested", append(quick, "--change-pages", "/nope"),
			[]string{`regen bench: --change-pages: "/nope" is not a requested path (list it in traffic.paths)`}},
		{"bad spec", append(quick, badSpec),
			[]string{
				"regen bench: " + badSpec + `:4: segment "/": page.revalidate: -5 is negative (must be false, 0 or a positive number of seconds)`,
				"regen bench: " + badSpec + `:7: segment "/x": page.dynamic: unknown dynamic mode "nope" (must be auto, force-dynamic, force-static or error)`,
			}},
		{"bad spec with --site", append(quick, "--site", badSpec),
			[]string{
				"regen bench: " + badSpec + `:4: segment "/": page.revalidate: -5 is negative (must be false, 0 or a positive number of seconds)`,
				"regen bench: " + badSpec + `:7: segment "/x": page.dynamic: unknown dynamic mode "nope" (must be auto, force-dynamic, force-static or error)`,
			}},
		{"missing spec", append(quick, none),
			[]string{"regen bench: open " + none + ": no such file or directory"}},
		{"conflicting routes", append(quick, conflict),
			[]string{"regen bench: " + conflict + `: engine: route "/[b]": conflicts with route "/[a]"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, stderr := runCLI(t, append([]string{"bench"}, tt.args...)...)
			if status != 2 {
				t.Errorf("regen bench %s = %d; want 2 (stderr %q)", strings.Join(tt.args, " "), status, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if tt.name == "conflicting routes" && len(lines) == 1 && strings.HasPrefix(lines[0], tt.want[0]) {
				lines[0] = tt.want[0] // the engine's explanation follows
			}
			if diff := cmp.Diff(tt.want, lines); diff != "" {
				t.Errorf("regen bench %s stderr lines (-want +got):\n%s", strings.Join(tt.args, " "), diff)
			}
			for _, l := range lines {
				if strings.HasPrefix(l, "regen bench: bench:") {
					t.Errorf("stderr line %q stutters", l)
				}
			}
		})
	}
}

// TestBenchProgress checks the progress of regen bench written to a file or
// a pipe: one line per finished strategy, none twice; none when quiet.
func TestBenchProgress(t *testing.T) {
	var b strings.Builder
	p := newBenchProgress(&b, 2, time.Minute, false)
	p.update("SSG", 30*time.Second, time.Minute)
	p.update("SSG", time.Minute, time.Minute)
	p.update("SSR", time.Minute, time.Minute)
	p.update("SSG", time.Minute, time.Minute)
	p.finish()
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		name, _, _ := strings.Cut(strings.TrimPrefix(l, "regen bench: "), " (")
		got = append(got, name)
	}
	if diff := cmp.Diff([]string{"SSG done", "SSR done"}, got); diff != "" {
		t.Errorf("progress lines %q (-want +got):\n%s", b.String(), diff)
	}
	if p := newBenchProgress(&b, 2, time.Minute, true); p != nil {
		t.Errorf("newBenchProgress(quiet) = %v; want nil", p)
	}
}
