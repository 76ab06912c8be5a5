package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/regen-dev/regen/store"
)

// TryLock takes the lock named key for lease with SET NX PX and a random
// token, and renews the lease every third of it while held. ok is false
// when another holder, on any instance, has the lock. unlock releases it,
// only if still held by this caller (a script checks the token); a holder
// that crashes, or whose Redis calls fail for a whole lease, loses it when
// its lease ends.
//
// When Redis, or on a cluster the master owning the lock, is unavailable
// TryLock returns an error wrapping
// store.ErrUnavailable at once, without asking it: the caller decides
// whether to go ahead unlocked.
func (s *Store) TryLock(ctx context.Context, key string, lease time.Duration) (unlock func(), ok bool, err error) {
	if lease <= 0 {
		return nil, false, fmt.Errorf("redis: lock %q: lease %v is not positive", key, lease)
	}
	lease = max(lease, time.Millisecond)
	if !s.up.Load() || s.keyDown(s.lockKey(key)) {
		s.stats.lockErrors.Add(1)
		return nil, false, fmt.Errorf("redis: lock %q: %w", key, store.ErrUnavailable)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	l := &heldLock{s: s, key: s.lockKey(key), token: hex.EncodeToString(b[:]), lease: lease, done: make(chan struct{})}

	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.WriteTimeout)
	ok, err = s.rdb.SetNX(wctx, l.key, l.token, lease).Result()
	cancel()
	if err != nil {
		s.stats.lockErrors.Add(1)
		s.failKey(l.key, err)
		return nil, false, fmt.Errorf("redis: lock %q: %w: %w", key, store.ErrUnavailable, err)
	}
	if !ok {
		return nil, false, nil
	}
	s.lifeMu.Lock()
	if s.closed {
		s.lifeMu.Unlock()
		l.release()
		return nil, false, fmt.Errorf("redis: lock %q: store closed: %w", key, store.ErrUnavailable)
	}
	s.wg.Add(1)
	s.lifeMu.Unlock()
	go l.renew()
	return l.unlock, true, nil
}

// heldLock is a lock this instance holds.
type heldLock struct {
	s     *Store
	key   string
	token string
	lease time.Duration
	done  chan struct{} // closed by unlock
	once  sync.Once
}

// renew extends the lease every third of it until unlock, Close, or the
// lock is found lost.
func (l *heldLock) renew() {
	s := l.s
	defer s.wg.Done()
	every := max(l.lease/3, time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), min(s.opts.WriteTimeout, every))
		n, err := renewScript.Run(ctx, s.rdb, []string{l.key}, l.token, millis(l.lease)).Int64()
		cancel()
		if err == nil && n == 0 {
			// The lease ended before this renewal (Redis was unreachable
			// for a whole lease, or restarted): someone else may hold it.
			s.stats.locksLost.Add(1)
			return
		}
		// On an error, try again at the next tick, while the lease lasts.
	}
}

// unlock stops the renewals and releases the lock if still held.
func (l *heldLock) unlock() {
	l.once.Do(func() {
		close(l.done)
		l.release()
	})
}

func (l *heldLock) release() {
	ctx, cancel := context.WithTimeout(context.Background(), l.s.opts.WriteTimeout)
	defer cancel()
	_ = releaseScript.Run(ctx, l.s.rdb, []string{l.key}, l.token).Err()
}
