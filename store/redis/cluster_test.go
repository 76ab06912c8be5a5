package redis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/engine"
	"github.com/regen-dev/regen/internal/redistest"
)

// TestCluster runs on a real 3-master Redis Cluster, each subtest under
// its own prefix: a store opened with a single-node URL on a cluster node
// is refused at Open; two engines opened with a redis+cluster:// URL share
// pages, spread over the masters, and revalidations; then masters are
// killed under load (testMasterKilled).
func TestCluster(t *testing.T) {
	rc := redistest.StartCluster(t, 3)
	ctx := context.Background()

	t.Run("single-node URL refused", func(t *testing.T) {
		var log logBuffer
		opts := testOptions(&log)
		opts.Prefix = "refused"
		_, err := Open(ctx, rc.Masters[0].URL(), opts)
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("Open(%s) on a cluster node = %v; want ErrRefused", rc.Masters[0].URL(), err)
		}
		t.Logf("Open error: %v", err)
		if log.count("level=ERROR") != 1 {
			t.Errorf("refusal logged %d times as an error; want once:\n%s", log.count("level=ERROR"), log.String())
		}
	})

	t.Run("shared pages and revalidations", func(t *testing.T) {
		c := newClusterAt(t, nil, rc.URL(), 2, false, true)
		c.opts.Prefix = "shared"
		c.nodes = []*node{c.start(), c.start()}
		const paths = 30
		for i := range paths {
			expect(t, "node 0 GET", get(c.nodes[0].eng, fmt.Sprintf("/posts/p%d", i)), "MISS", fmt.Sprintf("post p%d v1", i))
		}
		for i := range paths {
			expect(t, "node 1 GET", get(c.nodes[1].eng, fmt.Sprintf("/posts/p%d", i)), "HIT", fmt.Sprintf("post p%d v1", i))
		}
		per := map[string]int{}
		for i := range paths {
			per[rc.MasterFor(c.nodes[0].store.itemKey(fmt.Sprintf("/posts/p%d", i))).Addr()]++
		}
		if len(per) != 3 {
			t.Errorf("pages on %d masters (%v); want spread over 3", len(per), per)
		}
		before := c.clock.Now()
		c.version.Store(2)
		c.clock.Advance(time.Second)
		if err := c.nodes[1].eng.RevalidateTag(ctx, "posts", regen.RevalidateStale); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the revalidation to reach node 0", func() bool {
			st, _ := c.nodes[0].store.TagState(ctx, []string{"posts"}, before)
			return st.Stale
		})
		expect(t, "node 0 GET after the revalidation", get(c.nodes[0].eng, "/posts/p0"), "STALE", "post p0 v1")
		expect(t, "node 1 GET after the regeneration", get(c.nodes[1].eng, "/posts/p0"), "HIT", "post p0 v2")
		for i, n := range c.nodes {
			if st := n.store.Stats(); st.Outages != 0 || st.NodeOutages != 0 || st.Dropped != 0 {
				t.Errorf("node %d: Stats() = %+v; want no outage, no drop", i, st)
			}
		}
	})

	t.Run("master gone from the cluster", func(t *testing.T) {
		// A master found failing that is then no longer a master (its
		// replica took its slots, or it was removed) is not failing any
		// more: no key is its own.
		var log logBuffer
		opts := testOptions(&log)
		opts.Prefix = "gone"
		s := openURL(t, rc.URL(), opts)
		s.nodeFailed("127.0.0.1:1", errors.New("connection refused"))
		if st := s.Stats(); st.NodesDown != 1 {
			t.Fatalf("Stats().NodesDown = %d after a master failed; want 1", st.NodesDown)
		}
		if _, err := s.checkNodes(); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.NodesDown != 0 {
			t.Errorf("Stats().NodesDown = %d once the failing node is no master of the cluster; want 0", st.NodesDown)
		}
	})

	t.Run("masters killed", func(t *testing.T) { testMasterKilled(t, rc) })
}

// pace is the pause between a load worker's requests.
const pace = 500 * time.Microsecond

// load sends GETs over paths to the engines from several goroutines until
// stopped, counting requests and failures (any status but 200).
type load struct {
	requests, failures atomic.Int64
	slowest            atomic.Int64 // nanoseconds
	stop               chan struct{}
	once               sync.Once
	wg                 sync.WaitGroup
}

func startLoad(c *cluster, nodes []*node, paths []string, workers int) *load {
	l := &load{stop: make(chan struct{})}
	for w := range workers {
		l.wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				time.Sleep(pace) // a steady load, not a CPU-bound loop that starves Redis
				r := get(nodes[i%len(nodes)].eng, paths[i%len(paths)])
				l.requests.Add(1)
				if r.code != http.StatusOK {
					l.failures.Add(1)
					c.t.Errorf("GET %s under load = %v", paths[i%len(paths)], r)
				}
				if d := int64(r.took); d > l.slowest.Load() {
					l.slowest.Store(d)
				}
			}
		})
	}
	return l
}

// take returns the requests and failures since the last take.
func (l *load) take(last *[2]int64) (requests, failures int64) {
	r, f := l.requests.Load(), l.failures.Load()
	requests, failures = r-last[0], f-last[1]
	*last = [2]int64{r, f}
	return requests, failures
}

func (l *load) end() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// testMasterKilled runs two engines on a real 3-master Redis Cluster
// under load. Killing the master holding the tag hash and restarting it
// empty loses no revalidation: the instances write back the tag times, and
// a new instance serves every revalidated page STALE or fresh, never the
// old content as a HIT. Killing another master leaves the other masters'
// pages served from Redis. No request fails.
func testMasterKilled(t *testing.T, rc *redistest.Cluster) {
	c := newClusterAt(t, nil, rc.URL(), 0, false, true)
	c.opts.Prefix = "killed"
	c.opts.ReadTimeout = 500 * time.Millisecond
	c.opts.WriteTimeout = time.Second
	c.nodes = []*node{c.start(), c.start()}
	ctx := context.Background()
	const n = 60
	var revalidated, steady []string
	for i := range n {
		p := fmt.Sprintf("/posts/p%d", i)
		get(c.nodes[0].eng, p)
		if i < n/2 {
			revalidated = append(revalidated, p)
		} else {
			steady = append(steady, p)
		}
	}
	// Revalidate half the paths, from both instances, without regenerating
	// them: Redis keeps their old items, which only the tag times mark stale.
	c.version.Store(2)
	c.clock.Advance(time.Second)
	for i, p := range revalidated {
		if err := c.nodes[i%2].eng.RevalidatePath(ctx, p, engine.PagePath, regen.RevalidateStale); err != nil {
			t.Fatalf("RevalidatePath(%s): %v", p, err)
		}
	}
	c.clock.Advance(time.Second)
	waitFor(t, "every revalidation to reach both instances", func() bool {
		for _, n := range c.nodes {
			for _, p := range revalidated {
				it, ok, _ := n.store.Get(ctx, p)
				if !ok {
					return false
				}
				if st, _ := n.store.TagState(ctx, it.Tags, it.Created); !st.Stale {
					return false
				}
			}
		}
		return true
	})

	tagsMaster := rc.MasterFor(c.nodes[0].store.tagsKey)
	var other *redistest.Server
	for _, m := range rc.Masters {
		if m != tagsMaster {
			other = m
			break
		}
	}
	l := startLoad(c, c.nodes, steady, 4)
	defer l.end()
	var last [2]int64
	time.Sleep(100 * time.Millisecond) // some load before the kill
	req, fail := l.take(&last)
	t.Logf("before the kills: %d requests, %d failed", req, fail)

	// Kill the master of the tag hash, and restart it empty.
	killed := time.Now()
	tagsMaster.Kill()
	time.Sleep(200 * time.Millisecond) // load during the outage
	tagsMaster.Restart()
	restarted := time.Now()
	for i, nd := range c.nodes {
		waitFor(t, fmt.Sprintf("node %d to write back the tag times", i), func() bool {
			st := nd.store.Stats()
			return st.NodesDown == 0 && st.WrittenBack > 0 && st.Pending == 0
		})
	}
	recovered := time.Since(restarted)
	raw := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: rc.Addrs()})
	defer raw.Close()
	req, fail = l.take(&last)
	t.Logf("tag-hash master killed: %d requests, %d failed; down %v, recovered (tag times written back) %v after its restart",
		req, fail, restarted.Sub(killed).Round(time.Millisecond), recovered.Round(time.Millisecond))

	fresh := c.start()
	lost := 0
	for _, p := range revalidated {
		r := get(fresh.eng, p)
		if r.code != 200 || (r.status == "HIT" && r.body != fmt.Sprintf("post %s v2", p[len("/posts/"):])) {
			lost++
			t.Errorf("new instance GET %s after the tag master's restart = %v; want STALE or fresh (v2)", p, r)
		}
	}
	t.Logf("revalidations lost: %d of %d", lost, len(revalidated))

	// Kill another master: the others' pages are still shared through Redis.
	other.Kill()
	killed = time.Now()
	for i, nd := range c.nodes {
		waitFor(t, fmt.Sprintf("node %d to find the master down and be available", i), func() bool {
			st := nd.store.Stats()
			return st.NodesDown == 1 && st.Available
		})
	}
	detected := time.Since(killed)
	var live, dead []string
	for i := range 40 {
		p := fmt.Sprintf("/posts/new%d", i)
		if rc.MasterFor(c.nodes[0].store.itemKey(p)) == other {
			dead = append(dead, p)
		} else {
			live = append(live, p)
		}
		get(c.nodes[0].eng, p)
	}
	for _, p := range live {
		if r := get(c.nodes[1].eng, p); r.status != "HIT" {
			t.Errorf("node 1 GET %s (on a live master) with another master dead = %v; want HIT from Redis", p, r)
		}
	}
	for _, p := range dead {
		if r := get(c.nodes[1].eng, p); r.code != 200 {
			t.Errorf("node 1 GET %s (on the dead master) = %v; want 200", p, r)
		}
	}
	for i, nd := range c.nodes {
		if st := nd.store.Stats(); !st.Available || st.NodesDown != 1 {
			t.Errorf("node %d with one master dead: Available = %v, NodesDown = %d; want true, 1\n%s", i, st.Available, st.NodesDown, c.log.String())
		}
	}
	other.Restart()
	restarted = time.Now()
	for i, nd := range c.nodes {
		waitFor(t, fmt.Sprintf("node %d to find every master back", i), func() bool {
			st := nd.store.Stats()
			return st.NodesDown == 0 && st.Pending == 0
		})
	}
	recovered = time.Since(restarted)
	l.end()
	req, fail = l.take(&last)
	t.Logf("other master killed: %d requests, %d failed; found down (and resubscribed if it carried a subscription) in %v, %d pages on live masters shared, %d on the dead one rendered; recovered %v after its restart",
		req, fail, detected.Round(time.Millisecond), len(live), len(dead), recovered.Round(time.Millisecond))
	t.Logf("slowest request: %v", time.Duration(l.slowest.Load()))
	for i, nd := range c.nodes {
		st := nd.store.Stats()
		t.Logf("node %d: %+v", i, st)
		if st.Dropped != 0 {
			t.Errorf("node %d: Stats().Dropped = %d; want 0", i, st.Dropped)
		}
	}
	if n, err := raw.HLen(ctx, c.nodes[0].store.tagsKey).Result(); err != nil || n < int64(len(revalidated)) {
		t.Errorf("HLEN of the tag hash at the end = %d, %v; want at least %d", n, err, len(revalidated))
	}
}
