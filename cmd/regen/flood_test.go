package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The flood: unique product slugs requested from the demo site by floodWorkers
// keep-alive clients, while popular pages are requested alongside. It builds
// regen and runs `regen serve --max-bytes floodMaxBytes` as a process of its
// own, and follows its resident memory (VmRSS). It takes a minute or more, so
// it is not part of the tests that always run:
//
//	REGEN_FLOOD=1 go test ./cmd/regen -run TestFlood -v -timeout 30m
//	go test ./cmd/regen -run '^$' -bench Flood -benchtime 1x -timeout 30m
//
// REGEN_FLOOD_SLUGS sets the number of slugs (200000), REGEN_FLOOD_MAX_BYTES
// the --max-bytes (64MiB); REGEN_FLOOD_ENV adds space-separated NAME=VALUE
// settings to regen's environment (GOMEMLIMIT=100MiB, GOGC=50).
const (
	floodSlugs    = 200_000
	floodMaxBytes = "64MiB"
	floodWorkers  = 32
	// RSS may exceed the baseline by this factor of --max-bytes: the store
	// is bounded by it, the rest is the garbage collector's headroom.
	floodSlack = 1.5
)

// floodPopular are pages of the demo site requested all along the flood.
var floodPopular = []string{"/", "/products", "/products/sneakers", "/about"}

// floodResult is what a flood measured.
type floodResult struct {
	slugs                 int
	maxBytes              int64
	baseline, peak, final int64 // VmRSS in bytes
	elapsed               time.Duration
	floodStatus           map[int]int    // HTTP status → flood responses
	popular               map[string]int // X-Cache-Status → popular responses
	samples               []string       // "slugs=N rss=M MiB" along the way
}

func (r *floodResult) bound() int64 {
	return r.baseline + int64(floodSlack*float64(r.maxBytes))
}

func (r *floodResult) popularShare(status string) float64 {
	n := 0
	for _, c := range r.popular {
		n += c
	}
	if n == 0 {
		return 0
	}
	return float64(r.popular[status]) / float64(n)
}

func (r *floodResult) report(tb testing.TB) {
	tb.Helper()
	const mib = 1 << 20
	for _, s := range r.samples {
		tb.Log(s)
	}
	tb.Logf("%d slugs with --max-bytes %d MiB in %v: %.0f requests/s; flood statuses %v",
		r.slugs, r.maxBytes/mib, r.elapsed.Round(time.Millisecond), float64(r.slugs)/r.elapsed.Seconds(), r.floodStatus)
	tb.Logf("RSS: baseline %.1f MiB, peak %.1f MiB, final %.1f MiB; bound (baseline + %.1f × max-bytes) %.1f MiB",
		float64(r.baseline)/mib, float64(r.peak)/mib, float64(r.final)/mib, floodSlack, float64(r.bound())/mib)
	tb.Logf("popular pages: %v (HIT %.1f%%)", r.popular, 100*r.popularShare("HIT"))
}

func TestFlood(t *testing.T) {
	if os.Getenv("REGEN_FLOOD") != "1" {
		t.Skip("set REGEN_FLOOD=1 to flood a regen serve process (takes minutes)")
	}
	r := flood(t)
	r.report(t)
	if r.peak > r.bound() {
		t.Errorf("peak RSS %d B; want at most %d B (baseline + %.1f × --max-bytes)", r.peak, r.bound(), floodSlack)
	}
	if n := r.popular["MISS"]; n > 0 {
		t.Errorf("popular pages answered MISS %d times during the flood; want none (evicted)", n)
	}
	for status, n := range r.floodStatus {
		if status != http.StatusOK {
			t.Errorf("flood: %d responses with status %d; want 200", n, status)
		}
	}
}

func BenchmarkFlood(b *testing.B) {
	var r *floodResult
	for b.Loop() {
		r = flood(b)
	}
	r.report(b)
	const mib = 1 << 20
	b.ReportMetric(float64(r.baseline)/mib, "baseline-RSS-MiB")
	b.ReportMetric(float64(r.peak)/mib, "peak-RSS-MiB")
	b.ReportMetric(float64(r.final)/mib, "final-RSS-MiB")
	b.ReportMetric(float64(r.peak-r.baseline)/float64(r.maxBytes), "growth/max-bytes")
	b.ReportMetric(float64(r.slugs)/r.elapsed.Seconds(), "req/s")
	b.ReportMetric(r.popularShare("HIT"), "popular-HIT-share")
}

// flood builds regen, serves the demo site with it and floods it.
func flood(tb testing.TB) *floodResult {
	tb.Helper()
	r := &floodResult{slugs: floodSlugs, floodStatus: map[int]int{}, popular: map[string]int{}}
	if s := os.Getenv("REGEN_FLOOD_SLUGS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			tb.Fatalf("REGEN_FLOOD_SLUGS=%q: want a positive number", s)
		}
		r.slugs = n
	}
	maxBytes := floodMaxBytes
	if s := os.Getenv("REGEN_FLOOD_MAX_BYTES"); s != "" {
		maxBytes = s
	}
	var size byteSize
	if err := size.Set(maxBytes); err != nil {
		tb.Fatal(err)
	}
	r.maxBytes = int64(size)

	dir := tb.TempDir()
	exe := filepath.Join(dir, "regen")
	build := exec.Command("go", "build", "-o", exe, ".")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(exe, "serve", "--addr", "127.0.0.1:0", "--max-bytes", maxBytes)
	cmd.Env = append(os.Environ(), strings.Fields(os.Getenv("REGEN_FLOOD_ENV"))...)
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		tb.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	defer func() {
		cmd.Process.Kill()
		<-exited
		if tb.Failed() {
			b, _ := os.ReadFile(stderr.Name())
			tb.Logf("regen serve stderr (last 4 KiB):\n%s", b[max(0, len(b)-4096):])
		}
	}()
	listening := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				listening <- addr
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
	}()
	var base string
	select {
	case base = <-listening:
	case <-exited:
		tb.Fatal("regen serve exited before listening")
	case <-time.After(30 * time.Second):
		tb.Fatal("regen serve did not listen within 30s")
	}

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        2 * floodWorkers,
		MaxIdleConnsPerHost: 2 * floodWorkers,
	}}
	defer client.CloseIdleConnections()
	get := func(path string) (int, string, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return 0, "", err
		}
		return resp.StatusCode, resp.Header.Get("X-Cache-Status"), nil
	}

	// Warm up: every popular page rendered and cached, and the process's
	// footprint settled, before the baseline.
	for range 3 {
		for _, p := range floodPopular {
			if code, _, err := get(p); err != nil || code != http.StatusOK {
				tb.Fatalf("GET %s = %d, %v; want 200", p, code, err)
			}
		}
	}
	rss := func() int64 {
		n, err := vmRSS(cmd.Process.Pid)
		if err != nil {
			tb.Fatal(err)
		}
		return n
	}
	r.baseline = rss()
	r.peak = r.baseline

	var done atomic.Int64 // flood requests answered
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Sample RSS along the way.
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		next := r.slugs / 10
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			n := rss()
			r.peak = max(r.peak, n)
			if d := int(done.Load()); d >= next {
				r.samples = append(r.samples, fmt.Sprintf("slugs=%d rss=%.1f MiB", d, float64(n)/(1<<20)))
				next += r.slugs / 10
			}
		}
	}()
	// Popular pages all along.
	var popMu sync.Mutex
	for w := range 2 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, st, err := get(floodPopular[i%len(floodPopular)])
				if err != nil {
					st = "error"
				}
				popMu.Lock()
				r.popular[st]++
				popMu.Unlock()
			}
		})
	}
	// The flood.
	var next atomic.Int64
	var floodMu sync.Mutex
	var flooders sync.WaitGroup
	start := time.Now()
	for range floodWorkers {
		flooders.Go(func() {
			statuses := map[int]int{}
			for {
				i := next.Add(1)
				if i > int64(r.slugs) {
					break
				}
				code, _, err := get("/products/flood-" + strconv.FormatInt(i, 10))
				if err != nil {
					tb.Errorf("flood: %v", err)
					break
				}
				statuses[code]++
				done.Add(1)
			}
			floodMu.Lock()
			for c, n := range statuses {
				r.floodStatus[c] += n
			}
			floodMu.Unlock()
		})
	}
	flooders.Wait()
	r.elapsed = time.Since(start)
	close(stop)
	wg.Wait()
	<-sampled
	r.final = rss()
	r.peak = max(r.peak, r.final)
	return r
}

// vmRSS returns the resident set size of process pid, from /proc.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := strings.Fields(string(rest)) // "12345 kB"
			if len(f) != 2 || f[1] != "kB" {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS line", pid)
}
