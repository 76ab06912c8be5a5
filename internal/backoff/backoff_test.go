package backoff

import (
	"strconv"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	for _, tt := range []struct {
		base     time.Duration
		failures int
		want     time.Duration
	}{
		{2 * time.Second, 1, 2 * time.Second},
		{2 * time.Second, 2, 4 * time.Second},
		{2 * time.Second, 8, 256 * time.Second},
		{2 * time.Second, 9, Max},
		{2 * time.Second, 1000, Max},
		{10 * time.Minute, 1, 10 * time.Minute}, // a base above Max is kept
		{10 * time.Minute, 5, 10 * time.Minute},
	} {
		if got := Wait(tt.base, tt.failures); got != tt.want {
			t.Errorf("Wait(%v, %d) = %v; want %v", tt.base, tt.failures, got, tt.want)
		}
	}
}

func TestSet(t *testing.T) {
	s := New(time.Second)
	now := time.Unix(1e9, 0)
	if w, n := s.Failed("k", now); w != time.Second || n != 1 {
		t.Fatalf("first failure: %v, %d", w, n)
	}
	if !s.Waiting("k", now.Add(999*time.Millisecond)) || s.Waiting("k", now.Add(time.Second)) {
		t.Error("Waiting does not end at the wait")
	}
	if w, n := s.Failed("k", now); w != 2*time.Second || n != 2 {
		t.Fatalf("second failure: %v, %d", w, n)
	}
	s.Hold("k", now, now.Add(time.Hour))
	if w, n := s.Failed("k", now); w != 4*time.Second || n != 3 {
		t.Errorf("Hold counted a failure or reset the count: %v, %d", w, n)
	}
	if n, until, ok := s.State("k"); !ok || n != 3 || !until.Equal(now.Add(4*time.Second)) {
		t.Errorf("State = %d, %v, %v; want 3, %v, true", n, until, ok, now.Add(4*time.Second))
	}
	s.Succeeded("k")
	if s.Waiting("k", now) || s.Len() != 0 {
		t.Error("Succeeded did not forget the key")
	}
	if _, _, ok := s.State("k"); ok {
		t.Error("State after Succeeded: ok")
	}
}

func TestBounded(t *testing.T) {
	s := New(time.Second)
	now := time.Unix(1e9, 0)
	s.Failed("old", now.Add(-time.Hour))
	for i := range Limit + 100 {
		s.Failed(strconv.Itoa(i), now)
	}
	if s.Len() != Limit {
		t.Errorf("keys = %d; want %d", s.Len(), Limit)
	}
	if _, ok := s.keys["old"]; ok {
		t.Error("a key whose wait was over survived the pruning")
	}
}
