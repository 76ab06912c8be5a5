package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// logEntry is a request as a Log keeps it, for comparisons.
type logEntry struct {
	At     time.Duration
	Target string
}

func entries(l *Log) []logEntry {
	var out []logEntry
	for k, at := range l.at {
		out = append(out, logEntry{at, l.targets[l.target[k]]})
	}
	return out
}

func TestParseLog(t *testing.T) {
	tests := []struct {
		name      string
		log       string
		want      []logEntry
		skipped   int
		malformed int
	}{
		{
			name: "common",
			log: `127.0.0.1 - - [10/Oct/2026:13:55:36 -0700] "GET /products/sneakers HTTP/1.1" 200 2326
127.0.0.1 - frank [10/Oct/2026:13:57:06 -0700] "HEAD /?utm_source=mail HTTP/1.1" 200 -
127.0.0.1 - - [10/Oct/2026:13:57:10 -0700] "POST /api/cart HTTP/1.1" 201 12
`,
			want:    []logEntry{{0, "/products/sneakers"}, {90 * time.Second, "/?utm_source=mail"}},
			skipped: 1,
		},
		{
			name: "combined, same second spread, other zone",
			log: `10.0.0.1 - - [10/Oct/2026:20:55:36 +0000] "GET /a HTTP/2.0" 200 5 "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)"
10.0.0.2 - - [10/Oct/2026:13:55:36 -0700] "GET http://shop.example/b?x=1 HTTP/1.1" 304 0 "-" "curl/8.0"
10.0.0.3 - - [10/Oct/2026:20:55:37 +0000] "GET /c\"q HTTP/1.1" 404 0 "-" "bot \"quoted\""
10.0.0.4 - - [10/Oct/2026:20:55:37 +0000] "-" 400 0 "-" "-"
`,
			want:    []logEntry{{0, "/a"}, {500 * time.Millisecond, "/b?x=1"}, {time.Second, `/c\"q`}},
			skipped: 1,
		},
		{
			name: "JSON lines",
			log: `{"time":"2026-10-10T13:55:36Z","path":"/products/sneakers"}
{"timestamp":"2026-10-10T13:55:36.250+00:00","uri":"/x?y=1","method":"GET","status":200}
{"ts":1791640536.5,"url":"https://shop.example/z","headers":{"a":[1,{"b":"}"}]}}
{"@timestamp":"2026-10-10T13:55:40Z","request":"HEAD /r HTTP/1.1"}
{"time":"2026-10-10T13:55:41Z","path":"/cart","method":"POST"}
{"time_local":"10/Oct/2026:13:55:42 +0000","request_uri":"/esc\u0061ped"}
`,
			want: []logEntry{
				{0, "/products/sneakers"}, {250 * time.Millisecond, "/x?y=1"}, {500 * time.Millisecond, "/z"},
				{4 * time.Second, "/r"}, {6 * time.Second, "/escaped"},
			},
			skipped: 1,
		},
		{
			name: "mixed and out of order",
			log: `{"time":"2026-10-10T13:55:40Z","path":"/late"}

1.2.3.4 - - [10/Oct/2026:13:55:36 +0000] "GET /early HTTP/1.1" 200 1
not a log line
`,
			want:      []logEntry{{0, "/early"}, {4 * time.Second, "/late"}},
			malformed: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLog("test.log", strings.NewReader(tt.log))
			if err != nil {
				t.Fatalf("ParseLog: %v", err)
			}
			if diff := cmp.Diff(tt.want, entries(l)); diff != "" {
				t.Errorf("ParseLog requests (-want +got):\n%s", diff)
			}
			if l.Requests != len(tt.want) || l.Skipped != tt.skipped || l.Malformed != tt.malformed {
				t.Errorf("ParseLog: %d requests, %d skipped, %d malformed; want %d, %d, %d (problems %v)",
					l.Requests, l.Skipped, l.Malformed, len(tt.want), tt.skipped, tt.malformed, l.Problems)
			}
		})
	}
}

// TestParseLogMalformed: malformed lines are skipped, counted, and the
// first MaxLogProblems reported with their line numbers; a log with
// nothing to replay is an error listing them.
func TestParseLogMalformed(t *testing.T) {
	log := strings.Join([]string{
		`127.0.0.1 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 1`, // 1
		`127.0.0.1 - - [10/Oct/2026:13:55:36] "GET / HTTP/1.1" 200 1`,       // 2: no zone
		`127.0.0.1 - - [10/Oct/2026:13:55:37 -0700] "GET / HTTP/1.1`,        // 3: unclosed
		`{"time":"yesterday","path":"/"}`,                                   // 4
		`{"path":"/"}`,                                                      // 5
		`{"time":"2026-10-10T13:55:36Z","path":"/"`,                         // 6: truncated
		`hello`, // 7
		`127.0.0.1 - - [10/Oct/2026:13:55:38 -0700] "GET / HTTP/1.1" abc 1`, // 8: no status
	}, "\n")
	l, err := ParseLog("x.log", strings.NewReader(log))
	if err != nil {
		t.Fatalf("ParseLog: %v", err)
	}
	if l.Requests != 1 || l.Malformed != 7 {
		t.Errorf("ParseLog: %d requests, %d malformed; want 1 and 7", l.Requests, l.Malformed)
	}
	var lines []int
	for _, p := range l.Problems {
		var be *Error
		if !errors.As(p, &be) || be.File != "x.log" {
			t.Fatalf("problem %v is not an *Error of x.log", p)
		}
		lines = append(lines, be.Line)
		if !strings.HasPrefix(p.Error(), fmt.Sprintf("x.log:%d: malformed", be.Line)) {
			t.Errorf("problem = %q; want it to start x.log:%d: malformed", p, be.Line)
		}
	}
	if diff := cmp.Diff([]int{2, 3, 4, 5, 6}, lines); diff != "" {
		t.Errorf("problem lines (-want +got):\n%s", diff)
	}

	// Nothing to replay: an error, one line per problem.
	_, err = ParseLog("x.log", strings.NewReader(strings.Join(strings.Split(log, "\n")[1:], "\n")+"\n1.1.1.1 - - [10/Oct/2026:13:55:38 -0700] \"POST / HTTP/1.1\" 200 1\n"))
	if err == nil {
		t.Fatal("ParseLog of a log without GET requests: no error")
	}
	msgs := strings.Split(err.Error(), "\n")
	want := []string{
		"x.log:1: malformed", "x.log:2: malformed", "x.log:3: malformed", "x.log:4: malformed", "x.log:5: malformed",
		"x.log: 2 more malformed lines",
		"x.log: no GET or HEAD request to replay (8 lines: 7 malformed, 1 other requests",
	}
	if len(msgs) != len(want) {
		t.Fatalf("ParseLog error = %q; want %d lines", err, len(want))
	}
	for i, m := range msgs {
		if !strings.HasPrefix(m, want[i]) {
			t.Errorf("ParseLog error line %d = %q; want it to start %q", i+1, m, want[i])
		}
	}
	if _, err := ParseLog("empty.log", strings.NewReader("\n\n")); err == nil {
		t.Error("ParseLog of an empty log: no error")
	}
}

// replayWorkload is the tiny site under ISR(60s), without content changes,
// replaying log.
func replayWorkload(t *testing.T, log string, speed float64) *Workload {
	t.Helper()
	l, err := ParseLog("t.log", strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	w := tiny(t)
	w.Changes.PerHour = 0
	w.Strategies = []string{"isr:60s"}
	w.Traffic.Replay, w.Traffic.ReplaySpeed = l, speed
	return w
}

// TestReplay: the log's timing is honoured on virtual time (two requests
// 90 s apart see an ISR(60s) page STALE the second time; at twice the speed
// 45 s apart, HIT), query strings are kept, and requests for paths the
// site does not route are counted, not replayed.
func TestReplay(t *testing.T) {
	log := `1.1.1.1 - - [10/Oct/2026:13:55:36 +0000] "GET /items/a HTTP/1.1" 200 1
1.1.1.1 - - [10/Oct/2026:13:55:50 +0000] "GET /wp-login.php HTTP/1.1" 404 1
1.1.1.1 - - [10/Oct/2026:13:56:00 +0000] "GET /wp-login.php HTTP/1.1" 404 1
1.1.1.1 - - [10/Oct/2026:13:56:10 +0000] "GET /items/ HTTP/1.1" 308 1
1.1.1.1 - - [10/Oct/2026:13:57:06 +0000] "GET /items/a?utm_source=x HTTP/1.1" 200 1
1.1.1.1 - - [10/Oct/2026:13:57:07 +0000] "GET /items/a HTTP/1.1" 200 1
1.1.1.1 - - [10/Oct/2026:13:57:08 +0000] "POST /items/a HTTP/1.1" 200 1
`
	tests := []struct {
		name                    string
		speed                   float64
		hit, stale, miss        int64
		duration                float64
		unrouted, unroutedPaths int
	}{
		{"as logged", 1, 2, 1, 0, 92, 3, 2},
		{"twice as fast", 2, 3, 0, 0, 46, 3, 2},
		{"90 times as fast", 90, 3, 0, 0, 92.0 / 90, 3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Run(context.Background(), replayWorkload(t, log, tt.speed), Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := rep.Strategies[0]
			if r.Hit != tt.hit || r.Stale != tt.stale || r.Miss != tt.miss || r.Requests != 3 {
				t.Errorf("replay: %d requests, HIT %d, STALE %d, MISS %d; want 3, %d, %d, %d", r.Requests, r.Hit, r.Stale, r.Miss, tt.hit, tt.stale, tt.miss)
			}
			if got := rep.Duration; fmt.Sprintf("%.3f", got) != fmt.Sprintf("%.3f", tt.duration) {
				t.Errorf("replay: duration %gs; want %gs", got, tt.duration)
			}
			rp := rep.Replay
			if rp == nil {
				t.Fatal("Report.Replay is nil")
			}
			want := &ReplayReport{File: "t.log", Speed: tt.speed, Lines: 7, Requests: 3, Unrouted: tt.unrouted, UnroutedPaths: tt.unroutedPaths,
				TopUnrouted: []PathCount{{"/wp-login.php", 2, 404}, {"/items/", 1, 308}}, Skipped: 1}
			if diff := cmp.Diff(want, rp); diff != "" {
				t.Errorf("Report.Replay (-want +got):\n%s", diff)
			}
			if rep.Paths != 1 {
				t.Errorf("Report.Paths = %d; want 1 (the log's routed paths)", rep.Paths)
			}
			var table bytes.Buffer
			if err := rep.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"replay t.log", "3 requests in", "Not replayed: 3 of 6 GET and HEAD requests (50.0%) for 2 paths the site does not route (/wp-login.php (404): 2, /items/ (308): 1); 1 other requests; 0 malformed lines."} {
				if !strings.Contains(table.String(), s) {
					t.Errorf("WriteTable = %q; want it to contain %q", table.String(), s)
				}
			}
		})
	}
}

// TestReplayChanges: a replay has the workload's content changes, and the
// same log and seed give the same report.
func TestReplayChanges(t *testing.T) {
	var b strings.Builder
	base := time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC)
	paths := []string{"/", "/items/a", "/items/b", "/items/c", "/nope"}
	for k := range 3000 {
		fmt.Fprintf(&b, `{"time":%q,"path":%q}`+"\n", base.Add(time.Duration(k)*200*time.Millisecond).Format(time.RFC3339Nano), paths[k%len(paths)])
	}
	run := func() *Report {
		w := replayWorkload(t, b.String(), 1)
		w.Changes.PerHour = 360
		w.Strategies = []string{"ssg", "isr:60s", "isr:60s+on-demand"}
		rep, err := Run(context.Background(), w, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := run()
	for _, r := range rep.Strategies {
		if r.Requests != 2400 || r.Changes == 0 {
			t.Errorf("%s: %d requests, %d changes; want 2400 and some", r.Name, r.Requests, r.Changes)
		}
	}
	if rep.Replay.Unrouted != 600 {
		t.Errorf("unrouted = %d; want 600", rep.Replay.Unrouted)
	}
	var j1, j2 bytes.Buffer
	_ = rep.WriteJSON(&j1)
	_ = run().WriteJSON(&j2)
	if diff := cmp.Diff(j1.String(), j2.String()); diff != "" {
		t.Errorf("two replays differ:\n%s", diff)
	}
}

// TestReplayNothingRouted: a log whose every request is for a path the site
// does not route is a *Error.
func TestReplayNothingRouted(t *testing.T) {
	w := replayWorkload(t, `1.1.1.1 - - [10/Oct/2026:13:55:36 +0000] "GET /nope HTTP/1.1" 404 1`+"\n", 1)
	_, err := Run(context.Background(), w, Options{})
	var be *Error
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "/nope (404)") {
		t.Errorf("Run = %v; want a *Error naming /nope (404)", err)
	}
	w.Traffic.ReplaySpeed = -1
	if _, err := Run(context.Background(), w, Options{}); !errors.As(err, &be) || be.Field != "traffic.replay_speed" {
		t.Errorf("Run with speed -1 = %v; want a *Error of traffic.replay_speed", err)
	}
}

// TestReplayGoSite replays a log on a site registered in Go: its routes
// tell which paths are replayed.
func TestReplayGoSite(t *testing.T) {
	l, err := ParseLog("go.log", strings.NewReader(`{"time":"2026-10-10T13:55:36Z","path":"/items/a"}
{"time":"2026-10-10T13:55:37Z","path":"/items/zz?x=1"}
{"time":"2026-10-10T13:55:38Z","path":"/nope"}
{"time":"2026-10-10T13:57:06Z","path":"/items/a"}
`))
	if err != nil {
		t.Fatal(err)
	}
	w := itemsWorkload(itemsSite(false, false))
	w.Strategies = []string{"isr:60s"}
	w.Changes.PerHour = 0
	w.Traffic.Replay = l
	rep, err := Run(context.Background(), w, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Strategies[0]
	if r.Requests != 3 || r.Hit != 1 || r.Miss != 1 || r.Stale != 1 || rep.Replay.Unrouted != 1 || rep.Paths != 2 {
		t.Errorf("replay of a GoSite: %d requests (HIT %d, MISS %d, STALE %d), %d paths, %d unrouted; want 3 (1, 1, 1), 2 and 1",
			r.Requests, r.Hit, r.Miss, r.Stale, rep.Paths, rep.Replay.Unrouted)
	}
}

// TestReplayLive replays a short log for real.
func TestReplayLive(t *testing.T) {
	w := replayWorkload(t, `1.1.1.1 - - [10/Oct/2026:13:55:36 +0000] "GET /items/a HTTP/1.1" 200 1
1.1.1.1 - - [10/Oct/2026:13:55:37 +0000] "GET /items/b HTTP/1.1" 200 1
1.1.1.1 - - [10/Oct/2026:13:55:38 +0000] "GET /items/a?q=1 HTTP/1.1" 200 1
`, 10)
	rep, err := Run(context.Background(), w, Options{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Strategies[0]; r.Requests != 3 || r.Errors != 0 {
		t.Errorf("live replay: %d requests, %d errors; want 3 and 0", r.Requests, r.Errors)
	}
	if rep.Duration != 0.3 {
		t.Errorf("live replay: duration %gs; want 0.3s", rep.Duration)
	}
}

// BenchmarkParseLog parses a Combined Log Format log of 100,000 lines.
// The goal: a million lines in under 2 s (500,000 lines/s).
func BenchmarkParseLog(b *testing.B) {
	for _, format := range []string{"combined", "json"} {
		b.Run(format, func(b *testing.B) {
			const lines = 100_000
			var buf bytes.Buffer
			base := time.Date(2026, 10, 10, 0, 0, 0, 0, time.UTC)
			for k := range lines {
				at := base.Add(time.Duration(k) * 300 * time.Millisecond)
				path := fmt.Sprintf("/products/p%d", k%500)
				if k%7 == 0 {
					path += "?utm_source=newsletter"
				}
				if format == "json" {
					fmt.Fprintf(&buf, `{"time":%q,"method":"GET","path":%q,"status":200,"bytes":2326,"ua":"Mozilla/5.0"}`+"\n", at.Format(time.RFC3339Nano), path)
				} else {
					fmt.Fprintf(&buf, `203.0.113.%d - - [%s] "GET %s HTTP/1.1" 200 2326 "https://shop.example/" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"`+"\n",
						k%250, at.Format("02/Jan/2006:15:04:05 -0700"), path)
				}
			}
			data := buf.Bytes()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				l, err := ParseLog("bench.log", bytes.NewReader(data))
				if err != nil || l.Requests != lines {
					b.Fatalf("ParseLog: %v, %d requests", err, l.Requests)
				}
			}
			b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// FuzzParseLog: no line panics the reader, and what it keeps is in order.
func FuzzParseLog(f *testing.F) {
	for _, s := range []string{
		`127.0.0.1 - - [10/Oct/2026:13:55:36 -0700] "GET /products/sneakers HTTP/1.1" 200 2326`,
		`10.0.0.3 - - [10/Oct/2026:20:55:37 +0000] "GET /c\"q HTTP/1.1" 404 0 "-" "bot \"quoted\""`,
		`10.0.0.4 - - [10/Oct/2026:20:55:37 +0000] "-" 400 0 "-" "-"`,
		`{"time":"2026-10-10T13:55:36Z","path":"/products/sneakers"}`,
		`{"ts":1791640536.5,"url":"https://shop.example/z","headers":{"a":[1,{"b":"}"}]}}`,
		`{"@timestamp":"2026-10-10T13:55:40Z","request":"HEAD /r HTTP/1.1"}`,
		`{"time_local":"10/Oct/2026:13:55:42 +0000","request_uri":"/esc\u0061ped"}`,
		"{\"time\":\"2026-10-10T13:55:36Z\",\"path\":\"/\"\n[10/Oct/2026:13:55:36 -0700] \"GET /",
		"{\"time\":\"0001-01-01T00:00:00Z\",\"path\":\"/\"}\n{\"time\":\"9999-12-31T23:59:59Z\",\"path\":\"/\"}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLog("f.log", strings.NewReader(s))
		if err != nil {
			return
		}
		if l.Requests != len(l.at) || l.Requests != len(l.target) || l.at[0] != 0 {
			t.Fatalf("ParseLog(%q): %d requests, %d times, %d targets, first at %v", s, l.Requests, len(l.at), len(l.target), l.at[0])
		}
		for k := range l.at {
			if k > 0 && l.at[k] < l.at[k-1] {
				t.Fatalf("ParseLog(%q): request %d at %v before %v", s, k, l.at[k], l.at[k-1])
			}
			if tg := l.targets[l.target[k]]; !strings.HasPrefix(tg, "/") {
				t.Fatalf("ParseLog(%q): target %q", s, tg)
			}
		}
	})
}
