package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/render"
	"github.com/regen-dev/regen/store"
)

// metricValues gathers reg as "name{label=value,...}" → value, a
// histogram as its _count, leaving out the series at zero.
func metricValues(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			name := mf.GetName()
			if len(labels) > 0 {
				name += "{" + strings.Join(labels, ",") + "}"
			}
			var v float64
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				name = mf.GetName() + "_count" + strings.TrimPrefix(name, mf.GetName())
				v = float64(m.GetHistogram().GetSampleCount())
			}
			if v != 0 {
				out[name] = v
			}
		}
	}
	return out
}

// pick returns the entries of all whose name starts with one of prefixes.
func pick(all map[string]float64, prefixes ...string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range all {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				out[k] = v
			}
		}
	}
	return out
}

// TestMetricsSequence: one MISS then three HITs count miss 1 and hit 3; a
// STALE request counts stale and a regeneration; a dynamic route counts
// BYPASS and a dynamic render; over real HTTP, on the injected clock.
func TestMetricsSequence(t *testing.T) {
	reg := prometheus.NewRegistry()
	hs := newHTTPSite(t, Options{Metrics: reg})
	for _, step := range []struct {
		advance time.Duration
		path    string
		status  string
	}{
		{0, "/isr", "MISS"},
		{0, "/isr", "HIT"},
		{time.Second, "/isr", "HIT"},
		{time.Second, "/isr", "HIT"},
	} {
		hs.clock.Advance(step.advance)
		if got := hs.do(t, "GET", step.path).header.Get("X-Cache-Status"); got != step.status {
			t.Fatalf("GET %s = %s; want %s", step.path, got, step.status)
		}
	}
	want := map[string]float64{
		`regen_requests_total{cache=miss}`:                 1,
		`regen_requests_total{cache=hit}`:                  3,
		`regen_request_duration_seconds_count{cache=miss}`: 1,
		`regen_request_duration_seconds_count{cache=hit}`:  3,
		`regen_renders_total{reason=miss,result=ok}`:       1,
		`regen_render_duration_seconds_count{reason=miss}`: 1,
	}
	got := pick(metricValues(t, reg), "regen_request", "regen_render", "regen_regenerations")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after MISS and three HITs (-want +got):\n%s", diff)
	}

	hs.clock.Advance(time.Minute) // /isr is stale: served STALE, regenerated inline
	if got := hs.do(t, "GET", "/isr").header.Get("X-Cache-Status"); got != "STALE" {
		t.Fatalf("GET /isr after a minute = %s; want STALE", got)
	}
	for range 2 {
		if got := hs.do(t, "GET", "/dyn").header.Get("X-Cache-Status"); got != "BYPASS" {
			t.Fatalf("GET /dyn = %s; want BYPASS", got)
		}
	}
	hs.do(t, "POST", "/isr") // 405: BYPASS, no render
	want[`regen_requests_total{cache=stale}`] = 1
	want[`regen_request_duration_seconds_count{cache=stale}`] = 1
	want[`regen_requests_total{cache=bypass}`] = 3
	want[`regen_request_duration_seconds_count{cache=bypass}`] = 3
	want[`regen_renders_total{reason=regenerate,result=ok}`] = 1
	want[`regen_render_duration_seconds_count{reason=regenerate}`] = 1
	want[`regen_renders_total{reason=dynamic,result=ok}`] = 2
	want[`regen_render_duration_seconds_count{reason=dynamic}`] = 2
	got = pick(metricValues(t, reg), "regen_request", "regen_render", "regen_regenerations")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after STALE and BYPASS (-want +got):\n%s", diff)
	}
}

// queueScheduler holds background work until run: a regeneration stays in
// flight while more requests come.
type queueScheduler struct {
	mu   sync.Mutex
	work []func()
}

func (q *queueScheduler) Go(f func()) {
	q.mu.Lock()
	q.work = append(q.work, f)
	q.mu.Unlock()
}

func (q *queueScheduler) run() {
	q.mu.Lock()
	work := q.work
	q.work = nil
	q.mu.Unlock()
	for _, f := range work {
		f()
	}
}

// TestMetricsDeduplicated: STALE requests that find the regeneration in
// flight count as deduplicated; the regenerations in flight are a gauge.
func TestMetricsDeduplicated(t *testing.T) {
	reg := prometheus.NewRegistry()
	clock := &manualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var sched queueScheduler
	var site Site
	inFlight := make(chan float64, 1)
	var n atomic.Int64
	site.Page("/p", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		if n.Add(1) == 2 { // the regeneration
			inFlight <- metricValues(t, reg)["regen_regenerations_in_flight"]
		}
		_, err := io.WriteString(w, "p")
		return err
	})})
	e := newEngine(t, &site, Options{Now: clock.Now, Scheduler: &sched, Metrics: reg})
	get(e, "/p")
	clock.Advance(time.Minute)
	for range 3 {
		if got := get(e, "/p").status; got != "STALE" {
			t.Fatalf("GET /p = %s; want STALE", got)
		}
	}
	sched.run()
	if got := <-inFlight; got != 1 {
		t.Errorf("regen_regenerations_in_flight during the regeneration = %v; want 1", got)
	}
	want := map[string]float64{
		"regen_regenerations_deduplicated_total":           2,
		"regen_renders_total{reason=regenerate,result=ok}": 1,
	}
	got := pick(metricValues(t, reg), "regen_regenerations", "regen_renders_total{reason=regenerate")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestMetricsFailedRegenerations: a regeneration that fails counts
// result="error", one that passes RenderTimeout result="timeout", and one
// whose render succeeded but whose data refresh failed (the last good page
// stays) result="error"; a prerender counts reason="prerender".
func TestMetricsFailedRegenerations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		var site Site
		var fail, hang atomic.Bool
		page := render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			switch {
			case fail.Load():
				return errors.New("template error")
			case hang.Load():
				<-ctx.Done()
				return ctx.Err()
			}
			_, err := io.WriteString(w, "p")
			return err
		})
		site.Page("/p", Page{Revalidate: sec(60), Render: page})
		site.Page("/f", Page{Revalidate: sec(60), Render: fetchPage("f", nil, fetchcache.Request{URL: "https://api/f"})})
		o := newOrigin()
		var lb logBuffer
		defer func() {
			if t.Failed() {
				t.Log(lb.String())
			}
		}()
		e := newEngine(t, &site, Options{Metrics: reg, Scheduler: inlineScheduler, RenderTimeout: 10 * time.Second,
			RetryBackoff: time.Second, Logger: lb.logger(), Fetcher: o})
		if _, err := e.Prerender(context.Background(), PrerenderOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute + time.Second) // past revalidate 60s (Prerender dates its entries a few ns apart)
		fail.Store(true)
		get(e, "/p") // STALE; the regeneration fails
		fail.Store(false)
		hang.Store(true)
		time.Sleep(time.Minute) // past the back-off
		get(e, "/p")            // STALE; the regeneration times out
		o.setFail("https://api/f", true)
		if got := get(e, "/f").status; got != "STALE" { // the data refresh fails: the page stays
			t.Fatalf("GET /f = %s; want STALE", got)
		}
		if got := get(e, "/f").status; got != "STALE" {
			t.Fatalf("GET /f after its failed regeneration = %s; want STALE", got)
		}
		synctest.Wait()
		want := map[string]float64{
			"regen_renders_total{reason=prerender,result=ok}":        2,
			"regen_renders_total{reason=regenerate,result=error}":    2,
			"regen_renders_total{reason=regenerate,result=timeout}":  1,
			"regen_render_duration_seconds_count{reason=prerender}":  2,
			"regen_render_duration_seconds_count{reason=regenerate}": 3,
		}
		got := pick(metricValues(t, reg), "regen_render", "regen_regenerations")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// TestMetricsRevalidations: RevalidateTag and RevalidatePath count by kind
// and mode; a refused revalidation does not count.
func TestMetricsRevalidations(t *testing.T) {
	reg := prometheus.NewRegistry()
	var site Site
	site.Page("/p", Page{Revalidate: sec(60), Render: fetchPage("p", nil)})
	e := newEngine(t, &site, Options{Metrics: reg})
	ctx := context.Background()
	for _, err := range []error{
		e.RevalidateTag(ctx, "posts", regen.RevalidateStale),
		e.RevalidateTag(ctx, "posts", regen.RevalidateStale),
		e.RevalidateTag(ctx, "users", regen.RevalidateExpire),
		e.RevalidatePath(ctx, "/p", PagePath, regen.RevalidateExpire),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := e.RevalidatePath(ctx, "no-slash", PagePath, regen.RevalidateStale); err == nil {
		t.Fatal(`RevalidatePath("no-slash") = nil; want an error`)
	}
	want := map[string]float64{
		"regen_revalidations_total{kind=tag,mode=stale}":   2,
		"regen_revalidations_total{kind=tag,mode=expire}":  1,
		"regen_revalidations_total{kind=path,mode=expire}": 1,
	}
	if diff := cmp.Diff(want, pick(metricValues(t, reg), "regen_revalidations")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestMetricsStore: the store gauges are the store's own counts, read when
// scraped: a small MaxBytes evicts.
func TestMetricsStore(t *testing.T) {
	reg := prometheus.NewRegistry()
	mem := store.NewMemory(store.MemoryOptions{MaxBytes: 64 << 10, Shards: 1})
	var site Site
	site.Page("/[n]", Page{Revalidate: sec(60), Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
		_, err := w.Write(make([]byte, 8<<10))
		return err
	})})
	e := newEngine(t, &site, Options{Metrics: reg, Store: mem})
	for i := range 40 {
		if got := get(e, fmt.Sprintf("/%d", i)).status; got != "MISS" {
			t.Fatalf("GET /%d = %s; want MISS", i, got)
		}
	}
	if mem.Evictions() == 0 {
		t.Fatal("no eviction: the test needs a smaller MaxBytes")
	}
	want := map[string]float64{
		"regen_store_bytes":           float64(mem.Bytes()),
		"regen_store_entries":         float64(mem.Len()),
		"regen_store_evictions_total": float64(mem.Evictions()),
	}
	if diff := cmp.Diff(want, pick(metricValues(t, reg), "regen_store_")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if u, ok := e.StoreUsage(); !ok || u.Evictions != mem.Evictions() || u.Shared {
		t.Errorf("StoreUsage() = %+v, %v; want the store's counts, not shared", u, ok)
	}
}

// failingStore fails every Set.
type failingStore struct{ store.Store }

func (failingStore) Set(context.Context, string, *store.Item) error {
	return fmt.Errorf("disk full: %w", store.ErrUnavailable)
}

// TestMetricsStoreErrors: failed store operations count by op.
func TestMetricsStoreErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	var site Site
	site.Page("/p", Page{Revalidate: sec(60), Render: fetchPage("p", nil)})
	e := newEngine(t, &site, Options{Metrics: reg, Store: failingStore{store.NewMemory(store.MemoryOptions{})},
		Logger: (&logBuffer{}).logger()})
	get(e, "/p")
	get(e, "/p")
	want := map[string]float64{"regen_store_errors_total{op=set}": 2}
	if diff := cmp.Diff(want, pick(metricValues(t, reg), "regen_store_errors")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestMetricsSharedRegisterer: engines on one Registerer add up their
// counts; a Registerer holding another metric of the same name is a
// *ConfigError.
func TestMetricsSharedRegisterer(t *testing.T) {
	reg := prometheus.NewRegistry()
	var site Site
	site.Page("/p", Page{Render: fetchPage("p", nil)})
	a := newEngine(t, &site, Options{Metrics: reg})
	b := newEngine(t, &site, Options{Metrics: reg})
	get(a, "/p")
	get(b, "/p")
	if got := metricValues(t, reg)["regen_requests_total{cache=miss}"]; got != 2 {
		t.Errorf("regen_requests_total{cache=miss} = %v; want 2", got)
	}

	clash := prometheus.NewRegistry()
	clash.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "regen_requests_total", Help: "not ours"}))
	_, err := New(&site, Options{Metrics: clash})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "Metrics" || !errors.Is(err, ErrMetrics) {
		t.Errorf("New with a clashing Registerer = %v; want a *ConfigError for Metrics", err)
	}
}

// TestMetricsHitAllocs: with metrics on, a HIT allocates nothing, as
// without them.
func TestMetricsHitAllocs(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts Options
	}{{"metrics=off", Options{}}, {"metrics=on", Options{Metrics: prometheus.NewRegistry()}}} {
		t.Run(tt.name, func(t *testing.T) {
			var site Site
			site.Page("/p", Page{Revalidate: sec(3600), Render: fetchPage("p", nil)})
			e := newEngine(t, &site, tt.opts)
			req := httptest.NewRequest(http.MethodGet, "/p", nil)
			w := &nopWriter{h: http.Header{}}
			e.ServeHTTP(w, req) // MISS
			if n := testing.AllocsPerRun(100, func() { e.ServeHTTP(w, req) }); n != 0 || w.h.Get("X-Cache-Status") != "HIT" {
				t.Errorf("a %s allocates %v; want 0", w.h.Get("X-Cache-Status"), n)
			}
		})
	}
}
