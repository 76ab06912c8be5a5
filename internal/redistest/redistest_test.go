package redistest

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func TestServerLifecycle(t *testing.T) {
	s := Start(t)
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	pid := s.PID()
	if pid == 0 {
		t.Fatalf("PID() = 0 after Start")
	}
	s.Pause()
	if err := ping(s.Addr()); err == nil {
		t.Errorf("PING answered while paused")
	}
	s.Resume()
	if err := ping(s.Addr()); err != nil {
		t.Errorf("PING after Resume: %v", err)
	}
	s.Kill()
	if err := ping(s.Addr()); err == nil {
		t.Errorf("PING answered after Kill")
	}
	if s.PID() != 0 {
		t.Errorf("PID() = %d after Kill; want 0", s.PID())
	}
	start := time.Now()
	s.Restart()
	if err := ping(s.Addr()); err != nil {
		t.Errorf("PING after Restart: %v", err)
	}
	if s.PID() == pid {
		t.Errorf("Restart kept the old process %d", pid)
	}
	t.Logf("restart took %v", time.Since(start))
}

// TestCluster starts a 3-master cluster, checks that every master owns the
// keys Slot and MasterFor say it owns, and that a master killed and
// restarted rejoins with its slots and without its data.
func TestCluster(t *testing.T) {
	start := time.Now()
	c := StartCluster(t, 3)
	t.Logf("cluster started in %v", time.Since(start))
	ctx := context.Background()
	rdb := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs()})
	defer rdb.Close()
	for _, key := range []string{"a", "b", "c", "regen:tags", "regen:item:{/p}", "{/p}x"} {
		if err := rdb.Set(ctx, key, "v", 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
		if got, err := rdb.ClusterKeySlot(ctx, key).Result(); err != nil || int(got) != Slot(key) {
			t.Errorf("CLUSTER KEYSLOT %s = %d, %v; want %d", key, got, err, Slot(key))
		}
		own := goredis.NewClient(&goredis.Options{Addr: c.MasterFor(key).Addr()})
		if got, err := own.Get(ctx, key).Result(); err != nil || got != "v" {
			t.Errorf("GET %s on MasterFor(%[1]s) = %q, %v; want v", key, got, err)
		}
		own.Close()
	}
	m := c.MasterFor("a")
	m.Kill()
	start = time.Now()
	m.Restart()
	c.Await()
	t.Logf("restarted master ok in %v", time.Since(start))
	if n, err := rdb.Exists(ctx, "a").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS a after its master restarted = %d, %v; want 0, nil", n, err)
	}
}
