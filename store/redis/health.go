package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// ErrRefused is matched by the error Open returns when Redis answers but
// refuses the store's writes, and by Stats' errors in that state.
var ErrRefused = errors.New("redis: Redis refuses the store's writes")

// refusal is an answer from Redis that retrying will not change.
type refusal struct{ err error }

// errClusterNode is the refusal of a cluster node opened as one server.
var errClusterNode = errors.New("the server is a Redis Cluster node (cluster_enabled:1)")

func (r *refusal) Error() string {
	if goredis.HasErrorPrefix(r.err, "MOVED") || errors.Is(r.err, errClusterNode) {
		return fmt.Sprintf("%v: %v (a Redis Cluster node: open it with redis+cluster://host:port)", ErrRefused, r.err)
	}
	return fmt.Sprintf("%v: %v", ErrRefused, r.err)
}
func (r *refusal) Unwrap() []error { return []error{ErrRefused, r.err} }

// transient are the prefixes of Redis errors that go away by themselves:
// a cluster reconfiguring, a server loading its data or busy with a script.
var transient = []string{"LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "BUSY", "ASK", "NOREPLICAS"}

// refused wraps err as a refusal when it is an answer from Redis that
// retrying will not change: MOVED to a client that is not a cluster client,
// READONLY, NOPERM, NOAUTH, WRONGPASS, OOM, an unknown command. Other
// errors (the network, timeouts, transient states) are returned as they are.
func refused(err error) error {
	var re goredis.Error
	if err == nil || !errors.As(err, &re) || errors.Is(err, goredis.Nil) {
		return err
	}
	for _, p := range transient {
		if goredis.HasErrorPrefix(err, p) {
			return err
		}
	}
	return &refusal{err}
}

// checkServer refuses a Redis Cluster node opened as one server: its
// answers to the keys of the other nodes' slots would be MOVED errors. A
// server that does not answer INFO (renamed by its operator) is taken as
// it is.
func (s *Store) checkServer(ctx context.Context) error {
	info, err := s.rdb.Info(ctx, "cluster").Result()
	if err == nil && strings.Contains(info, "cluster_enabled:1") {
		return &refusal{errClusterNode}
	}
	return nil
}

// nodeOutage is a cluster master found failing.
type nodeOutage struct {
	since time.Time
	err   error
}

// cluster returns the cluster client, or nil on one server.
func (s *Store) cluster() *goredis.ClusterClient {
	cc, _ := s.rdb.(*goredis.ClusterClient)
	return cc
}

// nodeOf returns the address of the master that owns key's slot on a
// Redis Cluster; "" on one server, or when the cluster's layout is unknown.
func (s *Store) nodeOf(key string) string {
	cc := s.cluster()
	if cc == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.ReadTimeout)
	defer cancel()
	c, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return ""
	}
	return c.Options().Addr
}

// keyDown reports whether the master owning key (a Redis key) is known to
// be failing. It costs one atomic load while no master is.
func (s *Store) keyDown(key string) bool {
	if s.nodesDown.Load() == 0 {
		return false
	}
	addr := s.nodeOf(key)
	if addr == "" {
		return false
	}
	s.nodeMu.Lock()
	defer s.nodeMu.Unlock()
	return s.down[addr] != nil
}

// failKey records that a command on key (a Redis key) failed with err. On
// a cluster, unless Redis refused it, only the master owning key is marked
// failing: the keys of the other masters go on being read and written. It
// reports whether the whole store was marked unavailable instead.
func (s *Store) failKey(key string, err error) (storeWide bool) {
	err = refused(err)
	var r *refusal
	if !errors.As(err, &r) {
		if addr := s.nodeOf(key); addr != "" {
			s.nodeFailed(addr, err)
			return false
		}
	}
	s.fail(err)
	return true
}

// nodeFailed marks the master at addr failing; the start of its outage is
// logged once.
func (s *Store) nodeFailed(addr string, err error) {
	s.poke()
	s.nodeMu.Lock()
	defer s.nodeMu.Unlock()
	if o := s.down[addr]; o != nil {
		o.err = err
		return
	}
	s.down[addr] = &nodeOutage{since: time.Now(), err: err}
	s.nodesDown.Add(1)
	s.stats.nodeOutages.Add(1)
	s.log.Warn("regen: redis cluster node unavailable; its keys are served from the local tier and their writes queued",
		"node", addr, "error", err)
}

// nodeRecovered marks the master at addr available; the end of its outage
// is logged once.
func (s *Store) nodeRecovered(addr string) {
	s.nodeMu.Lock()
	o := s.down[addr]
	if o != nil {
		delete(s.down, addr)
		s.nodesDown.Add(-1)
	}
	s.nodeMu.Unlock()
	if o != nil {
		s.log.Info("regen: redis cluster node available again", "node", addr,
			"down_for", time.Since(o.since).Round(time.Millisecond))
		s.poke()
	}
}

// checkNodes asks every master of a cluster whether it serves its slots, and
// updates which are failing: a master is marked failing or available by
// its own answer only, never by another's. On one server it does nothing:
// the keeper's probe and the subscription watch it.
//
// It returns how many masters answered, and an error when none did.
func (s *Store) checkNodes() (int, error) {
	cc := s.cluster()
	if cc == nil {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
	defer cancel()
	var answered atomic.Int32
	var last atomic.Pointer[error]
	var mastersMu sync.Mutex // protects masters
	masters := map[string]bool{}
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
		addr := c.Options().Addr
		mastersMu.Lock()
		masters[addr] = true
		mastersMu.Unlock()
		if err := nodeReady(ctx, c); err != nil {
			last.Store(&err)
			s.nodeFailed(addr, err)
		} else {
			answered.Add(1)
			s.nodeRecovered(addr)
		}
		return nil
	})
	if err == nil {
		// A node found failing that is no master any more (its replica
		// took its slots, or it left the cluster) owns no key: it would
		// never be asked again, and count as down for ever.
		s.nodeMu.Lock()
		var gone []string
		for addr := range s.down {
			if !masters[addr] {
				gone = append(gone, addr)
			}
		}
		s.nodeMu.Unlock()
		for _, addr := range gone {
			s.nodeRecovered(addr)
		}
	}
	if n := int(answered.Load()); n > 0 || err != nil {
		return n, err
	}
	if err := last.Load(); err != nil {
		return 0, *err
	}
	return 0, errors.New("no cluster master answers")
}

// nodeReady reports whether a cluster master serves its slots: it answers,
// and its view of the cluster is ok (a master restarted refuses commands
// until it has heard from the others).
func nodeReady(ctx context.Context, c *goredis.Client) error {
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return errors.New("cluster_state is not ok")
	}
	return nil
}

// subscriber returns the client to subscribe with: on a cluster, a master
// that answers, other than the one holding the tag hash when there is one,
// so that losing that master does not also lose the subscription (pub/sub
// messages reach every node of a cluster).
func (s *Store) subscriber() goredis.UniversalClient {
	cc := s.cluster()
	if cc == nil {
		return s.rdb
	}
	tagsNode := s.nodeOf(s.tagsKey)
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
	defer cancel()
	var mu sync.Mutex // protects best
	var best *goredis.Client
	_ = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
		if nodeReady(ctx, c) != nil {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if best == nil || best.Options().Addr == tagsNode {
			best = c
		}
		return nil
	})
	if best == nil {
		return s.rdb
	}
	return best
}

// maxSkew is the difference between an instance's clock and Redis's above
// which the Store warns: tag and item times are taken from the instances'
// clocks, and compared across instances.
const maxSkew = 500 * time.Millisecond

// measureClock compares this instance's clock with Redis's (TIME) and
// warns once when they differ by more than maxSkew.
func (s *Store) measureClock() {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
	defer cancel()
	before := time.Now()
	rt, err := s.rdb.Time(ctx).Result()
	after := time.Now()
	if err != nil {
		return
	}
	rtt := after.Sub(before)
	skew := rt.Sub(before.Add(rtt / 2))
	s.stats.clockSkew.Store(int64(skew))
	if skew.Abs() > maxSkew+rtt/2 && !s.skewLogged.Swap(true) {
		s.log.Warn("regen: this instance's clock differs from Redis's; revalidations compare times across instances' clocks, so keep them in sync (NTP)",
			"skew", skew.Round(time.Millisecond), "max", maxSkew)
	}
}
