package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// tiny loads the test workload (testdata/tiny.yaml): five pages that fetch
// their own data, 10 requests per second spread evenly, 10 minutes.
func tiny(t testing.TB) *Workload {
	t.Helper()
	w, err := LoadWorkload(filepath.Join("testdata", "tiny.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var (
	tinyOnce   sync.Once
	tinyReport *Report
	tinyErr    error
)

// tinyRun simulates the test workload once for all the tests that read it.
func tinyRun(t *testing.T) map[string]*Result {
	t.Helper()
	tinyOnce.Do(func() { tinyReport, tinyErr = Run(context.Background(), tiny(t), Options{}) })
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	m := map[string]*Result{}
	for _, r := range tinyReport.Strategies {
		m[r.Name] = r
	}
	return m
}

const (
	ssg      = "SSG"
	ssr      = "SSR"
	ssrData  = "SSR+DataCache"
	isr      = "ISR(1m)"
	isrOD    = "ISR(1m)+on-demand"
	isrODExp = "ISR(1m)+on-demand(expire)"
)

func TestShapeTTFB(t *testing.T) {
	rs := tinyRun(t)
	// SSR waits for the origin (20ms) and the render (6ms) on every request.
	if got := rs[ssr].TTFB.P50; got < 26 {
		t.Errorf("SSR ttfb p50 = %vms; want at least 26ms (origin latency + render cost)", got)
	}
	for _, name := range []string{ssg, isr, isrOD} {
		r := rs[name]
		if r.TTFB.P99*10 > rs[ssr].TTFB.P50 {
			t.Errorf("%s ttfb p99 = %vms; want far below SSR's p50 %vms", name, r.TTFB.P99, rs[ssr].TTFB.P50)
		}
	}
	if r := rs[ssr]; r.Bypass != r.Requests {
		t.Errorf("SSR: %d BYPASS of %d requests; want all", r.Bypass, r.Requests)
	}
	if r := rs[ssg]; r.Hit != r.Requests {
		t.Errorf("SSG: %d HIT of %d requests; want all (builds are swapped in whole)", r.Hit, r.Requests)
	}
}

func TestShapeFreshness(t *testing.T) {
	rs := tinyRun(t)
	if r := rs[ssr]; r.FreshShare != 1 || r.Staleness.Max != 0 {
		t.Errorf("SSR fresh share = %v, staleness max = %vs; want always fresh", r.FreshShare, r.Staleness.Max)
	}
	// ISR(60s): a page is regenerated at most 60s after it was rendered,
	// and served stale only until then (plus the regeneration, about 26ms,
	// plus the wait for a request to come: a few seconds at 2 req/s per page).
	if r := rs[isr]; r.Staleness.Max > 60+5 {
		t.Errorf("ISR(60s) staleness max = %vs; want at most 60s + regeneration + a request gap", r.Staleness.Max)
	}
	if r := rs[isr]; r.Staleness.Max == 0 {
		t.Errorf("ISR(60s) staleness max = 0; want content changes to show as stale pages")
	}
	// On demand: the first request after a change gets the old page once
	// while it regenerates, so staleness stays near the regeneration time
	// plus the wait for that request.
	if r := rs[isrOD]; r.Staleness.P99 > 0.1 || r.Staleness.Max > 5 {
		t.Errorf("ISR+on-demand staleness p99 = %vs, max = %vs; want near the regeneration time", r.Staleness.P99, r.Staleness.Max)
	}
	if r := rs[isrOD]; r.Staleness.Mean >= rs[isr].Staleness.Mean {
		t.Errorf("ISR+on-demand mean staleness %vs; want below ISR's %vs", r.Staleness.Mean, rs[isr].Staleness.Mean)
	}
	// In expire mode the next request waits for the fresh page.
	if r := rs[isrODExp]; r.FreshShare != 1 {
		t.Errorf("ISR+on-demand(expire) fresh share = %v; want 1", r.FreshShare)
	}
}

func TestShapeRenders(t *testing.T) {
	rs := tinyRun(t)
	if got := rs[ssr].RendersPer1k; got != 1000 {
		t.Errorf("SSR renders/1k = %v; want 1000", got)
	}
	if got := rs[ssr].OriginPer1k; got != 1000 {
		t.Errorf("SSR origin/1k = %v; want 1000 (one fetch per page, never cached)", got)
	}
	for name, r := range rs {
		if name != ssg && r.RendersPer1k <= rs[ssg].RendersPer1k {
			t.Errorf("%s renders/1k = %v; want above SSG's %v", name, r.RendersPer1k, rs[ssg].RendersPer1k)
		}
		if name != ssr && name != ssrData && r.RendersPer1k >= rs[ssr].RendersPer1k {
			t.Errorf("%s renders/1k = %v; want below SSR's %v", name, r.RendersPer1k, rs[ssr].RendersPer1k)
		}
	}
	if r := rs[ssrData]; r.OriginPer1k >= rs[ssr].OriginPer1k/10 {
		t.Errorf("SSR+DataCache origin/1k = %v; want far below SSR's %v", r.OriginPer1k, rs[ssr].OriginPer1k)
	}
	if r := rs[ssg]; r.Builds == 0 || r.BuildS.Mean <= 0 {
		t.Errorf("SSG builds = %d of %vs; want a rebuild per change", r.Builds, r.BuildS.Mean)
	}
}

// TestShapeSSGBuildTime checks that SSG's staleness grows with its build
// time: the same workload with renders 1,000 times costlier.
func TestShapeSSGBuildTime(t *testing.T) {
	var stale []float64
	var builds []float64
	for _, scale := range []time.Duration{1, 100, 1000} {
		w := tiny(t)
		w.Site = cloneSpec(w.Site)
		for i := range w.Site.Segments {
			if p := w.Site.Segments[i].Page; p != nil {
				p.Cost *= scale
			}
		}
		w.Strategies = []string{"ssg"}
		w.Changes.PerHour = 60
		rep, err := Run(context.Background(), w, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Strategies[0]
		stale = append(stale, r.Staleness.Mean)
		builds = append(builds, r.BuildS.Mean)
		// A change waits at most for the build running when it arrives,
		// then for its own.
		if r.Staleness.Max > 2*r.BuildS.Max+0.01 {
			t.Errorf("cost x%d: staleness max %vs; want at most two builds of %vs", scale, r.Staleness.Max, r.BuildS.Max)
		}
	}
	for i := 1; i < len(stale); i++ {
		if builds[i] <= builds[i-1] || stale[i] <= stale[i-1] {
			t.Errorf("build times %v give mean staleness %v; want both growing", builds, stale)
		}
	}
}

// TestExpireDuringRegeneration runs on-demand revalidation in expire mode
// with changes often enough that a path is expired while its time-based
// regeneration is in flight: the next request waits for that regeneration
// (a MISS), and the simulation goes on.
func TestExpireDuringRegeneration(t *testing.T) {
	w := tiny(t)
	w.Traffic.RPS = 1000
	w.Traffic.Duration = Duration(20 * time.Second)
	w.Changes.PerHour = 36000
	w.Strategies = []string{"isr:1s+on-demand:expire"}
	done := make(chan error, 1)
	var rep *Report
	go func() {
		var err error
		rep, err = Run(context.Background(), w, Options{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a watchdog: the run takes a second
		t.Fatal("Run did not return: a request waits for a regeneration the simulation never runs")
	}
	if r := rep.Strategies[0]; r.FreshShare != 1 || r.Errors > 0 {
		t.Errorf("%s fresh share = %v, errors = %d; want 1 and none", r.Name, r.FreshShare, r.Errors)
	}
}

// TestDataRefreshDuringRegeneration requests a per-user page of the demo
// shop, whose renders refresh stale data in the background, and a page
// that shares that data and is regenerated on demand: a regeneration that
// needs the data while its refresh is queued does not wait for it forever.
func TestDataRefreshDuringRegeneration(t *testing.T) {
	w, err := DefaultWorkload()
	if err != nil {
		t.Fatal(err)
	}
	w.Traffic = Traffic{RPS: 300, Duration: Duration(30 * time.Second), Paths: []string{"/dashboard", "/"}}
	w.Changes = Changes{PerHour: 36000, Tags: []string{"nav"}}
	w.Strategies = []string{"declared+on-demand"}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), w, Options{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a watchdog: the run takes a second
		t.Fatal("Run did not return: a render waits for a data refresh the simulation never runs")
	}
}

func TestDeterministic(t *testing.T) {
	w := tiny(t)
	w.Traffic.Duration = Duration(5 * time.Minute)
	w.Changes.PerHour = 240
	run := func(seed uint64, parallel int) []byte {
		w.Seed = seed
		rep, err := Run(context.Background(), w, Options{Parallel: parallel, Sweep: true})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := rep.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b := run(3, 1), run(3, 4)
	if !bytes.Equal(a, b) {
		t.Errorf("two runs with seed 3 differ:\n%s", cmp.Diff(string(a), string(b)))
	}
	if c := run(4, 0); bytes.Equal(a, c) {
		t.Errorf("runs with seeds 3 and 4 are identical; want the seed to matter")
	}
}

func TestJSONFields(t *testing.T) {
	rs := tinyRun(t)
	var b bytes.Buffer
	if err := (&Report{Strategies: []*Result{rs[isr]}}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Strategies []map[string]json.RawMessage `json:"strategies"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	s := got.Strategies[0]
	for _, k := range []string{"name", "ttfb_ms", "fresh_share", "staleness_s", "renders_per_1k", "origin_per_1k", "builds", "hit", "stale", "miss", "bypass"} {
		if _, ok := s[k]; !ok {
			t.Errorf("strategy JSON has no %q: %s", k, b.String())
		}
	}
	var q map[string]float64
	_ = json.Unmarshal(s["ttfb_ms"], &q)
	for _, k := range []string{"p50", "p95", "p99", "max"} {
		if _, ok := q[k]; !ok {
			t.Errorf("ttfb_ms has no %q", k)
		}
	}
	q = nil
	_ = json.Unmarshal(s["staleness_s"], &q)
	for _, k := range []string{"p50", "p99", "max"} {
		if _, ok := q[k]; !ok {
			t.Errorf("staleness_s has no %q", k)
		}
	}
}

func TestTableGolden(t *testing.T) {
	rep := &Report{
		Mode: "simulate", Seed: 1, Site: "shop (examples/shop/site.yaml)", Paths: 10, URLs: 16,
		RPS: 10, Duration: 86400, Zipf: 1.1, Changes: 12, Workers: 2,
		Strategies: []*Result{
			{Name: "SSG", TTFB: Quantiles{P50: 1, P99: 1}, FreshShare: 0.9995, Changes: 281, Staleness: Staleness{P99: 0, Max: 0.181}, RendersPer1k: 3.18, OriginPer1k: 5.08, RenderCPUPerHour: 0.43, Builds: 274, BuildS: Build{Mean: 0.18, Max: 0.181}},
			{Name: "SSR", TTFB: Quantiles{P50: 64, P99: 84}, FreshShare: 1, Changes: 281, RendersPer1k: 1000, OriginPer1k: 2678.1, RenderCPUPerHour: 129},
			{Name: "SSR+DataCache", TTFB: Quantiles{P50: 4, P99: 5}, FreshShare: 0.801, Changes: 281, Staleness: Staleness{P99: 78180, Max: 85980}, RendersPer1k: 1000, OriginPer1k: 22.6, RenderCPUPerHour: 129},
			{Name: "ISR(1m)", TTFB: Quantiles{P50: 0.4, P99: 1}, FreshShare: 0.98, Changes: 281, Staleness: Staleness{P99: 25, Max: 121}, RendersPer1k: 16.2, OriginPer1k: 25.9, RenderCPUPerHour: 2.21},
			{Name: "ISR(1m)+on-demand", TTFB: Quantiles{P50: 1, P99: 1520}, FreshShare: 0.999, Changes: 281, Staleness: Staleness{P99: 0, Max: 13}, RendersPer1k: 16.5, OriginPer1k: 25.8, RenderCPUPerHour: 2.26},
		},
	}
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("WriteTable mismatch (-want +got; run go test -update to accept):\n%s", diff)
	}
}

// TestLive runs the test workload for real, over HTTP on 127.0.0.1, for
// 400ms per strategy with a content change every 50ms or so: it stops by
// itself, SSG rebuilds, the webhook revalidates, and the slowest strategy
// is the simulation's.
func TestLive(t *testing.T) {
	if testing.Short() {
		t.Skip("a real run of about two seconds")
	}
	w := tiny(t)
	w.Traffic.RPS = 100
	w.Changes.PerHour = 72000
	w.Strategies = []string{"ssg", "ssr", "isr:60s", "isr:60s+on-demand"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	rep, err := Run(ctx, w, Options{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	if took, want := time.Since(start), time.Duration(len(w.Strategies))*time.Duration(w.Live.Duration); took > 5*want {
		t.Errorf("live run took %v; want it to stop by itself after about %v", took, want)
	}
	w.Traffic.Duration = Duration(30 * time.Second)
	sim, err := Run(context.Background(), w, Options{})
	if err != nil {
		t.Fatal(err)
	}
	slowest := func(rep *Report) string {
		var s *Result
		for _, r := range rep.Strategies {
			if s == nil || r.TTFB.P50 > s.TTFB.P50 {
				s = r
			}
		}
		return s.Name
	}
	if got, want := slowest(rep), slowest(sim); got != want {
		t.Errorf("slowest strategy live = %v; simulated = %v", got, want)
	}
	byName := map[string]*Result{}
	for _, r := range rep.Strategies {
		byName[r.Name] = r
		if r.Requests < 20 || r.Errors > 0 {
			t.Errorf("live %s: %d requests, %d errors; want some, and no error", r.Name, r.Requests, r.Errors)
		}
		if r.Changes == 0 {
			t.Errorf("live %s: no content change; want a few", r.Name)
		}
		// The cache statuses are the engines' metrics: every request once.
		if n := r.Hit + r.Stale + r.Miss + r.Bypass; n != r.Requests {
			t.Errorf("live %s: metrics count %d requests (hit %d, stale %d, miss %d, bypass %d); the clients made %d",
				r.Name, n, r.Hit, r.Stale, r.Miss, r.Bypass, r.Requests)
		}
	}
	// SSR renders each request once (the metrics' renders), every one BYPASS.
	if r := byName[ssr]; r.RendersPer1k != 1000 || r.Bypass != r.Requests || r.OriginPer1k == 0 {
		t.Errorf("live SSR: %v renders/1k, %d of %d requests BYPASS, %v origin calls/1k; want 1000, all, some",
			r.RendersPer1k, r.Bypass, r.Requests, r.OriginPer1k)
	}
	if s, i := byName[ssr].TTFB.P50, byName[isr].TTFB.P50; s < 20 || i*2 > s {
		t.Errorf("live ttfb p50: SSR %vms, ISR %vms; want SSR above the origin's 20ms and far above ISR", s, i)
	}
	if g := byName[ssg].TTFB.P50; g*2 > byName[ssr].TTFB.P50 {
		t.Errorf("live ttfb p50: SSG %vms; want far below SSR's %vms", g, byName[ssr].TTFB.P50)
	}
	if r := byName[ssg]; r.Builds == 0 || r.RendersPer1k == 0 {
		t.Errorf("live SSG: %d builds, %v renders/1k; want rebuilds swapped in", r.Builds, r.RendersPer1k)
	}
	if r, i := byName[isrOD], byName[isr]; r.FreshShare < i.FreshShare {
		t.Errorf("live fresh share: ISR+on-demand %v, ISR %v; want the webhook to keep pages fresher", r.FreshShare, i.FreshShare)
	}
}

// TestFreshNotApplicable: when no content changed during a run, the fresh
// share measured nothing: the table says n/a; the JSON keeps 1, with
// changes 0.
func TestFreshNotApplicable(t *testing.T) {
	tests := []struct {
		name string
		live bool
	}{
		{"simulate", false},
		{"live", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.live && testing.Short() {
				t.Skip("a real run")
			}
			w := tiny(t)
			w.Changes.PerHour = 0
			w.Traffic.Duration = Duration(time.Minute)
			w.Live.Duration = Duration(200 * time.Millisecond)
			w.Strategies = []string{"isr:60s"}
			rep, err := Run(context.Background(), w, Options{Live: tt.live})
			if err != nil {
				t.Fatal(err)
			}
			r := rep.Strategies[0]
			if r.Changes != 0 || r.FreshShare != 1 || r.Requests == 0 {
				t.Errorf("%s: changes %d, fresh share %v, %d requests; want 0, 1 and some", r.Name, r.Changes, r.FreshShare, r.Requests)
			}
			var table, js bytes.Buffer
			if err := rep.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(table.String(), "\n")
			// The header's columns are one word but "ttfb p50", "last p50"...
			head := strings.Fields(strings.NewReplacer(" p", "_p", " max", "_max").Replace(lines[2]))
			col := slices.Index(head, "fresh")
			row := strings.Fields(lines[3])
			if col < 0 || row[0] != r.Name || row[col] != "n/a" {
				t.Errorf("table row %q (header %q); want the fresh column to be n/a", row, head)
			}
			if err := rep.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(js.String(), `"fresh_share": 1,`) || !strings.Contains(js.String(), `"changes": 0,`) {
				t.Errorf("JSON %s; want fresh_share 1 and changes 0", js.String())
			}
		})
	}
}

func TestParseStrategy(t *testing.T) {
	tests := []struct {
		in   string
		want Strategy
		name string
	}{
		{"ssg", Strategy{Kind: SSG}, "SSG"},
		{"SSR", Strategy{Kind: SSR}, "SSR"},
		{"ssr+data", Strategy{Kind: SSRData}, "SSR+DataCache"},
		{"isr:60s", Strategy{Kind: ISR, Interval: time.Minute}, "ISR(1m)"},
		{"isr:90", Strategy{Kind: ISR, Interval: 90 * time.Second}, "ISR(1m30s)"},
		{"isr:1h+od", Strategy{Kind: ISR, Interval: time.Hour, OnDemand: true}, "ISR(1h)+on-demand"},
		{"isr:10s+on-demand:expire", Strategy{Kind: ISR, Interval: 10 * time.Second, OnDemand: true, Mode: regen.RevalidateExpire}, "ISR(10s)+on-demand(expire)"},
		{"declared+on-demand", Strategy{Kind: Declared, OnDemand: true}, "declared+on-demand"},
		{"ppr", Strategy{Kind: PPR}, "PPR"},
		{"ppr:60s", Strategy{Kind: PPR, Interval: time.Minute}, "PPR(1m)"},
		{"ppr:5m+on-demand:expire", Strategy{Kind: PPR, Interval: 5 * time.Minute, OnDemand: true, Mode: regen.RevalidateExpire}, "PPR(5m)+on-demand(expire)"},
	}
	for _, tt := range tests {
		got, err := ParseStrategy(tt.in)
		if err != nil {
			t.Errorf("ParseStrategy(%q) error: %v", tt.in, err)
			continue
		}
		if got != tt.want || got.Name() != tt.name {
			t.Errorf("ParseStrategy(%q) = %+v (%s); want %+v (%s)", tt.in, got, got.Name(), tt.want, tt.name)
		}
	}
	for _, in := range []string{"", "isr", "isr:0s", "isr:1.5s", "ssg:60s", "ssr+od", "isr:60s+later", "csr", "ppr:0s", "ppr:1.5s", "ssr+ppr"} {
		if _, err := ParseStrategy(in); err == nil {
			t.Errorf("ParseStrategy(%q) = nil error; want one", in)
		}
	}
}

func TestParseWorkload(t *testing.T) {
	w, err := ParseWorkload("w.yaml", []byte("traffic: {zipf: 0}\nchanges: {per_hour: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Traffic.Zipf != 0 || w.Changes.PerHour != 0 || w.Traffic.RPS != DefaultRPS || w.Site == nil {
		t.Errorf("ParseWorkload: zipf %v, changes %v, rps %v, site %v; want 0, 0, the default rps and the demo site", w.Traffic.Zipf, w.Changes.PerHour, w.Traffic.RPS, w.Site != nil)
	}
	w, err = ParseWorkload("w.yaml", nil)
	if err != nil || w.Traffic.Zipf != DefaultZipf || w.Changes.PerHour != DefaultChanges {
		t.Errorf("ParseWorkload(empty) = %+v, %v; want the defaults", w, err)
	}
	samples, _ := filepath.Glob(filepath.Join("..", "examples", "workloads", "*.yaml"))
	for _, f := range samples {
		if _, err := LoadWorkload(f); err != nil {
			t.Errorf("sample workload: %v", err)
		}
	}
}

// BenchmarkSimulate drives the real engine through the simulator with the
// demo workload, one strategy per sub-benchmark, and reports simulated
// requests per second of wall time on one goroutine. SSR and SSR+DataCache
// render every request: the engine's render path bounds them.
func BenchmarkSimulate(b *testing.B) {
	for _, name := range []string{"ssg", "isr:60s", "isr:60s+on-demand", "ssr+data", "ssr"} {
		b.Run(name, func(b *testing.B) {
			w, err := DefaultWorkload()
			if err != nil {
				b.Fatal(err)
			}
			w.Traffic.Duration = Duration(6 * time.Hour)
			cat, err := discover(context.Background(), w)
			if err != nil {
				b.Fatal(err)
			}
			st, _ := ParseStrategy(name)
			var requests int64
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				s, err := newSim(w, cat, st, nil)
				if err != nil {
					b.Fatal(err)
				}
				r, err := s.run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				requests += r.Requests
			}
			b.ReportMetric(float64(requests)/time.Since(start).Seconds(), "sim-req/s")
		})
	}
}

// BenchmarkSimulateDay runs the default workload, a simulated day of the
// demo shop at 10 requests per second, as regen bench does, with the
// strategies of README's table and the test workload's shape checks over
// a whole day, and reports each strategy's figures: the day-long
// counterparts of the tests, which simulate minutes.
//
//	go test ./bench -run '^$' -bench SimulateDay -benchtime 1x
func BenchmarkSimulateDay(b *testing.B) {
	for _, name := range DefaultStrategies {
		b.Run(name, func(b *testing.B) {
			w, err := DefaultWorkload()
			if err != nil {
				b.Fatal(err)
			}
			w.Strategies = []string{name}
			var r *Result
			for b.Loop() {
				rep, err := Run(context.Background(), w, Options{})
				if err != nil {
					b.Fatal(err)
				}
				r = rep.Strategies[0]
			}
			b.ReportMetric(r.TTFB.P50, "ttfb-p50-ms")
			b.ReportMetric(r.TTFB.P99, "ttfb-p99-ms")
			b.ReportMetric(100*r.FreshShare, "fresh-%")
			b.ReportMetric(r.Staleness.P99, "stale-p99-s")
			b.ReportMetric(r.Staleness.Max, "stale-max-s")
			b.ReportMetric(r.RendersPer1k, "renders/1k")
			b.ReportMetric(r.OriginPer1k, "origin/1k")
			b.ReportMetric(float64(r.Builds), "builds")
			if r.Changes == 0 || r.Errors > 0 {
				b.Errorf("%s: %d changes, %d errors; want changes and no error over a day", r.Name, r.Changes, r.Errors)
			}
			if st, _ := ParseStrategy(name); st.Kind == SSR && r.FreshShare != 1 {
				b.Errorf("SSR fresh share over a day = %v; want 1", r.FreshShare)
			}
		})
	}
}

// TestParseWorkloadErrors checks that a bad workload file is reported as a
// bad spec is: every problem, in file order, one line each, as
// file:line: field: what (fix), each an *Error.
func TestParseWorkloadErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"unknown field", "traffic:\n  durations: 1h\n",
			[]string{"w.yaml:2: traffic.durations: unknown field (did you mean duration?)"}},
		{"unknown field far from any", "traffic:\n  speed: 1h\n",
			[]string{"w.yaml:2: traffic.speed: unknown field (traffic has rps, duration, zipf and paths)"}},
		{"unknown top-level field", "seed: 3\nunknown: 1\n",
			[]string{"w.yaml:2: unknown: unknown field (a workload has site, seed, traffic, changes, capacity, strategies, sweep and live)"}},
		{"not a mapping", "- ssg\n",
			[]string{"w.yaml:1: a list is not a workload (a workload is a mapping with site, seed, traffic, changes, capacity, strategies, sweep and live)"}},
		{"section not a mapping", "traffic: [1]\n",
			[]string{"w.yaml:1: traffic: a list is not a mapping (traffic has rps, duration, zipf and paths)"}},
		{"bad duration", "traffic:\n  duration: soon\n",
			[]string{`w.yaml:2: traffic.duration: "soon" is not a duration (write one like 90s, 5m or 1h)`}},
		{"not a number", "traffic: {rps: fast}\n",
			[]string{`w.yaml:1: traffic.rps: "fast" is not a number`}},
		{"negative count", "capacity:\n  workers: -1\n",
			[]string{"w.yaml:2: capacity.workers: -1 (must be between 1 and 65536)"}},
		{"negative seed", "seed: -1\n",
			[]string{"w.yaml:1: seed: -1 is not a whole number, 0 or more"}},
		{"zero that would mean the default", "traffic:\n  rps: 0\n",
			[]string{"w.yaml:2: traffic.rps: 0 (must be above 0; leave it out for the default, 10)"}},
		{"out of range", "traffic:\n  rps: -1\n  zipf: -2\n",
			[]string{
				"w.yaml:2: traffic.rps: -1 (must be above 0 and at most 10,000,000)",
				"w.yaml:3: traffic.zipf: -2 (must be between 0 and 10; 0 is uniform)",
			}},
		{"bad list items", "strategies: [ssg, csr]\nsweep: [10s, 1.5s]\n",
			[]string{
				`w.yaml:1: strategies[1]: strategy "csr": unknown (want ssg, ssr, ssr+data, isr:60s, isr:60s+on-demand, ppr, ppr:60s or declared)`,
				"w.yaml:2: sweep[1]: 1.5s (ISR intervals are whole seconds, at least 1s)",
			}},
		{"not a list", "strategies: ssg\n",
			[]string{`w.yaml:1: strategies: "ssg" is not a list (write [a, b])`}},
		{"bad paths and tags", "traffic: {paths: [about]}\nchanges: {tags: [\"\"]}\n",
			[]string{
				`w.yaml:1: traffic.paths[0]: "about" (a path starts with /)`,
				"w.yaml:2: changes.tags[0]: empty tag (give a tag the site's fetches carry)",
			}},
		{"given twice", "capacity:\n  workers: 2\n  workers: 3\n",
			[]string{"w.yaml:3: capacity.workers: given twice (first at line 2; remove one)"}},
		{"a bad value and a type error", "traffic:\n  rps: [1]\n  zipf: 20\n",
			[]string{
				"w.yaml:2: traffic.rps: a list is not a number",
				"w.yaml:3: traffic.zipf: 20 (must be between 0 and 10; 0 is uniform)",
			}},
		{"syntax", "traffic:\n  rps: [1\n",
			[]string{"w.yaml:2: not valid YAML: did not find expected ',' or ']'"}},
		{"tab", "traffic:\n\trps: 1\n",
			[]string{"w.yaml:2: not valid YAML: found character that cannot start any token"}},
		{"missing site", "site: does-not-exist.yaml\n",
			[]string{"w.yaml:1: site: open does-not-exist.yaml: no such file or directory (a spec's path is relative to the workload file)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := ParseWorkload("w.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("ParseWorkload(%q) = %+v, nil; want an error", tt.in, w)
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("ParseWorkload(%q) error lines (-want +got):\n%s", tt.in, diff)
			}
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				if be := (*Error)(nil); !errors.As(e, &be) || be.File != "w.yaml" || be.Line == 0 {
					t.Errorf("problem %q is not an *Error with a file and a line", e)
				}
			}
		})
	}
}

// TestWorkloadSiteErrors: the problems of a workload's site spec keep the
// spec's file and lines.
func TestWorkloadSiteErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte("segments:\n  /:\n    page:\n      revalidate: -5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ParseWorkload(filepath.Join(dir, "w.yaml"), []byte("site: site.yaml\n"))
	want := filepath.Join(dir, "site.yaml") + `:4: segment "/": page.revalidate: -5 is negative`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("ParseWorkload with a bad site = %v; want %s...", err, want)
	}
}

// TestValidate: a workload built in Go is checked as a file is, naming
// the field; problems found only by rendering the site come from Run.
func TestValidate(t *testing.T) {
	w := tiny(t)
	w.Traffic.Zipf = -1
	w.Strategies = []string{"isr:1.5s"}
	err := w.Validate()
	want := []string{
		"testdata/tiny.yaml:8: traffic.zipf: -1 (must be between 0 and 10; 0 is uniform)",
		`testdata/tiny.yaml:13: strategies[0]: strategy "isr:1.5s": interval 1.5s (must be whole seconds, at least 1s)`,
	}
	if err == nil {
		t.Fatal("Validate() = nil; want two problems")
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("Validate() lines (-want +got):\n%s", diff)
	}
	if w.Traffic.Zipf != -1 || len(w.Strategies) != 1 {
		t.Errorf("Validate modified the workload")
	}

	w = &Workload{Traffic: Traffic{Paths: []string{"/", "/nope"}}, Changes: Changes{PerHour: 1, Pages: []string{"/about"}}}
	_, err = Run(context.Background(), w, Options{})
	if be := (*Error)(nil); !errors.As(err, &be) || be.Field != "traffic.paths[1]" {
		t.Errorf("Run with a path that does not render = %v; want an *Error for traffic.paths[1]", err)
	}
	w.Traffic.Paths = []string{"/"}
	_, err = Run(context.Background(), w, Options{})
	if got, want := fmt.Sprint(err), `bench: workload: changes.pages[0]: "/about" is not a requested path (list it in traffic.paths)`; got != want {
		t.Errorf("Run with an unrequested change page = %s; want %s", got, want)
	}
}

// TestChangeTargets: content changes can be restricted to tags, to pages,
// or both (either selects a URL).
func TestChangeTargets(t *testing.T) {
	tests := []struct {
		name  string
		tags  []string
		pages []string
		want  []string
	}{
		{"everything", nil, nil, []string{"/api/home", "/api/items/a", "/api/items/b", "/api/items/c", "/api/items/d"}},
		{"a tag", []string{"item-b"}, nil, []string{"/api/items/b"}},
		{"a page", nil, []string{"/items/c"}, []string{"/api/items/c"}},
		{"a tag or a page", []string{"home"}, []string{"/items/a"}, []string{"/api/home", "/api/items/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tiny(t)
			w.Changes.Tags, w.Changes.Pages = tt.tags, tt.pages
			cat, err := discover(context.Background(), w)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range cat.targets {
				got = append(got, cat.urls[u])
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("change targets (-want +got):\n%s", diff)
			}
		})
	}
	w := tiny(t)
	w.Changes.Pages = []string{"/nope"}
	if _, err := discover(context.Background(), w); err == nil || !strings.Contains(err.Error(), `"/nope" is not a requested path`) {
		t.Errorf("discover with an unknown page = %v; want an error naming it", err)
	}
}
