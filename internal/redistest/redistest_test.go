package redistest

import (
	"testing"
	"time"
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
