package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// replayLog is a small log of the tiny site in the three formats, with a
// malformed line, a POST and requests for paths the site does not route.
const replayLog = `1.1.1.1 - - [10/Oct/2026:13:55:36 +0000] "GET /items/a HTTP/1.1" 200 1
1.1.1.1 - - [10/Oct/2026:13:55:40 +0000] "GET /wp-login.php HTTP/1.1" 404 1 "-" "zgrab"
{"time":"2026-10-10T13:56:00Z","path":"/items/b?utm_source=x"}
this line is no log line
1.1.1.1 - - [10/Oct/2026:13:56:30 +0000] "POST /items/a HTTP/1.1" 200 1 "-" "curl"
{"time":"2026-10-10T13:57:06Z","path":"/items/a"}
`

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBenchReplay runs regen bench --replay end to end: the table and the
// JSON report the replay, the malformed line is reported on stderr with its
// line number and skipped.
func TestBenchReplay(t *testing.T) {
	log := writeFile(t, "access.log", replayLog)
	args := []string{"bench", "--workload", benchWorkload, "--replay", log, "--strategies", "isr:60s", "--changes", "0", "--quiet"}
	wantStderr := "regen bench: " + log + ":4: malformed line: no [time] (want Common or Combined Log Format, or a JSON object with a time and a path): \"this line is no log line\" (skipped)\n"

	status, stdout, stderr := runCLI(t, args...)
	if status != 0 || stderr != wantStderr {
		t.Fatalf("regen %s = %d, stderr %q; want 0 and %q", strings.Join(args, " "), status, stderr, wantStderr)
	}
	for _, s := range []string{"replay " + log + ": 3 requests in 1m31s", "ISR(1m)", "Not replayed: 1 of 4 GET and HEAD requests (25.0%) for 1 paths the site does not route (/wp-login.php (404): 1); 1 other requests; 1 malformed lines."} {
		if !strings.Contains(stdout, s) {
			t.Errorf("regen %s printed %q; want it to contain %q", strings.Join(args, " "), stdout, s)
		}
	}

	status, stdout, _ = runCLI(t, append(args, "--json", "--replay-speed", "2")...)
	if status != 0 {
		t.Fatalf("regen bench --json = %d", status)
	}
	var rep struct {
		Duration float64 `json:"duration_s"`
		Replay   struct {
			Speed           float64
			Lines, Requests int
		} `json:"replay"`
		Strategies []struct{ Requests, Hit, Stale int }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if !strings.Contains(stdout, `"unrouted": 1`) || !strings.Contains(stdout, `"malformed": 1`) || !strings.Contains(stdout, `"unrouted_paths": 1`) {
		t.Errorf("--json = %s; want unrouted 1, unrouted_paths 1, malformed 1", stdout)
	}
	if rep.Duration != 45.5 || rep.Replay.Speed != 2 || rep.Replay.Requests != 3 || rep.Strategies[0].Requests != 3 {
		t.Errorf("--json --replay-speed 2: duration %gs, speed %g, %d requests replayed, %d served; want 45.5s, 2, 3, 3",
			rep.Duration, rep.Replay.Speed, rep.Replay.Requests, rep.Strategies[0].Requests)
	}
}

// TestBenchReplayErrors: bad replay input exits 2, one line per problem.
func TestBenchReplayErrors(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none.log")
	junk := writeFile(t, "junk.log", "a\nb\n{\"time\":\"2026-10-10T13:55:36Z\"}\nc\nd\ne\nf\n")
	unrouted := writeFile(t, "unrouted.log", `1.1.1.1 - - [10/Oct/2026:13:55:36 +0000] "GET /nope HTTP/1.1" 404 1`+"\n")
	good := writeFile(t, "good.log", replayLog)
	noTime := "malformed line: no [time] (want Common or Combined Log Format, or a JSON object with a time and a path): "
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing log", []string{"--replay", none},
			[]string{"regen bench: replay: open " + none + ": no such file or directory"}},
		{"nothing usable", []string{"--replay", junk},
			[]string{
				"regen bench: " + junk + ":1: " + noTime + `"a"`,
				"regen bench: " + junk + ":2: " + noTime + `"b"`,
				"regen bench: " + junk + `:3: malformed JSON line: no path (give "path", "uri", "request_uri", "url" or "request")`,
				"regen bench: " + junk + ":4: " + noTime + `"c"`,
				"regen bench: " + junk + ":5: " + noTime + `"d"`,
				"regen bench: " + junk + ": 2 more malformed lines",
				"regen bench: " + junk + ": no GET or HEAD request to replay (7 lines: 7 malformed, 0 other requests; want Common or Combined Log Format, or JSON lines with a time and a path)",
			}},
		{"nothing routed", []string{"--workload", benchWorkload, "--replay", unrouted},
			[]string{"regen bench: " + unrouted + ": none of its 1 GET and HEAD requests is for a page of site " + filepath.Join("..", "..", "bench", "testdata", "tiny-site.yaml") + " (most requested: /nope (404))"}},
		{"zero speed", []string{"--replay", good, "--replay-speed", "0"},
			[]string{"regen bench: --replay-speed 0 (must be above 0 and at most 1,000,000)"}},
		{"speed without a log", []string{"--replay-speed", "2"},
			[]string{"regen bench: --replay-speed without --replay (give the log to replay)"}},
		{"synthetic traffic flags", []string{"--replay", good, "--rps", "5", "--duration", "1h"},
			[]string{
				"regen bench: --rps does not apply with --replay (the log gives the requests and their times; use --replay-speed)",
				"regen bench: --duration does not apply with --replay (the log gives the requests and their times; use --replay-speed)",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"bench", "--quiet"}, tt.args...)
			status, _, stderr := runCLI(t, args...)
			if status != 2 {
				t.Errorf("regen %s = %d; want 2 (stderr %q)", strings.Join(args, " "), status, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if diff := cmp.Diff(tt.want, lines); diff != "" {
				t.Errorf("regen %s stderr lines (-want +got):\n%s", strings.Join(args, " "), diff)
			}
		})
	}
}
