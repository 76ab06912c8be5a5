package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/regen-dev/regen"
)

// Report is the outcome of a run: the workload, and the figures of each
// strategy in the order the workload lists them.
type Report struct {
	Mode     string  `json:"mode"` // "simulate" or "live"
	Seed     uint64  `json:"seed"`
	Site     string  `json:"site"`
	Paths    int     `json:"paths"`
	URLs     int     `json:"data_urls"`
	RPS      float64 `json:"rps"`
	Duration float64 `json:"duration_s"`
	Zipf     float64 `json:"zipf"`
	Changes  float64 `json:"changes_per_hour"`
	Workers  int     `json:"workers"`
	// Replay describes the replayed log, when the traffic was one.
	Replay *ReplayReport `json:"replay,omitempty"`
	// Strategies are the figures of each strategy.
	Strategies []*Result `json:"strategies"`
	// Sweep is the trade-off curve of ISR intervals, when one was run.
	Sweep []*Result `json:"sweep,omitempty"`
}

// Result is the figures of one strategy. Times to first byte are in
// milliseconds, staleness in seconds.
type Result struct {
	Name string `json:"name"`
	// IntervalS is the ISR interval in seconds (0 for other strategies).
	IntervalS int64 `json:"interval_s,omitempty"`
	Requests  int64 `json:"requests"`
	// Counts by cache status. A request that finds a path whose first
	// render is still running waits for it and counts as a MISS.
	Hit    int64 `json:"hit"`
	Stale  int64 `json:"stale"`
	Miss   int64 `json:"miss"`
	Bypass int64 `json:"bypass"`
	// Errors counts responses other than 200 OK.
	Errors int64     `json:"errors"`
	TTFB   Quantiles `json:"ttfb_ms"`
	// LastByte is the time to the last byte of each response. It is the
	// time to first byte but for a response that streams after its first
	// byte: a partial route's, whose holes render per request (the
	// simulation does not model a render's streaming), or any in live mode.
	LastByte Quantiles `json:"last_byte_ms"`
	// FreshShare is the share of responses that showed the newest version
	// of everything they show, from 0 to 1. When no content changed during
	// the run (Changes is 0) it is 1 and measures nothing: the table shows
	// n/a.
	FreshShare float64 `json:"fresh_share"`
	// Changes counts the content changes published during the run.
	Changes   int64     `json:"changes"`
	Staleness Staleness `json:"staleness_s"`
	// RendersPer1k counts renders (at request, in the background and in
	// builds) per 1,000 requests; OriginPer1k origin calls.
	RendersPer1k float64 `json:"renders_per_1k"`
	OriginPer1k  float64 `json:"origin_per_1k"`
	// RenderCPUPerHour is the render cost spent per hour, in seconds.
	RenderCPUPerHour float64 `json:"render_cpu_s_per_hour"`
	// Builds counts the SSG rebuilds during the run (the build at
	// deployment is not counted); BuildS their duration.
	Builds int   `json:"builds"`
	BuildS Build `json:"build_s"`

	ttfb  *hdrhistogram.Histogram // microseconds
	last  *hdrhistogram.Histogram // microseconds
	stale *hdrhistogram.Histogram // milliseconds
}

// Quantiles of the time to first (or last) byte, in milliseconds.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Staleness quantiles in seconds, over every response (fresh ones count 0).
type Staleness struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Build is the duration of SSG builds, in seconds.
type Build struct {
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
}

// Histogram ranges: one microsecond to a day of TTFB; one millisecond to a
// year of staleness; three significant digits.
const (
	maxTTFBMicros  = int64(24 * time.Hour / time.Microsecond)
	maxStaleMillis = int64(365 * 24 * time.Hour / time.Millisecond)
)

// recorder gathers one strategy's responses. It is not safe for concurrent
// use.
type recorder struct {
	r     *Result
	fresh int64
}

func newRecorder(name string) *recorder {
	return &recorder{r: &Result{
		Name:  name,
		ttfb:  hdrhistogram.New(1, maxTTFBMicros, 3),
		last:  hdrhistogram.New(1, maxTTFBMicros, 3),
		stale: hdrhistogram.New(1, maxStaleMillis, 3),
	}}
}

func (rc *recorder) record(st regen.Status, code int, ttfb, last, stale time.Duration, fresh bool) {
	r := rc.r
	r.Requests++
	switch st {
	case regen.Hit:
		r.Hit++
	case regen.Stale:
		r.Stale++
	case regen.Miss:
		r.Miss++
	case regen.Bypass:
		r.Bypass++
	}
	if code != 200 {
		r.Errors++
	}
	_ = r.ttfb.RecordValue(min(max(int64(ttfb/time.Microsecond), 1), maxTTFBMicros))
	_ = r.last.RecordValue(min(max(int64(max(last, ttfb)/time.Microsecond), 1), maxTTFBMicros))
	if fresh {
		rc.fresh++
		_ = r.stale.RecordValue(0)
	} else {
		_ = r.stale.RecordValue(min(max(int64(stale/time.Millisecond), 1), maxStaleMillis))
	}
}

// result computes the quantiles.
func (rc *recorder) result(Duration) *Result {
	r := rc.r
	if r.Requests == 0 {
		return r
	}
	// The histograms report the highest value equivalent to the one
	// recorded (4001µs for 4ms): three significant digits give it back.
	ms := func(v int64) float64 { return round(sig3(v)/1000, 3) }
	q := func(h *hdrhistogram.Histogram) Quantiles {
		return Quantiles{P50: ms(h.ValueAtQuantile(50)), P95: ms(h.ValueAtQuantile(95)),
			P99: ms(h.ValueAtQuantile(99)), Max: ms(h.Max())}
	}
	r.TTFB, r.LastByte = q(r.ttfb), q(r.last)
	r.Staleness = Staleness{P50: ms(r.stale.ValueAtQuantile(50)), P99: ms(r.stale.ValueAtQuantile(99)),
		Max: ms(r.stale.Max()), Mean: round(r.stale.Mean()/1000, 3)}
	r.FreshShare = round(float64(rc.fresh)/float64(r.Requests), 4)
	return r
}

// sig3 rounds v to three significant digits.
func sig3(v int64) float64 {
	if v < 1000 {
		return float64(v)
	}
	p := math.Pow(10, math.Floor(math.Log10(float64(v)))-2)
	return math.Round(float64(v)/p) * p
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as a table, one line per strategy.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	if r.Replay != nil {
		r.writeReplayHeader(&b)
	} else {
		fmt.Fprintf(&b, "regen bench · %s · %s: %d paths, %d data URLs · %s req/s for %s, zipf %s · %s changes/h · %d workers",
			r.Mode, r.Site, r.Paths, r.URLs, fmtFloat(r.RPS), shortDuration(time.Duration(r.Duration*float64(time.Second))), fmtFloat(r.Zipf), fmtFloat(r.Changes), r.Workers)
		if r.Mode == "simulate" {
			fmt.Fprintf(&b, " · seed %d", r.Seed)
		}
	}
	b.WriteString("\n\n")
	streamed := r.streamed()
	head := []string{"strategy", "ttfb p50", "ttfb p99", "fresh", "stale p99", "stale max", "renders/1k", "origin/1k", "cpu s/h", "builds"}
	if streamed {
		head = slices.Insert(head, 3, "last p50", "last p99")
	}
	rows := [][]string{head}
	for _, s := range r.Strategies {
		row := []string{s.Name,
			fmtMillis(s.TTFB.P50), fmtMillis(s.TTFB.P99), fmtFresh(s),
			fmtSeconds(s.Staleness.P99), fmtSeconds(s.Staleness.Max),
			fmtFixed(s.RendersPer1k), fmtFixed(s.OriginPer1k), fmtFixed(s.RenderCPUPerHour), strconv.Itoa(s.Builds)}
		if streamed {
			row = slices.Insert(row, 3, fmtMillis(s.LastByte.P50), fmtMillis(s.LastByte.P99))
		}
		rows = append(rows, row)
	}
	writeColumns(&b, rows)
	out := &b
	if hasBuilds(r.Strategies) {
		for _, s := range r.Strategies {
			if s.Builds > 0 {
				fmt.Fprintf(out, "\n%s: %d builds, %s each on average, %s at most.", s.Name, s.Builds, fmtSeconds(s.BuildS.Mean), fmtSeconds(s.BuildS.Max))
			}
		}
		out.WriteString("\n")
	}
	r.writeReplayFooter(out)
	_, err := io.WriteString(w, out.String())
	return err
}

// streamed reports whether a strategy's responses ended later than their
// first byte (a partial route's holes), so that the time to the last byte
// is worth showing.
func (r *Report) streamed() bool {
	return slices.ContainsFunc(r.Strategies, func(s *Result) bool { return s.LastByte != Quantiles{} && s.LastByte != s.TTFB })
}

// writeColumns writes rows as columns three spaces apart: the first
// aligned left, the others right.
func writeColumns(b *strings.Builder, rows [][]string) {
	var width []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(c))
		}
	}
	for _, row := range rows {
		for i, c := range row {
			switch {
			case i == 0:
				b.WriteString(c + strings.Repeat(" ", width[0]-len(c)))
			default:
				b.WriteString(strings.Repeat(" ", 3+width[i]-len(c)) + c)
			}
		}
		b.WriteString("\n")
	}
}

func hasBuilds(rs []*Result) bool {
	for _, r := range rs {
		if r.Builds > 0 {
			return true
		}
	}
	return false
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func fmtFixed(x float64) string {
	switch {
	case x >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

func fmtShare(x float64) string { return strconv.FormatFloat(x*100, 'f', 1, 64) + "%" }

// fmtFresh writes the fresh share, or n/a when no content changed: every
// response was fresh, but nothing was measured.
func fmtFresh(r *Result) string {
	if r.Changes == 0 {
		return "n/a"
	}
	return fmtShare(r.FreshShare)
}

// fmtMillis writes a time given in milliseconds: 450µs, 1.5ms, 12ms, 1.2s.
func fmtMillis(ms float64) string {
	switch {
	case ms < 1:
		return strconv.FormatFloat(ms*1000, 'f', 0, 64) + "µs"
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	case ms < 1000:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	}
	return fmtSeconds(ms / 1000)
}

// fmtSeconds writes a time given in seconds: 0s, 0.35s, 12s, 4m10s, 2h5m.
func fmtSeconds(s float64) string {
	switch {
	case s == 0:
		return "0s"
	case s < 10:
		return strconv.FormatFloat(s, 'f', 2, 64) + "s"
	case s < 60:
		return strconv.FormatFloat(s, 'f', 0, 64) + "s"
	case s < 3600:
		d := time.Duration(math.Round(s)) * time.Second
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d := time.Duration(math.Round(s/60)) * time.Minute
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// alias samples an index with given weights in constant time (Vose's alias
// method). It is read-only once built.
type alias struct {
	prob  []float64
	alias []int32
}

func newAlias(weights []float64) *alias {
	n := len(weights)
	a := &alias{prob: make([]float64, n), alias: make([]int32, n)}
	var sum float64
	for _, w := range weights {
		sum += w
	}
	scaled := make([]float64, n)
	var small, large []int32
	for i, w := range weights {
		scaled[i] = w * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		l := small[len(small)-1]
		small = small[:len(small)-1]
		g := large[len(large)-1]
		large = large[:len(large)-1]
		a.prob[l], a.alias[l] = scaled[l], g
		scaled[g] = scaled[g] + scaled[l] - 1
		if scaled[g] < 1 {
			small = append(small, g)
		} else {
			large = append(large, g)
		}
	}
	for _, g := range large {
		a.prob[g] = 1
	}
	for _, l := range small {
		a.prob[l] = 1
	}
	return a
}

func (a *alias) sample(r *rand.Rand) int {
	i := r.IntN(len(a.prob))
	if r.Float64() < a.prob[i] {
		return i
	}
	return int(a.alias[i])
}

// zipfWeights are the weights of n ranks under Zipf's law with exponent s.
func zipfWeights(n int, s float64) []float64 {
	w := make([]float64, n)
	for k := range w {
		w[k] = 1 / math.Pow(float64(k+1), s)
	}
	return w
}

func secondsDuration(s int64) time.Duration { return time.Duration(s) * time.Second }
