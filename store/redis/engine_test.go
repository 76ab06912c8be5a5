package redis

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/fetchcache"
	"github.com/regen-dev/regen/internal/redistest"
	"github.com/regen-dev/regen/render"
)

// clock is a virtual clock shared by the engines of a test.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(t0.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// cluster is several engines, each with its own Store, sharing one Redis,
// one clock and one origin, serving /posts/[slug] (revalidate 60) whose
// render fetches /api/posts (tag "posts") and counts itself.
type cluster struct {
	t     *testing.T
	srv   *redistest.Server
	url   string // of srv, or of a Redis Cluster
	opts  Options
	clock *clock
	log   logBuffer // the stores' log
	elog  logBuffer // the engines' log
	sync  bool      // run background work synchronously

	version     atomic.Int64 // what the origin answers: "v<version>"
	renders     atomic.Int64
	renderDelay atomic.Int64 // nanoseconds each render takes

	nodes []*node
}

type node struct {
	store *Store
	eng   *engine.Engine
}

func newCluster(t *testing.T, n int, faults bool, sync bool) *cluster {
	srv := redistest.Start(t)
	return newClusterAt(t, srv, srv.URL(), n, faults, sync)
}

// newClusterAt is newCluster on the Redis at url (srv, if not nil).
func newClusterAt(t *testing.T, srv *redistest.Server, url string, n int, faults bool, sync bool) *cluster {
	c := &cluster{t: t, srv: srv, url: url, clock: newClock(), sync: sync}
	c.opts = testOptions(&c.log)
	if faults {
		c.opts = faultOptions(&c.log)
	}
	c.version.Store(1)
	for range n {
		c.nodes = append(c.nodes, c.start())
	}
	return c
}

func (c *cluster) site() *engine.Site {
	var site engine.Site
	tags := []string{"posts"}
	site.Page("/posts/[slug]", engine.Page{
		Revalidate: regen.Seconds(60),
		Fetches:    []engine.Fetch{{URL: "/api/posts", Tags: tags}},
		Render: render.PageFunc(func(ctx context.Context, s *render.Scope, w io.Writer) error {
			c.renders.Add(1)
			time.Sleep(time.Duration(c.renderDelay.Load()))
			res, err := s.Fetch(ctx, &fetchcache.Request{URL: "/api/posts", Tags: tags})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(w, "post %s %s", s.Param("slug"), res.Body)
			return err
		}),
	})
	return &site
}

func (c *cluster) origin(ctx context.Context, req *fetchcache.Request) (*fetchcache.Response, error) {
	return &fetchcache.Response{Status: 200, Body: fmt.Appendf(nil, "v%d", c.version.Load())}, nil
}

// start opens a new instance: a Store and an engine over it.
func (c *cluster) start() *node {
	c.t.Helper()
	s := openURL(c.t, c.url, c.opts)
	opts := engine.Options{
		Store:   s,
		Now:     c.clock.Now,
		Fetcher: fetchcache.FetcherFunc(c.origin),
		Logger:  c.elog.logger(),
	}
	if c.sync {
		opts.Scheduler = regen.SchedulerFunc(func(f func()) { f() })
	}
	e, err := engine.New(c.site(), opts)
	if err != nil {
		c.t.Fatalf("engine.New: %v", err)
	}
	n := &node{store: s, eng: e}
	c.t.Cleanup(func() { n.close() })
	return n
}

func (n *node) close() {
	n.eng.Close()
	n.store.Close()
}

type response struct {
	code   int
	status string // X-Cache-Status
	body   string
	took   time.Duration
}

func (r response) String() string { return fmt.Sprintf("%d %s %q", r.code, r.status, r.body) }

func get(h http.Handler, path string) response {
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return response{rec.Code, rec.Header().Get("X-Cache-Status"), rec.Body.String(), time.Since(start)}
}

// expect checks one response's status and body.
func expect(t *testing.T, who string, r response, status, body string) {
	t.Helper()
	if r.code != 200 || r.status != status || r.body != body {
		t.Errorf("%s = %v; want 200 %s %q", who, r, status, body)
	}
}

// TestSharedHit: a page rendered on one instance is a HIT on the others,
// without a render.
func TestSharedHit(t *testing.T) {
	c := newCluster(t, 3, false, true)
	expect(t, "node 0 GET", get(c.nodes[0].eng, "/posts/a"), "MISS", "post a v1")
	for i, n := range c.nodes[1:] {
		expect(t, fmt.Sprintf("node %d GET", i+1), get(n.eng, "/posts/a"), "HIT", "post a v1")
	}
	if got := c.renders.Load(); got != 1 {
		t.Errorf("renders = %d; want 1", got)
	}
	for i, n := range c.nodes[1:] {
		if st := n.store.Stats(); st.RedisHits == 0 {
			t.Errorf("node %d: Stats().RedisHits = 0; want the page read from Redis", i+1)
		}
	}
}

// TestRevalidateTagAcrossInstances: RevalidateTag on one instance makes
// every instance serve the new content after at most one stale response,
// with one render in all.
func TestRevalidateTagAcrossInstances(t *testing.T) {
	tests := []struct {
		name  string
		mode  regen.RevalidateMode
		order []int // which instances serve, in turn, after the revalidation on node 0
	}{
		{"stale/revalidating instance first", regen.RevalidateStale, []int{0, 1, 2}},
		{"stale/another instance first", regen.RevalidateStale, []int{1, 0, 2}},
		{"expire/revalidating instance first", regen.RevalidateExpire, []int{0, 1, 2}},
		{"expire/another instance first", regen.RevalidateExpire, []int{2, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, 3, false, true)
			for _, n := range c.nodes {
				get(n.eng, "/posts/a")
			}
			before := c.clock.Now()
			c.version.Store(2)
			c.clock.Advance(time.Second)
			if err := c.nodes[0].eng.RevalidateTag(context.Background(), "posts", tt.mode); err != nil {
				t.Fatalf("RevalidateTag: %v", err)
			}
			waitFor(t, "the revalidation to reach every instance", func() bool {
				for _, n := range c.nodes {
					if st, _ := n.store.TagState(context.Background(), []string{"posts"}, before); !st.Stale {
						return false
					}
				}
				return true
			})
			renders := c.renders.Load()
			for _, i := range tt.order {
				old := 0
				var r response
				for range 3 {
					r = get(c.nodes[i].eng, "/posts/a")
					if r.code != 200 {
						t.Fatalf("node %d GET = %v; want 200", i, r)
					}
					if r.body == "post a v2" {
						break
					}
					old++
				}
				if r.body != "post a v2" || old > 1 {
					t.Errorf("node %d: served the old content %d times, then %v; want at most once, then v2", i, old, r)
				}
			}
			if got := c.renders.Load() - renders; got != 1 {
				t.Errorf("renders after the revalidation = %d; want 1", got)
			}
		})
	}
}

// TestConcurrentStaleOneRender: 100 concurrent requests spread over three
// instances to a stale path cause exactly one render.
func TestConcurrentStaleOneRender(t *testing.T) {
	c := newCluster(t, 3, false, false)
	for _, n := range c.nodes {
		get(n.eng, "/posts/a")
	}
	c.clock.Advance(61 * time.Second)
	c.renderDelay.Store(int64(200 * time.Millisecond)) // the burst ends while the render runs
	renders := c.renders.Load()

	start := make(chan struct{})
	var wg sync.WaitGroup
	res := make([]response, 100)
	for i := range res {
		wg.Go(func() {
			<-start
			res[i] = get(c.nodes[i%3].eng, "/posts/a")
		})
	}
	close(start)
	wg.Wait()
	for i, r := range res {
		if r.code != 200 || (r.status != "STALE" && r.status != "HIT") {
			t.Errorf("request %d = %v; want 200 STALE or HIT", i, r)
		}
	}
	for _, n := range c.nodes {
		n.eng.Close() // waits for the background regenerations
	}
	if got := c.renders.Load() - renders; got != 1 {
		t.Errorf("renders = %d; want exactly 1\nengine log:\n%s", got, c.elog.String())
	}
}

// TestRedisKilled: with Redis killed, requests keep succeeding from the
// local tier in bounded time; a revalidation issued meanwhile is applied
// locally at once; when Redis is back on the same port the instances
// reconnect by themselves and the revalidation and the pages rendered
// meanwhile are in Redis.
func TestRedisKilled(t *testing.T) {
	c := newCluster(t, 3, true, true)
	for _, n := range c.nodes {
		get(n.eng, "/posts/a")
	}
	c.srv.Kill()

	var slowest time.Duration
	defer func() { t.Logf("slowest request with Redis down: %v", slowest) }()
	check := func(who string, r response) {
		t.Helper()
		slowest = max(slowest, r.took)
		if r.code != 200 || r.took > 500*time.Millisecond {
			t.Errorf("%s during the outage = %v in %v; want 200 within 500ms", who, r, r.took)
		}
	}
	for round := range 3 {
		for i, n := range c.nodes {
			check(fmt.Sprintf("round %d: node %d GET /posts/a", round, i), get(n.eng, "/posts/a"))
			check(fmt.Sprintf("round %d: node %d GET /posts/b", round, i), get(n.eng, "/posts/b"))
		}
	}
	before := c.clock.Now()
	c.version.Store(2)
	c.clock.Advance(time.Second)
	if err := c.nodes[0].eng.RevalidateTag(context.Background(), "posts", regen.RevalidateStale); err != nil {
		t.Errorf("RevalidateTag during the outage: %v; want nil (applied locally, queued)", err)
	}
	check("node 0 GET after the revalidation", get(c.nodes[0].eng, "/posts/a"))
	r := get(c.nodes[0].eng, "/posts/a")
	check("node 0 GET after the regeneration", r)
	if r.body != "post a v2" {
		t.Errorf("node 0 after revalidating during the outage serves %q; want v2", r.body)
	}
	for i, n := range c.nodes {
		if n.store.Stats().Available {
			t.Errorf("node %d: Stats().Available = true during the outage", i)
		}
	}

	c.srv.Restart()
	for i, n := range c.nodes {
		waitFor(t, fmt.Sprintf("node %d to reconnect", i), func() bool { return n.store.Stats().Available })
	}
	fresh := open(t, c.srv, c.opts)
	if st, _ := fresh.TagState(context.Background(), []string{"posts"}, before); !st.Stale {
		t.Errorf("the revalidation issued during the outage is not in Redis")
	}
	if _, ok, _ := fresh.Get(context.Background(), "/posts/b"); !ok {
		t.Errorf("the page rendered during the outage is not in Redis")
	}
	for i, n := range c.nodes {
		if st := n.store.Stats(); st.Outages != 1 {
			t.Errorf("node %d: Stats().Outages = %d; want 1", i, st.Outages)
		}
	}
	if got, want := c.log.count("redis unavailable"), len(c.nodes); got != want {
		t.Errorf("outage logged %d times; want once per instance (%d):\n%s", got, want, c.log.String())
	}
	if got, want := c.log.count("redis available again"), len(c.nodes); got != want {
		t.Errorf("recovery logged %d times; want once per instance (%d):\n%s", got, want, c.log.String())
	}
	// Serving again through Redis.
	get(c.nodes[1].eng, "/posts/c")
	expect(t, "node 2 GET /posts/c after recovery", get(c.nodes[2].eng, "/posts/c"), "HIT", "post c v2")
}

// TestRedisHung: a Redis that accepts connections but answers nothing
// (SIGSTOP) never hangs a request; the instances recover when it answers.
func TestRedisHung(t *testing.T) {
	c := newCluster(t, 2, true, true)
	get(c.nodes[0].eng, "/posts/a")
	get(c.nodes[1].eng, "/posts/a")
	c.srv.Pause()
	paused := true
	defer func() {
		if paused {
			c.srv.Resume()
		}
	}()
	var slowest time.Duration
	for round := range 3 {
		for i, n := range c.nodes {
			for _, path := range []string{"/posts/a", fmt.Sprintf("/posts/new%d", round)} {
				r := get(n.eng, path)
				slowest = max(slowest, r.took)
				if r.code != 200 || r.took > 900*time.Millisecond {
					t.Errorf("round %d: node %d GET %s with Redis hung = %v in %v; want 200 well under a second", round, i, path, r, r.took)
				}
			}
		}
	}
	t.Logf("slowest request with Redis hung: %v", slowest)
	c.srv.Resume()
	paused = false
	for i, n := range c.nodes {
		waitFor(t, fmt.Sprintf("node %d to recover", i), func() bool { return n.store.Stats().Available })
	}
	fresh := open(t, c.srv, c.opts)
	if _, ok, _ := fresh.Get(context.Background(), "/posts/new2"); !ok {
		t.Errorf("a page rendered while Redis hung is not in Redis afterwards")
	}
}

// TestInstanceRestart: an instance restarted with Redis up (a new Store
// and engine) serves the latest pages as HIT, without rendering.
func TestInstanceRestart(t *testing.T) {
	c := newCluster(t, 2, false, true)
	get(c.nodes[0].eng, "/posts/a")
	get(c.nodes[1].eng, "/posts/a")
	c.version.Store(2)
	c.clock.Advance(time.Second)
	c.nodes[0].eng.RevalidateTag(context.Background(), "posts", regen.RevalidateStale)
	get(c.nodes[0].eng, "/posts/a") // STALE, regenerates
	expect(t, "node 0 GET after regenerating", get(c.nodes[0].eng, "/posts/a"), "HIT", "post a v2")

	c.nodes[1].close()
	renders := c.renders.Load()
	restarted := c.start()
	expect(t, "restarted instance GET", get(restarted.eng, "/posts/a"), "HIT", "post a v2")
	if got := c.renders.Load() - renders; got != 0 {
		t.Errorf("the restarted instance rendered %d times; want 0", got)
	}
	if strings.Contains(c.log.String(), "level=WARN") {
		t.Errorf("warnings logged with Redis up:\n%s", c.log.String())
	}
}
