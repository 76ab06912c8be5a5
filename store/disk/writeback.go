package disk

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/regen-dev/regen/store"
)

// Defaults of the write-back bounds (Options.MaxPendingBytes and
// Options.MaxPending).
const (
	DefaultMaxPendingBytes = 64 << 20 // 64 MiB
	DefaultMaxPending      = 4096
)

// writers is the number of background writers. Each writes one key at a
// time; several let the file system merge their syncs.
const writers = 4

// maxErrs bounds the failed writes a Flush reports one by one.
const maxErrs = 8

// writeBack is the queue of the writes that Set and Delete hand to the
// background writers. Each key has at most one entry, holding its newest
// version: a Set of a key whose write is pending replaces the version to
// write (coalescing), so the queue holds at most one write per key, and
// MaxPending and MaxPendingBytes bound it: Set waits for room.
type writeBack struct {
	mu      sync.Mutex // protects the fields below, and orders the memory tier's updates as their entries
	work    *sync.Cond // on mu; signaled when a key is queued or stop is set
	pend    map[string]*pending
	queue   []string      // keys whose newest version waits for a writer, oldest first; a key at most once
	head    int           // queue[head:] are waiting
	bytes   int64         // sum of the sizes of pend's versions
	seq     uint64        // counts the updates, numbering them
	changed chan struct{} // closed, and replaced, when a write completes
	errs    []error       // failed writes since the last Flush, at most maxErrs
	failed  int           // failed writes since the last Flush
	stop    bool          // the writers return once the queue is empty

	maxBytes int64
	maxCount int
	wg       sync.WaitGroup // the writers
}

// pending is a key's entry in the write-back queue: its newest version,
// waiting for a writer (queued), being written (in flight), or both when
// a Set replaced the version in flight.
type pending struct {
	it        *store.Item // the newest version; nil for a deletion
	size      int64       // it.Size(), 0 for a deletion
	gen       uint64      // counts the versions
	queued    bool        // the newest version waits for a writer; the key is in the queue
	low       uint64      // the number of the oldest update not yet taken by a writer; 0 if none
	flightLow uint64      // the number of the oldest update the write in flight covers; 0 if none
}

func (w *writeBack) init(maxBytes int64, maxCount int) {
	w.work = sync.NewCond(&w.mu)
	w.pend = map[string]*pending{}
	w.changed = make(chan struct{})
	w.maxBytes, w.maxCount = maxBytes, maxCount
}

// enqueue updates the memory tier with it (nil: deletes key) and queues
// its write, waiting for room first. If ctx ends while it waits, nothing
// changes and it returns ctx's error.
func (s *Store) enqueue(ctx context.Context, key string, it *store.Item) error {
	var size int64
	if it != nil {
		size = it.Size()
	}
	w := &s.wb
	w.mu.Lock()
	for !w.room(w.pend[key], size) {
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	e := w.pend[key]
	if it == nil {
		s.mem.Delete(ctx, key)
		if e == nil && !s.onDisk(key) {
			return nil // nothing to delete
		}
	} else {
		s.mem.Set(ctx, key, it)
	}
	w.seq++
	if e == nil {
		e = &pending{}
		w.pend[key] = e
	}
	w.bytes += size - e.size
	e.it, e.size = it, size
	e.gen++
	if !e.queued {
		e.queued, e.low = true, w.seq
		w.queue = append(w.queue, key)
		w.work.Signal()
	}
	return nil
}

// room reports whether a version of size bytes fits in the queue, e being
// its key's entry if any. A queue holding nothing else always has room, so
// an item larger than the bound is written too. w.mu is held.
func (w *writeBack) room(e *pending, size int64) bool {
	if e != nil {
		return len(w.pend) == 1 || w.bytes+size-e.size <= w.maxBytes
	}
	return len(w.pend) == 0 || len(w.pend) < w.maxCount && w.bytes+size <= w.maxBytes
}

// lookupPending returns the newest version of key if its write is pending
// or in flight: found is true, and ok is false for a deletion.
func (s *Store) lookupPending(key string) (it *store.Item, ok, found bool) {
	s.wb.mu.Lock()
	defer s.wb.mu.Unlock()
	if e := s.wb.pend[key]; e != nil {
		return e.it, e.it != nil, true
	}
	return nil, false, false
}

// writer writes queued keys until the queue is empty and stop is set.
func (s *Store) writer() {
	w := &s.wb
	defer w.wg.Done()
	for {
		w.mu.Lock()
		for w.head == len(w.queue) && !w.stop {
			w.work.Wait()
		}
		if w.head == len(w.queue) {
			w.mu.Unlock()
			return
		}
		key := w.queue[w.head]
		w.queue[w.head] = ""
		w.head++
		switch {
		case w.head == len(w.queue):
			w.queue, w.head = w.queue[:0], 0
		case w.head >= 1024 && 2*w.head >= len(w.queue):
			n := copy(w.queue, w.queue[w.head:])
			w.queue, w.head = w.queue[:n], 0
		}
		w.mu.Unlock()
		s.writeKey(key)
	}
}

// writeKey writes the newest version of key. It takes the version only
// once it holds the key's lock, so two writers of one key write its
// versions in order.
func (s *Store) writeKey(key string) {
	km := s.keyLock(key)
	km.Lock()
	defer km.Unlock()
	w := &s.wb
	w.mu.Lock()
	e := w.pend[key]
	it, gen := e.it, e.gen
	e.queued, e.flightLow, e.low = false, e.low, 0
	w.mu.Unlock()

	err := s.apply(key, it)

	w.mu.Lock()
	e.flightLow = 0
	if e.gen == gen {
		delete(w.pend, key)
		w.bytes -= e.size
	}
	if err != nil {
		w.failed++
		if len(w.errs) < maxErrs {
			w.errs = append(w.errs, fmt.Errorf("write %q: %w", key, err))
		}
	}
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
	if err != nil {
		s.log.Warn("disk: write failed; memory keeps the new version, the directory the previous one", "dir", s.dir, "key", key, "error", err)
	}
}

// drain waits until every update made before it was called is written,
// and returns the writes that failed since the last drain.
func (s *Store) drain() error {
	w := &s.wb
	w.mu.Lock()
	target := w.seq
	for {
		var low uint64
		for _, e := range w.pend {
			for _, l := range [2]uint64{e.low, e.flightLow} {
				if l != 0 && (low == 0 || l < low) {
					low = l
				}
			}
		}
		if low == 0 || low > target {
			break
		}
		ch := w.changed
		w.mu.Unlock()
		<-ch
		w.mu.Lock()
	}
	errs, failed := w.errs, w.failed
	w.errs, w.failed = nil, 0
	w.mu.Unlock()
	if failed > len(errs) {
		errs = append(errs, fmt.Errorf("and %d more failed writes", failed-len(errs)))
	}
	return errors.Join(errs...)
}

// startWriters starts the background writers.
func (s *Store) startWriters() {
	s.wb.wg.Add(writers)
	for range writers {
		go s.writer()
	}
}

// stopWriters waits for the writers to empty the queue and return.
func (s *Store) stopWriters() {
	s.wb.mu.Lock()
	s.wb.stop = true
	s.wb.work.Broadcast()
	s.wb.mu.Unlock()
	s.wb.wg.Wait()
}
