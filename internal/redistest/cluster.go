package redistest

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// slots is the number of Redis Cluster hash slots.
const slots = 16384

// NodeTimeout is the cluster-node-timeout of the clusters StartCluster
// starts: how long a silent master takes to be marked failing by the others.
const NodeTimeout = time.Second

// Cluster is a Redis Cluster of masters without replicas, each a Server on
// loopback, with the slots split evenly among them in order. It is made with
// cluster-require-full-coverage off, so that a dead master affects only its
// own slots, as a production cluster should be configured for regen. It is
// stopped when the test ends. A Cluster is not safe for concurrent use.
type Cluster struct {
	tb      testing.TB
	Masters []*Server // Masters[i] owns the i-th of len(Masters) equal ranges of slots
}

// StartCluster starts n redis-server processes in cluster mode on free
// loopback ports, assigns them the slots and introduces them to each other
// (CLUSTER ADDSLOTSRANGE and CLUSTER MEET, so redis-cli is not needed), and
// waits until every node reports the cluster ok. Like Start, it skips or
// fails the test without redis-server.
func StartCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	if n < 1 {
		tb.Fatalf("redistest: StartCluster(%d)", n)
	}
	bin := lookPath(tb)
	c := &Cluster{tb: tb}
	for range n {
		c.Masters = append(c.Masters, start(tb, bin, func() ([]string, error) {
			bus, err := freePort()
			if err != nil {
				return nil, err
			}
			return []string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", strconv.Itoa(int(NodeTimeout / time.Millisecond)),
				"--cluster-require-full-coverage", "no",
				"--cluster-port", strconv.Itoa(bus),
			}, nil
		}))
	}
	ctx := context.Background()
	for i, s := range c.Masters {
		lo, hi := c.slotRange(i)
		if err := c.do(ctx, s, "cluster", "addslotsrange", lo, hi); err != nil {
			tb.Fatalf("redistest: CLUSTER ADDSLOTSRANGE %d %d on %s: %v", lo, hi, s.Addr(), err)
		}
	}
	for _, s := range c.Masters[1:] {
		if err := c.do(ctx, c.Masters[0], "cluster", "meet", "127.0.0.1", s.port, s.busPort()); err != nil {
			tb.Fatalf("redistest: CLUSTER MEET %s: %v", s.Addr(), err)
		}
	}
	c.Await()
	return c
}

// slotRange returns the first and last slot of master i.
func (c *Cluster) slotRange(i int) (lo, hi int) {
	n := len(c.Masters)
	return i * slots / n, (i+1)*slots/n - 1
}

// busPort returns the cluster bus port given to the server.
func (s *Server) busPort() int {
	for i, a := range s.extra {
		if a == "--cluster-port" && i+1 < len(s.extra) {
			p, _ := strconv.Atoi(s.extra[i+1])
			return p
		}
	}
	return s.port + 10000
}

// do runs one command on s.
func (c *Cluster) do(ctx context.Context, s *Server, args ...any) error {
	rdb := goredis.NewClient(&goredis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer rdb.Close()
	return rdb.Do(ctx, args...).Err()
}

// Await waits until every running node knows every node and reports the
// cluster ok with all slots assigned: after StartCluster, and after a
// Restart of a master (which refuses writes for about two seconds after it
// starts, until it has heard from the others).
func (c *Cluster) Await() {
	c.tb.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(startWait)
	for {
		var bad string
		for _, s := range c.Masters {
			if s.proc == nil {
				continue
			}
			rdb := goredis.NewClient(&goredis.Options{Addr: s.Addr(), MaxRetries: -1})
			info, err := rdb.ClusterInfo(ctx).Result()
			rdb.Close()
			switch {
			case err != nil:
				bad = fmt.Sprintf("%s: %v", s.Addr(), err)
			case !strings.Contains(info, "cluster_state:ok"),
				!strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", len(c.Masters))),
				!strings.Contains(info, fmt.Sprintf("cluster_slots_assigned:%d\r", slots)):
				bad = fmt.Sprintf("%s: %q", s.Addr(), info)
			}
			if bad != "" {
				break
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("redistest: cluster not ok after %v: %s", startWait, bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addrs returns the masters' host:port.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Masters))
	for i, s := range c.Masters {
		out[i] = s.Addr()
	}
	return out
}

// URL returns a redis+cluster:// URL naming every master (the first as the
// host, the others as addr parameters), the form store/redis.Open takes.
func (c *Cluster) URL() string {
	q := url.Values{}
	for _, a := range c.Addrs()[1:] {
		q.Add("addr", a)
	}
	u := "redis+cluster://" + c.Masters[0].Addr()
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// MasterFor returns the master that owns key's slot.
func (c *Cluster) MasterFor(key string) *Server {
	slot := Slot(key)
	for i, s := range c.Masters {
		if lo, hi := c.slotRange(i); slot >= lo && slot <= hi {
			return s
		}
	}
	return nil
}

// Slot returns the Redis Cluster hash slot of key: CRC16 of the key, or of
// the part between its first braces when not empty, modulo 16384.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key)) % slots
}

// crc16 is CRC16-CCITT (XModem), the checksum Redis Cluster hashes keys with.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
