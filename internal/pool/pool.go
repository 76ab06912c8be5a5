// Package pool runs functions on at most a fixed number of goroutines, with
// a bounded queue in front of them. Goroutines are started when work arrives
// and end when the queue is empty, so an idle pool holds none.
package pool

import (
	"context"
	"sync"
)

// Pool runs functions with bounded concurrency and a bounded queue. It is
// safe for concurrent use.
type Pool struct {
	workers, queueLen int

	mu      sync.Mutex // protects the fields below
	queue   []func()   // FIFO; at most queueLen
	running int        // goroutines draining the queue
	pending int        // functions accepted and not yet returned
	closed  bool

	wg sync.WaitGroup // the running goroutines
}

// New returns a pool running at most workers functions at once, with at
// most queueLen more waiting. Both are at least 1.
func New(workers, queueLen int) *Pool {
	return &Pool{workers: max(workers, 1), queueLen: max(queueLen, 1)}
}

// TryGo runs f on the pool, or queues it when every worker is busy. It
// returns false, and f never runs, when the queue is full or the pool is
// closed: the caller decides what dropped work means.
func (p *Pool) TryGo(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.pending >= p.workers+p.queueLen {
		return false
	}
	p.pending++
	p.queue = append(p.queue, f)
	if p.running < p.workers {
		p.running++
		p.wg.Add(1)
		go p.work()
	}
	return true
}

// Go runs f on the pool, or, when the queue is full or the pool closed, in
// the caller: work given to Go is never lost, and a full pool slows its
// callers down instead of growing. It makes a Pool a regen.Scheduler.
func (p *Pool) Go(f func()) {
	if !p.TryGo(f) {
		f()
	}
}

// work runs queued functions until the queue is empty.
func (p *Pool) work() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.running--
			p.queue = nil // let the backing array go
			p.mu.Unlock()
			return
		}
		f := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.mu.Unlock()
		f()
		p.mu.Lock()
		p.pending--
		p.mu.Unlock()
	}
}

// Len returns the functions queued, not yet running.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// Close refuses new work and waits for the queued and running functions.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
}

// Drain waits for the work wg counts, then closes p (when not nil), until
// ctx ends; it returns ctx.Err() if ctx ended first, and the waiting goes on
// in the background. It is how an owner of a pool shuts down: stop adding to
// wg first.
func Drain(ctx context.Context, wg *sync.WaitGroup, p *Pool) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		if p != nil {
			p.Close()
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
