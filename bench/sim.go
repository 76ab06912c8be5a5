package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
	"unsafe"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/sitespec"
)

// epoch is virtual time zero: simulations start on a fixed date so that
// their output does not depend on the wall clock.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// cost is what a render (or a build, or a refresh) spent: its computing,
// which holds a worker, and its waits for the origin, which do not.
type cost struct {
	cpu  time.Duration
	wait time.Duration
}

// event is background work on virtual time.
type event struct {
	at   time.Duration
	seq  uint64 // ties broken in scheduling order: deterministic
	kind eventKind
	f    func()         // evJob: the engine's background function; nil once run early
	eng  *engine.Engine // evSwap: the new build
	dur  time.Duration  // evSwap: how long the build took
}

type eventKind uint8

const (
	evJob  eventKind = iota + 1 // run a regeneration or a data refresh
	evSwap                      // an SSG build is done: swap it in
)

// sim runs one strategy on virtual time: it drives the real engine with the
// workload's requests and content changes, one event at a time, on one
// goroutine. The engine's clock, scheduler, origin and render costs are the
// sim's. It is not safe for concurrent use.
type sim struct {
	w     *Workload
	cat   *catalog
	st    Strategy
	spec  *sitespec.Spec
	onTop func(simulated time.Duration) // progress, may be nil

	now  time.Duration // since epoch
	nowT time.Time
	end  time.Duration

	origin origin
	eng    *engine.Engine
	sink   *cost      // where the Sleep hooks add up costs, outside holes
	idle   cost       // the sink outside any work
	holes  *holeCosts // the holes of the request being served
	spent  []cost     // what they spent, once it is served

	pendingMu sync.Mutex // protects pending: a hole's refresh schedules from its goroutine
	pending   []func()   // what the engine scheduled during the current step

	events  []event // a min-heap by (at, seq)
	seq     uint64
	workers []time.Duration // a min-heap of the times each worker is free

	reqs    []*http.Request // one per path, reused
	rw      *writer
	arrival *rand.Rand
	pick    *rand.Rand
	change  *rand.Rand
	popular *alias
	replay  *replayCursor // the log's requests when replaying, or nil
	nextReq time.Duration
	nextChg time.Duration

	version   []int64           // per URL: the origin's current version
	published [][]time.Duration // per URL: when version k+2 was published, at index k
	views     []view            // per path: the last page body seen and its versions
	busy      []time.Duration   // per path: a MISS render in flight until then
	regenAt   []time.Duration   // per path: a regeneration in flight until then
	regenSeq  []uint64          // per path: the event of that regeneration

	building bool // an SSG build is running
	dirty    bool // a change arrived since the running build started

	rec      *recorder
	renders  int64 // renders of engines already swapped out
	cpuTotal time.Duration
	builds   int
	buildSum time.Duration
	buildMax time.Duration
}

// view is a page as last served for one path: its body and the version of
// each URL it shows.
type view struct {
	body []byte
	vers []urlVersion
}

type urlVersion struct {
	url     int32
	version int64
}

func newSim(w *Workload, cat *catalog, st Strategy, onTop func(time.Duration)) (*sim, error) {
	s := &sim{
		w: w, cat: cat, st: st, spec: st.apply(w.Site), onTop: onTop,
		end:       time.Duration(w.Traffic.Duration),
		rw:        newWriter(),
		arrival:   rand.New(rand.NewPCG(w.Seed, 1)),
		pick:      rand.New(rand.NewPCG(w.Seed, 2)),
		change:    rand.New(rand.NewPCG(w.Seed, 3)),
		popular:   newAlias(zipfWeights(len(cat.paths), w.Traffic.Zipf)),
		version:   make([]int64, len(cat.urls)),
		published: make([][]time.Duration, len(cat.urls)),
		views:     make([]view, len(cat.paths)),
		busy:      make([]time.Duration, len(cat.paths)),
		regenAt:   make([]time.Duration, len(cat.paths)),
		regenSeq:  make([]uint64, len(cat.paths)),
		workers:   make([]time.Duration, w.Capacity.Workers),
		rec:       newRecorder(st.Name()),
		holes:     new(holeCosts),
	}
	s.sink = &s.idle
	s.setNow(0)
	for i := range s.version {
		s.version[i] = 1
	}
	s.origin = w.newOrigin(s.spec.Origin.Latency, s.originSleep)
	reqCtx := context.WithValue(context.Background(), holeCostsKey{}, s.holes)
	for _, p := range cat.paths {
		req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, "http://bench.invalid"+p, nil)
		if err != nil {
			return nil, fmt.Errorf("bench: path %q: %w", p, err)
		}
		s.reqs = append(s.reqs, req)
	}
	var err error
	if cat.replay != nil {
		if s.replay, err = newReplayCursor(cat.replay); err != nil {
			return nil, err
		}
	}
	if s.eng, err = s.newEngine(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *sim) setNow(t time.Duration) {
	s.now = t
	s.nowT = epoch.Add(t)
}

func (s *sim) clock() time.Time { return s.nowT }

// Go is the engine's Scheduler: work is queued and placed on virtual time
// once the step that started it is over.
func (s *sim) Go(f func()) {
	s.pendingMu.Lock()
	s.pending = append(s.pending, f)
	s.pendingMu.Unlock()
}

// renderSleep and originSleep spend a cost on virtual time: the hole's,
// in a hole's render (which runs on a goroutine of its own), else the
// sink's.
func (s *sim) renderSleep(ctx context.Context, d time.Duration) error {
	if h := holeOf(ctx); h != nil {
		h.add(d, 0)
		return nil
	}
	s.sink.cpu += d
	return nil
}

func (s *sim) originSleep(ctx context.Context, d time.Duration) error {
	if h := holeOf(ctx); h != nil {
		h.add(0, d)
		return nil
	}
	s.sink.wait += d
	return nil
}

func (s *sim) newEngine() (*engine.Engine, error) {
	site, err := s.w.build(s.spec, s.renderSleep, s.origin, false)
	if err != nil {
		return nil, err
	}
	e, err := engine.New(site, engine.Options{
		Now: s.clock, Scheduler: s, Fetcher: s.origin, Logger: quiet,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: %s: site %s: %w", s.st.Name(), s.w.SiteFile, err)
	}
	return e, nil
}

// build prerenders e at the current time and returns what it cost.
func (s *sim) build(ctx context.Context, e *engine.Engine) (cost, error) {
	var c cost
	s.sink = &c
	_, err := e.Prerender(ctx, engine.PrerenderOptions{Concurrency: 1})
	s.sink = &s.idle
	s.cpuTotal += c.cpu
	if err != nil {
		return c, fmt.Errorf("bench: %s: build: %w", s.st.Name(), err)
	}
	return c, nil
}

// run simulates the workload and returns the strategy's figures.
func (s *sim) run(ctx context.Context) (*Result, error) {
	defer func() {
		s.eng.Close()
		for _, ev := range s.events { // a build the run ended before it was swapped in
			if ev.kind == evSwap {
				ev.eng.Close()
			}
		}
	}()
	// The deployment: every strategy starts from a build (SSR's is empty).
	if _, err := s.build(ctx, s.eng); err != nil {
		return nil, err
	}
	s.drain(-1)
	renders0, calls0, cpu0 := s.eng.Stats().Renders, s.origin.Calls(), s.cpuTotal

	perHour := s.w.Changes.PerHour
	s.nextReq = s.nextArrival(0)
	s.nextChg = never
	if perHour > 0 && len(s.cat.targets) > 0 {
		s.nextChg = expDuration(s.change, perHour/3600)
	}
	const progressEvery = 1 << 15
	var n int
	for {
		t, what := s.nextReq, 0
		if s.nextChg < t {
			t, what = s.nextChg, 1
		}
		if len(s.events) > 0 && s.events[0].at <= t {
			t, what = s.events[0].at, 2
		}
		if t >= s.end {
			break
		}
		switch what {
		case 0:
			s.request(t)
			s.nextReq = s.nextArrival(t)
			if n++; n%progressEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				if s.onTop != nil {
					s.onTop(t)
				}
			}
		case 1:
			if err := s.publish(ctx, t); err != nil {
				return nil, err
			}
			s.nextChg = t + expDuration(s.change, perHour/3600)
		case 2:
			if err := s.runEvent(ctx, s.pop()); err != nil {
				return nil, err
			}
		}
	}
	if s.onTop != nil {
		s.onTop(s.end)
	}
	r := s.rec.result(s.w.Traffic.Duration)
	hours := time.Duration(s.w.Traffic.Duration).Hours()
	renders := s.renders + s.eng.Stats().Renders - renders0
	calls := s.origin.Calls() - calls0
	if r.Requests > 0 {
		r.RendersPer1k = round(float64(renders)*1000/float64(r.Requests), 2)
		r.OriginPer1k = round(float64(calls)*1000/float64(r.Requests), 2)
	}
	if hours > 0 {
		r.RenderCPUPerHour = round((s.cpuTotal-cpu0).Seconds()/hours, 3)
	}
	r.Builds = s.builds
	if s.builds > 0 {
		r.BuildS = Build{Mean: round((s.buildSum / time.Duration(s.builds)).Seconds(), 3), Max: round(s.buildMax.Seconds(), 3)}
	}
	return r, nil
}

// never is a time no simulation reaches.
const never = time.Duration(1<<63 - 1)

// expDuration draws the wait until the next event of a Poisson process of
// the given rate per second.
func expDuration(r *rand.Rand, rate float64) time.Duration {
	if rate <= 0 {
		return never
	}
	d := r.ExpFloat64() / rate * float64(time.Second)
	if d >= float64(never/2) {
		return never / 2
	}
	return max(time.Duration(d), 1)
}

// request serves one request at t and records what the user got.
func (s *sim) request(t time.Duration) {
	s.setNow(t)
	i, req := s.nextPath()
	if s.regenAt[i] > t && s.wouldMiss(i) {
		s.joinRegen(i)
	}
	var c cost
	s.sink = &c
	s.rw.reset()
	s.eng.ServeHTTP(s.rw, req)
	s.sink = &s.idle
	s.spent = s.holes.take(s.spent[:0]) // the engine waits for every hole
	st := s.rw.status()
	var ttfb time.Duration
	switch st {
	case regen.Miss, regen.Bypass:
		_, finish := s.work(t+c.wait, c.cpu)
		ttfb = finish - t
		s.cpuTotal += c.cpu
		if st == regen.Miss {
			s.busy[i] = finish
		}
	default:
		ttfb = time.Duration(s.w.Capacity.Hit)
		if s.busy[i] > t {
			// The render this request found stored is still running: in
			// a real server it would have joined it.
			st, ttfb = regen.Miss, s.busy[i]-t
		}
	}
	// A partial route's holes start with the request, beside its shell,
	// each on a worker once its data is in; the shell's bytes before the
	// first hole leave at ttfb, the last byte once every hole has ended.
	last := ttfb
	for _, h := range s.spent {
		_, finish := s.work(t+h.wait, h.cpu)
		last = max(last, finish-t)
		s.cpuTotal += h.cpu
	}
	if len(s.pending) > 0 {
		if s.rw.status() == regen.Stale {
			s.drain(i)
		} else {
			s.drain(-1)
		}
	}
	stale, fresh := s.staleness(i, st, len(s.spent) > 0)
	s.rec.record(st, s.rw.code, ttfb, last, stale, fresh)
}

// drain places the work the engine scheduled during the step. When path >=
// 0 the step served path STALE and the work is its regeneration: it becomes
// visible after its estimated cost on a worker. Otherwise it is a data
// refresh: it runs right after the step, before any other, since a render
// that needs the same data joins its flight and would wait for it forever
// on this one goroutine (it shows an origin latency early).
func (s *sim) drain(path int) {
	for k, f := range s.pending {
		s.pending[k] = nil
		if path >= 0 {
			wait, cpu := s.cat.regenCost(path)
			_, finish := s.work(s.now+wait, cpu)
			s.regenAt[path], s.regenSeq[path] = finish, s.push(event{at: finish, kind: evJob, f: f})
		} else {
			s.push(event{at: s.now, kind: evJob, f: f})
		}
	}
	s.pending = s.pending[:0]
}

// work takes the first free worker for cpu, from ready on, and returns when
// the work starts and ends.
func (s *sim) work(ready, cpu time.Duration) (start, finish time.Duration) {
	start = max(ready, s.workers[0])
	finish = start + cpu
	s.workers[0] = finish
	// Sift down the root of the workers' min-heap.
	h, i := s.workers, 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r] < h[l] {
			m = r
		}
		if h[i] <= h[m] {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return start, finish
}

// runEvent runs background work at its time.
func (s *sim) runEvent(ctx context.Context, ev event) error {
	s.setNow(ev.at)
	switch ev.kind {
	case evJob:
		if ev.f != nil {
			s.runJob(ev.f)
		}
	case evSwap:
		old := s.eng
		s.renders += old.Stats().Renders
		old.Close()
		s.eng = ev.eng
		s.builds++
		s.buildSum += ev.dur
		s.buildMax = max(s.buildMax, ev.dur)
		s.building = false
		// The pages of the new build are new bodies for every path.
		if s.dirty {
			return s.startBuild(ctx)
		}
	}
	return nil
}

// runJob runs background work at the current time.
func (s *sim) runJob(f func()) {
	var c cost
	s.sink = &c
	f()
	s.sink = &s.idle
	s.cpuTotal += c.cpu
	s.drain(-1)
}

// wouldMiss reports whether the engine has no entry to serve for path i
// now (it was expired on demand, or evicted).
func (s *sim) wouldMiss(i int) bool {
	ent, _, _ := s.eng.Entry(context.Background(), s.cat.paths[i])
	return ent == nil
}

// joinRegen serves the case of a request that finds no entry for path i
// while its regeneration is in flight: the engine makes it wait for that
// regeneration, which on virtual time runs only at its end, after this
// step. The regeneration runs now instead, and the request, like every
// request for the path until then, waits for its end (busy) and counts as
// a MISS.
func (s *sim) joinRegen(i int) {
	for k := range s.events {
		if ev := &s.events[k]; ev.seq == s.regenSeq[i] && ev.f != nil {
			f := ev.f
			ev.f = nil
			s.busy[i] = max(s.busy[i], s.regenAt[i])
			s.runJob(f)
			return
		}
	}
}

// publish makes one content change at t: a new version of one URL at the
// origin, then what the strategy does about it.
func (s *sim) publish(ctx context.Context, t time.Duration) error {
	s.setNow(t)
	u := s.cat.targets[s.change.IntN(len(s.cat.targets))]
	s.origin.PublishURL(s.cat.urls[u])
	s.version[u]++
	s.published[u] = append(s.published[u], t)
	s.rec.r.Changes++
	switch {
	case s.st.Kind == SSG:
		if s.building {
			s.dirty = true
			return nil
		}
		return s.startBuild(ctx)
	case s.st.OnDemand:
		if err := s.webhook(ctx, s.eng, u); err != nil {
			return err
		}
		s.drain(-1)
	}
	return nil
}

// webhook revalidates what a change of URL u touches, as a CMS webhook
// would: its narrowest tags, or the paths that fetch it when it has none.
func (s *sim) webhook(ctx context.Context, e *engine.Engine, u int32) error {
	tags := s.cat.webhookTags(u)
	for _, t := range tags {
		if err := e.RevalidateTag(ctx, t, s.st.Mode); err != nil {
			return fmt.Errorf("bench: %s: webhook: %w", s.st.Name(), err)
		}
	}
	if len(tags) == 0 {
		for _, p := range s.cat.urlPaths[u] {
			if err := e.RevalidatePath(ctx, s.cat.paths[p], engine.PagePath, s.st.Mode); err != nil {
				return fmt.Errorf("bench: %s: webhook: %w", s.st.Name(), err)
			}
		}
	}
	return nil
}

// startBuild starts an SSG build now: a new engine and store, prerendered
// from the origin's current content, swapped in when the build is done.
// Builds run on build workers of their own, not the server's.
func (s *sim) startBuild(ctx context.Context) error {
	s.building, s.dirty = true, false
	e, err := s.newEngine()
	if err != nil {
		return err
	}
	c, err := s.build(ctx, e)
	if err != nil {
		e.Close()
		return err
	}
	s.drain(-1)
	d := (c.cpu + c.wait) / time.Duration(s.w.Capacity.BuildWorkers)
	s.push(event{at: s.now + d, kind: evSwap, eng: e, dur: d})
	return nil
}

// staleness reads the versions the served page shows and returns how far
// it is behind the origin: the age of the oldest newer version of any URL
// it shows, and whether it shows the newest of every URL. holes says the
// body has holes rendered for the request.
func (s *sim) staleness(i int, st regen.Status, holes bool) (time.Duration, bool) {
	body := s.rw.body
	v := &s.views[i]
	perRequest := st == regen.Bypass || holes
	if perRequest || len(body) != len(v.body) || unsafe.SliceData(body) != unsafe.SliceData(v.body) {
		// A new page. Bodies rendered for the request (BYPASS, or with
		// holes) are parsed each time: their memory may be reused.
		v.vers = v.vers[:0]
		scanVersions(body, func(url []byte, version int64) {
			if u, ok := s.cat.urlIndex[string(url)]; ok {
				v.vers = append(v.vers, urlVersion{u, version})
			}
		})
		v.body = body
		if perRequest {
			v.body = nil
		}
	}
	var stale time.Duration
	fresh := true
	for _, uv := range v.vers {
		if cur := s.version[uv.url]; uv.version < cur {
			fresh = false
			if uv.version >= 1 {
				stale = max(stale, s.now-s.published[uv.url][uv.version-1])
			}
		}
	}
	return stale, fresh
}

// push queues ev and returns its seq.
func (s *sim) push(ev event) uint64 {
	s.seq++
	ev.seq = s.seq
	s.events = append(s.events, ev)
	h := s.events
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(&h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return ev.seq
}

func (s *sim) pop() event {
	h := s.events
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = event{}
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r].before(&h[l]) {
			m = r
		}
		if !h[m].before(&h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	s.events = h
	return top
}

func (e *event) before(o *event) bool {
	return e.at < o.at || (e.at == o.at && e.seq < o.seq)
}
