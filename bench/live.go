package bench

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/internal/clock"
	"github.com/regen-dev/regen/sitespec"
)

// runLive measures each strategy for real, one after the other.
func runLive(ctx context.Context, w *Workload, cat *catalog, strategies []Strategy, progress func(string, time.Duration, time.Duration)) ([]*Result, error) {
	var out []*Result
	for _, st := range strategies {
		r, err := newLive(w, cat, st).run(ctx, progress)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// live runs one strategy behind a real HTTP server on 127.0.0.1, with a
// synthetic origin that really waits its latency and renders that really
// wait their cost, holding one of the workload's workers meanwhile.
type live struct {
	w    *Workload
	cat  *catalog
	st   Strategy
	spec *sitespec.Spec

	origin  origin
	workers chan struct{} // a render's cost holds one
	cpu     atomic.Int64  // render cost spent, in nanoseconds
	cur     atomic.Pointer[engine.Engine]
	start   time.Time
	secret  string
	// metrics is the registry of every engine of the run, which add up
	// their counts on it: requests by cache status, renders, origin calls.
	metrics *prometheus.Registry

	mu        sync.Mutex // protects the fields below
	version   []int64
	published [][]time.Duration // since start
	rec       *recorder
	builds    int
	buildSum  time.Duration
	buildMax  time.Duration
}

func newLive(w *Workload, cat *catalog, st Strategy) *live {
	l := &live{
		w: w, cat: cat, st: st, spec: st.apply(w.Site),
		workers:   make(chan struct{}, w.Capacity.Workers),
		version:   make([]int64, len(cat.urls)),
		published: make([][]time.Duration, len(cat.urls)),
		rec:       newRecorder(st.Name()),
		metrics:   prometheus.NewRegistry(),
	}
	for i := range l.version {
		l.version[i] = 1
	}
	l.origin = w.newOrigin(l.spec.Origin.Latency, nil)
	var b [16]byte
	_, _ = crand.Read(b[:])
	l.secret = hex.EncodeToString(b[:])
	return l
}

// buildKey marks the context of a build: its renders run on build
// workers, not the server's.
type buildKey struct{}

func building(ctx context.Context) context.Context { return context.WithValue(ctx, buildKey{}, true) }

// sleep spends a render's cost: on one of the server's workers, or for a
// build on the build's own (Prerender's concurrency bounds them).
func (l *live) sleep(ctx context.Context, d time.Duration) error {
	l.cpu.Add(int64(d))
	if ctx.Value(buildKey{}) != nil {
		return clock.Sleep(ctx, d)
	}
	select {
	case l.workers <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.workers }()
	return clock.Sleep(ctx, d)
}

func (l *live) newEngine() (*engine.Engine, error) {
	site, err := l.w.build(l.spec, l.sleep, l.origin, false)
	if err != nil {
		return nil, err
	}
	e, err := engine.New(site, engine.Options{Fetcher: l.origin, Logger: quiet, Metrics: l.metrics})
	if err != nil {
		return nil, fmt.Errorf("bench: %s: site %s: %w", l.st.Name(), l.w.SiteFile, err)
	}
	return e, nil
}

func (l *live) run(ctx context.Context, progress func(string, time.Duration, time.Duration)) (*Result, error) {
	e, err := l.newEngine()
	if err != nil {
		return nil, err
	}
	if _, err := e.Prerender(building(ctx), engine.PrerenderOptions{Concurrency: l.w.Capacity.BuildWorkers}); err != nil {
		e.Close()
		return nil, fmt.Errorf("bench: %s: build: %w", l.st.Name(), err)
	}
	l.cur.Store(e)
	mux := http.NewServeMux()
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { l.cur.Load().ServeHTTP(w, r) }))
	mux.Handle("POST /_bench/revalidate", engine.NewRevalidateHandler(e, engine.RevalidateHandlerOptions{Secret: l.secret, Logger: quiet}))
	srv := httptest.NewServer(mux) // 127.0.0.1 on a free port
	defer srv.Close()
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: l.w.Live.MaxInFlight, MaxConnsPerHost: l.w.Live.MaxInFlight},
	}
	defer client.CloseIdleConnections()

	counts0, err := readCounts(l.metrics) // the deployment's build is not counted
	if err != nil {
		e.Close()
		return nil, err
	}
	l.cpu.Store(0)
	dur := time.Duration(l.w.Live.Duration)
	l.start = time.Now()
	runCtx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()

	var bg sync.WaitGroup
	rebuild := make(chan struct{}, 1)
	if l.st.Kind == SSG {
		bg.Go(func() { l.builder(runCtx, rebuild) })
	}
	if l.w.Changes.PerHour > 0 && len(l.cat.targets) > 0 {
		bg.Go(func() { l.changes(runCtx, client, srv.URL, rebuild) })
	}
	if progress != nil {
		bg.Go(func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-runCtx.Done():
					progress(l.st.Name(), dur, dur)
					return
				case <-t.C:
					progress(l.st.Name(), min(time.Since(l.start), dur), dur)
				}
			}
		})
	}
	l.load(runCtx, client, srv.URL)
	cancel()
	bg.Wait()
	srv.Close() // every request counted by the engines has returned
	got, err := readCounts(l.metrics)
	if err != nil {
		return nil, err
	}
	got = got.sub(counts0)

	final := l.cur.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	elapsed := time.Since(l.start)
	r := l.rec.result(Duration(elapsed))
	// The cache statuses, renders and origin calls are the engines' own
	// metrics, as regen serve exports them; a request that failed before
	// reaching the engine counts in Requests and Errors only.
	r.Hit, r.Stale, r.Miss, r.Bypass = got.hit, got.stale, got.miss, got.bypass
	if r.Requests > 0 {
		r.RendersPer1k = round(float64(got.renders)*1000/float64(r.Requests), 2)
		r.OriginPer1k = round(float64(got.origin)*1000/float64(r.Requests), 2)
	}
	r.RenderCPUPerHour = round(time.Duration(l.cpu.Load()).Seconds()/elapsed.Hours(), 3)
	r.Builds = l.builds
	if l.builds > 0 {
		r.BuildS = Build{Mean: round((l.buildSum / time.Duration(l.builds)).Seconds(), 3), Max: round(l.buildMax.Seconds(), 3)}
	}
	if l.st.Kind == ISR {
		r.IntervalS = int64(l.st.Interval / time.Second)
	}
	final.Close()
	return r, nil
}

// load is the load generator: Poisson arrivals at the workload's rate, Zipf
// popularity, at most MaxInFlight requests in flight, until ctx ends. Each
// request's time to first byte counts from when it was due, so a generator
// held back by MaxInFlight does not hide the server's slowness.
func (l *live) load(ctx context.Context, client *http.Client, base string) {
	if l.cat.replay != nil {
		l.replay(ctx, client, base)
		return
	}
	arrival := rand.New(rand.NewPCG(l.w.Seed, 1))
	pick := rand.New(rand.NewPCG(l.w.Seed, 2))
	popular := newAlias(zipfWeights(len(l.cat.paths), l.w.Traffic.Zipf))
	inflight := make(chan struct{}, l.w.Live.MaxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	due := l.start
	for {
		due = due.Add(expDuration(arrival, l.w.Traffic.RPS))
		if d := time.Until(due); d > 0 {
			if clock.Sleep(ctx, d) != nil {
				return
			}
		}
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		i, at := popular.sample(pick), due
		wg.Go(func() {
			defer func() { <-inflight }()
			l.get(client, base+l.cat.paths[i], at)
		})
	}
}

// get makes one request and records it. It is not canceled when the run
// ends: the requests in flight finish (bounded by the client's timeout).
func (l *live) get(client *http.Client, url string, due time.Time) {
	resp, err := client.Get(url)
	ttfb := time.Since(due)
	if err != nil {
		l.mu.Lock()
		l.rec.record(0, 0, ttfb, ttfb, 0, true)
		l.mu.Unlock()
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	last := time.Since(due) // a partial route's holes stream after its first byte
	var vers []urlVersion
	scanVersions(body, func(u []byte, v int64) {
		if i, ok := l.cat.urlIndex[string(u)]; ok {
			vers = append(vers, urlVersion{i, v})
		}
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Since(l.start)
	var stale time.Duration
	fresh := true
	for _, uv := range vers {
		if uv.version < l.version[uv.url] {
			fresh = false
			if uv.version >= 1 {
				stale = max(stale, now-l.published[uv.url][uv.version-1])
			}
		}
	}
	l.rec.record(0, resp.StatusCode, ttfb, last, stale, fresh) // the cache status is counted by the engine's metrics
}

// changes publishes content changes at the workload's rate until ctx ends,
// and tells the strategy: a rebuild for SSG, the webhook for on-demand.
func (l *live) changes(ctx context.Context, client *http.Client, base string, rebuild chan<- struct{}) {
	rng := rand.New(rand.NewPCG(l.w.Seed, 3))
	rate := l.w.Changes.PerHour / 3600
	for {
		if clock.Sleep(ctx, expDuration(rng, rate)) != nil {
			return
		}
		u := l.cat.targets[rng.IntN(len(l.cat.targets))]
		l.mu.Lock()
		l.origin.PublishURL(l.cat.urls[u])
		l.version[u]++
		l.published[u] = append(l.published[u], time.Since(l.start))
		l.rec.r.Changes++
		l.mu.Unlock()
		switch {
		case l.st.Kind == SSG:
			select {
			case rebuild <- struct{}{}:
			default: // a rebuild is already due: this change joins it
			}
		case l.st.OnDemand:
			l.webhook(ctx, client, base, u)
		}
	}
}

// webhook calls the revalidation endpoint as a CMS would.
func (l *live) webhook(ctx context.Context, client *http.Client, base string, u int32) {
	req := engine.RevalidateRequest{Tags: l.cat.webhookTags(u), Mode: l.st.Mode}
	if len(req.Tags) == 0 {
		for _, p := range l.cat.urlPaths[u] {
			req.Paths = append(req.Paths, l.cat.paths[p])
		}
	}
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/_bench/revalidate", bytes.NewReader(body))
	if err != nil {
		return
	}
	hr.Header.Set("Authorization", "Bearer "+l.secret)
	hr.Header.Set("Content-Type", "application/json")
	if resp, err := client.Do(hr); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// builder rebuilds the SSG site on each signal until ctx ends: a new engine
// prerendered on the build workers, swapped in when done. Changes arriving
// during a build leave one signal: they are coalesced into the next build.
func (l *live) builder(ctx context.Context, rebuild <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-rebuild:
		}
		t0 := time.Now()
		e, err := l.newEngine()
		if err != nil {
			return
		}
		if _, err := e.Prerender(building(ctx), engine.PrerenderOptions{Concurrency: l.w.Capacity.BuildWorkers}); err != nil {
			e.Close()
			return // the run ended mid-build
		}
		d := time.Since(t0)
		old := l.cur.Swap(e)
		l.mu.Lock()
		l.builds++
		l.buildSum += d
		l.buildMax = max(l.buildMax, d)
		l.mu.Unlock()
		old.Close()
	}
}
