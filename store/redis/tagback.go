package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	goredis "github.com/redis/go-redis/v9"
)

// epochField is the field of the tag hash that holds its epoch: a random
// value set by the first instance to find the hash without one. An
// instance that finds another epoch than the one it last saw knows that
// the hash was lost meanwhile (the node holding it restarted empty, or
// Redis evicted it) and writes back every tag time it knows. Its value is
// not 16 bytes long, so it never reads as a tag's times.
const epochField = "\x00epoch"

// epochScript returns the tag hash's epoch, setting it to ARGV[2] first if
// it has none. It writes to the tag hash, so it also checks that the store
// may write there.
//
//	KEYS[1] the tag hash, ARGV[1] the epoch field, ARGV[2] a new epoch
var epochScript = goredis.NewScript(`
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[1], ARGV[1])
`)

// remember merges a tag's times into the copy of every tag time this
// instance knows, which it writes back when Redis lost them.
func (s *Store) remember(tag string, t tagTimes) {
	s.knownMu.Lock()
	s.known[tag] = s.known[tag].merge(t)
	s.knownMu.Unlock()
}

// checkEpoch reads the tag hash's epoch (setting one if it has none) and,
// when it is not the one this instance last saw, queues every tag time the
// instance knows, to be written back: Redis keeps the later of each.
func (s *Store) checkEpoch() error {
	var b [12]byte
	_, _ = rand.Read(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
	e, err := epochScript.Run(ctx, s.rdb, []string{s.tagsKey}, epochField, hex.EncodeToString(b[:])).Text()
	cancel()
	if err != nil {
		return err
	}
	s.knownMu.Lock()
	changed := e != s.epoch
	s.epoch = e
	var back []tagEntry
	if changed {
		back = make([]tagEntry, 0, len(s.known))
		for tag, t := range s.known {
			back = append(back, tagEntry{tag: tag, tagTimes: t})
		}
	}
	s.knownMu.Unlock()
	s.writeBack(back)
	return nil
}

// writeBack queues tag times Redis lacks; the keeper replays them, tag
// times first.
func (s *Store) writeBack(entries []tagEntry) {
	if len(entries) == 0 {
		return
	}
	s.stats.writtenBack.Add(int64(len(entries)))
	s.log.Info("regen: writing back tag revalidation times Redis lost", "tags", len(entries))
	s.enqueueTagsBack(entries)
	s.poke()
}

// missing returns the known tag times later than those in loaded (the
// tag hash as read by resync), and notes loaded's epoch.
func (s *Store) missing(loaded map[string]tagTimes, epoch string) []tagEntry {
	s.knownMu.Lock()
	defer s.knownMu.Unlock()
	s.epoch = epoch
	var back []tagEntry
	for tag, t := range s.known {
		if r := loaded[tag]; r.merge(t) != r {
			back = append(back, tagEntry{tag: tag, tagTimes: t})
		}
	}
	return back
}

// flushTags writes the queued tag times; it returns an error only when the
// whole store failed.
func (s *Store) flushTags() error {
	if s.keyDown(s.tagsKey) {
		return nil
	}
	for {
		entries := s.takeTags(maxTagsPerCall)
		if len(entries) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
		err := s.applyTags(ctx, entries)
		cancel()
		if err != nil {
			s.enqueueTagsBack(entries)
			s.tagsWritten(len(entries))
			if s.failKey(s.tagsKey, err) {
				return err
			}
			return nil
		}
		s.tagsWritten(len(entries))
		s.stats.replayed.Add(int64(len(entries)))
	}
}
