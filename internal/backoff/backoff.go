// Package backoff keeps the retry state of the keys whose work failed: a wait
// that starts at a base and doubles with each consecutive failure, up to a
// cap, for a bounded number of keys. The engine's regenerations and the Data
// Cache's background refreshes share it, so both follow one rule.
package backoff

import (
	"sync"
	"time"
)

// Max caps the wait, unless the base is larger: a base above Max is the
// wait of every failure.
const Max = 5 * time.Minute

// Limit bounds the keys a Set remembers. Beyond it, the keys whose wait is
// over are forgotten first, then any: a forgotten key is retried sooner,
// nothing worse.
const Limit = 10_000

// Set is the back-off state of failing keys. It is safe for concurrent use.
type Set struct {
	base time.Duration

	mu   sync.Mutex // protects keys
	keys map[string]state
}

type state struct {
	failures int
	until    time.Time
}

// New returns a Set whose first wait is base.
func New(base time.Duration) *Set {
	return &Set{base: base, keys: map[string]state{}}
}

// Wait is the wait after the failures-th consecutive failure: base doubled
// failures-1 times, at most max(Max, base).
func Wait(base time.Duration, failures int) time.Duration {
	limit := max(Max, base)
	w := base << min(max(failures-1, 0), 30)
	if w > limit || w <= 0 {
		return limit
	}
	return w
}

// Failed records a failure of key at now and returns the wait before the
// next try and the count of consecutive failures.
func (s *Set) Failed(key string, now time.Time) (wait time.Duration, failures int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.keys[key]
	st.failures++
	wait = Wait(s.base, st.failures)
	st.until = now.Add(wait)
	s.put(key, st, now)
	return wait, st.failures
}

// Hold keeps key waiting until the given time without counting a failure.
func (s *Set) Hold(key string, now, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.keys[key]
	st.until = until
	s.put(key, st, now)
}

// Waiting reports whether key is waiting at now.
func (s *Set) Waiting(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.keys[key]
	return ok && now.Before(st.until)
}

// State returns key's consecutive failures and the end of its wait; ok is
// false when key is not remembered (it has not failed, or was forgotten).
func (s *Set) State(key string) (failures int, until time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.keys[key]
	return st.failures, st.until, ok
}

// Succeeded forgets key.
func (s *Set) Succeeded(key string) {
	s.mu.Lock()
	delete(s.keys, key)
	s.mu.Unlock()
}

// Len returns the keys remembered.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

// put stores key's state, keeping at most Limit keys. s.mu is held.
func (s *Set) put(key string, st state, now time.Time) {
	if _, ok := s.keys[key]; !ok && len(s.keys) >= Limit {
		for k, old := range s.keys {
			if !now.Before(old.until) {
				delete(s.keys, k)
			}
		}
		for k := range s.keys {
			if len(s.keys) < Limit {
				break
			}
			delete(s.keys, k)
		}
	}
	s.keys[key] = st
}
