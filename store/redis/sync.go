package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The keeper brings the store back in sync with Redis: it probes an
// unavailable Redis (and cluster masters found failing) every
// RetryInterval, replays what was queued, reloads the tag times when the
// subscription (re)starts, and then marks the store available. Every
// healthInterval it also asks each master whether it answers and checks
// the tag hash's epoch, writing back the tag times Redis lost.
func (s *Store) keep() {
	defer s.wg.Done()
	retry := time.NewTimer(0)
	defer retry.Stop()
	health := time.NewTicker(healthInterval)
	defer health.Stop()
	for {
		check := false
		select {
		case <-s.stop:
			s.lastFlush()
			return
		case <-s.wake:
		case <-retry.C:
			check = true
		case <-health.C:
			check = true
		}
		if !s.step(check) {
			retry.Reset(s.opts.RetryInterval)
		}
	}
}

// step does one round of the keeper's work; false means "try again later".
// check asks it to check the masters and the tag hash's epoch as well.
func (s *Store) step(check bool) bool {
	if !check && s.up.Load() && s.pending.Load() == 0 && !s.needResync.Load() {
		return true
	}
	if !s.up.Load() {
		if err := s.probe(); err != nil {
			s.fail(err)
			return false
		}
		s.reachable.Store(true)
		select {
		case s.reached <- struct{}{}:
		default:
		}
		s.measureClock()
		check = true
	}
	if check || s.nodesDown.Load() > 0 {
		if _, err := s.checkNodes(); err != nil {
			s.fail(err)
			return false
		}
		if err := s.checkEpoch(); err != nil && s.failKey(s.tagsKey, err) {
			return false
		}
	}
	if err := s.flush(); err != nil {
		s.fail(err)
		return false
	}
	if s.needResync.Swap(false) {
		if err := s.resync(); err != nil {
			s.needResync.Store(true)
			s.fail(err)
			return false
		}
	}
	if !s.subscribed.Load() {
		return false // the subscriber pokes when it is subscribed again
	}
	if !s.up.Load() {
		s.recover()
	}
	// What is still queued waits for a failing master: try again later.
	return s.pending.Load() == 0 && s.nodesDown.Load() == 0
}

// probe checks that Redis answers PING: on a cluster, that some master
// does. With the client Open made from a URL, it first dials the server
// itself, so that an outage does not make the client's pool log a failed
// dial every RetryInterval.
func (s *Store) probe() error {
	if s.cluster() != nil {
		_, err := s.checkNodes()
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
	defer cancel()
	if c, ok := s.rdb.(*goredis.Client); ok && s.ownRDB {
		o := c.Options()
		var d net.Dialer
		conn, err := d.DialContext(ctx, o.Network, o.Addr)
		if err != nil {
			return err
		}
		conn.Close()
	}
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return err
	}
	return s.checkServer(ctx)
}

// flush replays the queue, tag times first. On one server it stops at the
// first error, which it returns. On a cluster it holds the writes of the
// masters that are failing, in order, and replays the others; it returns
// an error only when the whole store failed.
func (s *Store) flush() error {
	if err := s.flushTags(); err != nil {
		return err
	}
	var held []*op
	defer func() { s.requeueOps(held) }()
	for range s.queueLen() {
		o := s.takeOp()
		if o == nil {
			return nil
		}
		k := s.itemKey(o.key)
		if s.keyDown(k) {
			held = append(held, o)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
		applied, err := s.apply(ctx, o, true)
		cancel()
		if err != nil {
			held = append(held, o)
			if s.failKey(k, err) {
				return err
			}
			continue
		}
		s.replayed(o)
		s.stats.replayed.Add(1)
		if !applied && !o.del {
			// Redis kept a newer item: drop the local copy, if it is
			// the one replayed, so that the next read fetches it.
			s.dropIf(o.key, o.at)
		}
	}
	return nil
}

// enqueueTagsBack merges tag times into the queue without counting them as
// new writes or waking the writer: what enqueueTags queues, and what a
// replay puts back after it failed.
func (s *Store) enqueueTagsBack(entries []tagEntry) {
	s.mu.Lock()
	for _, e := range entries {
		cur, ok := s.pendingTags[e.tag]
		if !ok {
			s.pending.Add(1)
		}
		s.pendingTags[e.tag] = cur.merge(e.tagTimes)
	}
	s.mu.Unlock()
}

// lastFlush tries once to write what is queued, when Close is called.
func (s *Store) lastFlush() {
	if s.pending.Load() == 0 {
		return
	}
	if s.probe() != nil {
		return
	}
	_ = s.flush()
}

// resync loads every tag time from Redis, since messages may have been
// missed while the subscription was down, and drops the local items, which
// the next reads fetch from Redis again.
func (s *Store) resync() error {
	var cursor uint64
	loaded := map[string]tagTimes{}
	var epoch string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
		kv, next, err := s.rdb.HScan(ctx, s.tagsKey, cursor, "", 1000).Result()
		cancel()
		if err != nil {
			return fmt.Errorf("load tag times: %w", err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == epochField {
				epoch = kv[i+1]
			} else if t, ok := decodeTagTimes(kv[i+1]); ok {
				loaded[kv[i]] = t
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	// What this instance knows and Redis lacks (revalidations made here
	// while the subscription was down, or times Redis lost) is written
	// back; then what Redis holds is merged in.
	s.writeBack(s.missing(loaded, epoch))
	for tag, t := range loaded {
		s.applyTagLocal(tag, t)
	}
	s.tagEpoch.Add(1)
	s.dropLocalItems()
	s.stats.resyncs.Add(1)
	return nil
}

// dropLocalItems replaces the local items with an empty tier.
func (s *Store) dropLocalItems() {
	for i := range s.stripes {
		s.stripes[i].mu.Lock()
	}
	s.gen.Add(1)
	s.items.Store(s.newLocal())
	for i := range s.stripes {
		clear(s.stripes[i].checked)
		s.stripes[i].mu.Unlock()
	}
}

// announced applies another instance's Set (del false) or Delete of key,
// at timeBits at, to the local tier: a local copy that Redis no longer
// holds is dropped, and a read of key in flight installs what it read only
// if it is what Redis holds now.
func (s *Store) announced(key string, del bool, at uint64) {
	st := s.stripe(key)
	st.mu.Lock()
	defer st.mu.Unlock()
	if r := st.reading[key]; r != nil {
		if del {
			r.del, r.delAt = true, max(r.delAt, at)
		} else {
			r.set, r.setAt = true, at
		}
	}
	delete(st.checked, key)
	ctx := context.Background()
	local := s.items.Load()
	it, ok, _ := local.Get(ctx, key)
	if !ok {
		return
	}
	if c := timeBits(it.Created); (!del && c != at) || (del && c <= at) {
		_ = local.Delete(ctx, key)
	}
}

// dropIf drops the local copy of key if it was created at timeBits at.
func (s *Store) dropIf(key string, at uint64) {
	st := s.stripe(key)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.spoil(key)
	ctx := context.Background()
	local := s.items.Load()
	if it, ok, _ := local.Get(ctx, key); ok && timeBits(it.Created) == at {
		_ = local.Delete(ctx, key)
	}
}

// healthInterval is how long the subscriber waits for a message before it
// pings, and silentLimit how many such waits without any answer mean the
// connection is dead.
const (
	healthInterval = time.Second
	silentLimit    = 3
)

// subscribe receives the other instances' messages. Each confirmed
// (re)subscription makes the keeper reload the tag times. It subscribes
// only once the keeper found Redis reachable, so that an outage does not
// make the client's pool log a failed dial at every try.
func (s *Store) subscribe() {
	defer s.wg.Done()
	ctx := context.Background()
	var ps *goredis.PubSub
	silent := 0
	for {
		if !s.awaitReachable() {
			return
		}
		if ps == nil {
			if ps = s.newPubSub(nil); ps == nil {
				return
			}
		}
		msg, err := ps.ReceiveTimeout(ctx, healthInterval)
		if s.isClosed() {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if silent++; silent < silentLimit {
					_ = ps.Ping(ctx) // its answer, or failure, comes through ReceiveTimeout
					continue
				}
				err = fmt.Errorf("subscription: no answer for %v", silentLimit*healthInterval)
				ps = s.newPubSub(ps)
			}
			silent = 0
			s.subscribed.Store(false)
			s.fail(err)
			if s.cluster() != nil {
				// Subscribe again on a master that answers.
				s.closePubSub(ps)
				ps = nil
			}
			continue
		}
		silent = 0
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" {
				if s.subscribed.Swap(true) {
					// The client reconnected by itself: messages may
					// have been missed, so Redis is not read until the
					// tag times are reloaded.
					s.up.Store(false)
				}
				s.needResync.Store(true)
				s.poke()
			}
		case *goredis.Message:
			s.handle(m.Payload)
		}
	}
}

// awaitReachable waits until the keeper finds Redis reachable; false when
// the store was closed first.
func (s *Store) awaitReachable() bool {
	for !s.reachable.Load() {
		t := time.NewTimer(s.opts.RetryInterval)
		select {
		case <-s.stop:
			t.Stop()
			return false
		case <-s.reached:
		case <-t.C:
		}
		t.Stop()
	}
	return true
}

// newPubSub closes old, if any, and subscribes anew; nil once closed.
func (s *Store) newPubSub(old *goredis.PubSub) *goredis.PubSub {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	if s.closed {
		return nil
	}
	s.lifeMu.Unlock()
	c := s.subscriber()
	s.lifeMu.Lock()
	if s.closed {
		return nil
	}
	s.ps = c.Subscribe(context.Background(), s.channel)
	return s.ps
}

// closePubSub closes ps.
func (s *Store) closePubSub(ps *goredis.PubSub) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	_ = ps.Close()
	if s.ps == ps {
		s.ps = nil
	}
}

// handle applies another instance's message to the local tier.
func (s *Store) handle(payload string) {
	m, err := decodeMessage(payload)
	if err != nil {
		s.stats.corrupt.Add(1)
		return
	}
	if m.from == s.id {
		return
	}
	s.stats.messages.Add(1)
	switch m.kind {
	case msgTags:
		for _, e := range m.tags {
			s.applyTagLocal(e.tag, e.tagTimes)
		}
		s.tagEpoch.Add(1)
	case msgSet:
		s.announced(m.key, false, m.at)
	case msgDelete:
		s.announced(m.key, true, m.at)
	}
}
