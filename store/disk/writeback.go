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

// writers is the number of background writers. Each writes a batch of
// keys at a time (group commit); while one waits for its syncs, the others
// write the next batches' files.
const writers = 4

// maxBatch bounds the keys a writer takes at once: the more, the fewer
// syncs per key; the fewer, the sooner the first of them is durable, since
// a writer writes every file of its batch before it syncs any.
const maxBatch = 128

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
// a Set replaced the version in flight. A key has at most one write in
// flight: a writer that finds the key's write in flight leaves the newest
// version for the writer of the flight to queue again when it completes,
// so a key's versions are written in order.
type pending struct {
	it        *store.Item // the newest version; nil for a deletion
	size      int64       // it.Size(), 0 for a deletion
	gen       uint64      // counts the versions
	queued    bool        // the newest version waits for a writer; the key is in the queue unless requeue
	flying    bool        // a writer is writing a version of the key
	requeue   bool        // queued, and out of the queue until the flight completes
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

// writer writes batches of queued keys until stop is set and nothing is
// pending.
func (s *Store) writer() {
	defer s.wb.wg.Done()
	var batch []*op
	for {
		batch = s.wb.take(batch[:0])
		if len(batch) == 0 {
			return
		}
		for _, o := range batch {
			s.prepare(o)
		}
		s.commit(batch)
		s.complete(batch)
		clear(batch)
	}
}

// take waits for queued keys and appends the newest version of each, up to
// maxBatch, to batch, skipping the keys whose write is in flight. It
// returns batch empty once stop is set and nothing is pending.
func (w *writeBack) take(batch []*op) []*op {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for w.head < len(w.queue) && len(batch) < maxBatch {
			key := w.queue[w.head]
			w.queue[w.head] = ""
			w.head++
			e := w.pend[key]
			if e.flying {
				e.requeue = true // queued again when its flight completes
				continue
			}
			batch = append(batch, &op{key: key, it: e.it, gen: e.gen})
			e.queued, e.flying, e.flightLow, e.low = false, true, e.low, 0
		}
		switch {
		case w.head == len(w.queue):
			w.queue, w.head = w.queue[:0], 0
		case w.head >= 1024 && 2*w.head >= len(w.queue):
			n := copy(w.queue, w.queue[w.head:])
			w.queue, w.head = w.queue[:n], 0
		}
		if len(batch) > 0 || w.stop && len(w.pend) == 0 {
			return batch
		}
		w.work.Wait()
	}
}

// complete ends the flights of batch: a key whose newest version was
// written has no pending entry any more; one with a newer version is
// queued again. Failures are logged and kept for the next Flush.
func (s *Store) complete(batch []*op) {
	w := &s.wb
	w.mu.Lock()
	var failed []*op
	for _, o := range batch {
		e := w.pend[o.key]
		e.flying, e.flightLow = false, 0
		switch {
		case e.gen == o.gen:
			delete(w.pend, o.key)
			w.bytes -= e.size
		case e.requeue:
			e.requeue = false
			w.queue = append(w.queue, o.key)
		}
		if o.err != nil {
			failed = append(failed, o)
			w.failed++
			if len(w.errs) < maxErrs {
				w.errs = append(w.errs, fmt.Errorf("write %q: %w", o.key, o.err))
			}
		}
	}
	close(w.changed)
	w.changed = make(chan struct{})
	w.work.Broadcast() // the keys queued again, or the writers' exit
	w.mu.Unlock()
	for _, o := range failed {
		s.log.Warn("disk: write failed; memory keeps the new version, the directory the previous one", "dir", s.dir, "key", o.key, "error", o.err)
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
