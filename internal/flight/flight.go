// Package flight runs at most one call per key at a time and lets others wait
// for its result, like golang.org/x/sync/singleflight, except that the leader
// runs the call itself (synchronously or through a scheduler of the caller's
// choosing) and a waiter that gives up never cancels the call.
package flight

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Group holds the calls in flight. The zero value is ready to use and safe
// for concurrent use.
type Group[V any] struct {
	// Keep keeps finished calls: Start returns a finished call (leader
	// false) until it is forgotten, so that the group memoizes its calls,
	// for the life of one render say. Set it before the first Start.
	Keep bool

	mu    sync.Mutex // protects calls
	calls map[string]*Call[V]
}

// Call is one call in flight.
type Call[V any] struct {
	done   chan struct{}
	forgot chan struct{} // closed when Forget abandons the call
	val    V
	err    error
	state  atomic.Int32 // running, pending or taken
}

// States of a Call: see Pend.
const (
	running int32 = iota // the default: its leader runs it
	pending              // queued by its leader, not started: TakeOver may take it
	taken                // taken over by a caller that waited on it
)

// Pend marks c, a call its leader has queued and not started, as one that
// a waiter may take over (TakeOver) rather than wait for the queue. The
// leader must then call Begin before it runs the call, and run it only if
// Begin reports true.
func (c *Call[V]) Pend() { c.state.Store(pending) }

// Begin starts a pending call for its leader: it reports false when a
// waiter took it over first, in which case the waiter ends the call and the
// leader must not run it. A call that was never pending is begun at once.
func (c *Call[V]) Begin() bool {
	return c.state.CompareAndSwap(pending, running) || c.state.Load() == running
}

// TakeOver takes a pending call that its leader has not begun: it reports
// true if it did, and the caller must then end the call (Run) itself.
func (c *Call[V]) TakeOver() bool { return c.state.CompareAndSwap(pending, taken) }

// Forgotten reports whether Forget abandoned c: another call for its key
// may have started, and ended, since.
func (c *Call[V]) Forgotten() bool {
	select {
	case <-c.forgot:
		return true
	default:
		return false
	}
}

// Forgot is closed when Forget abandons c, so that the callers waiting on
// it can give up too.
func (c *Call[V]) Forgot() <-chan struct{} { return c.forgot }

// Done is closed when the call has finished.
func (c *Call[V]) Done() <-chan struct{} { return c.done }

// Result returns the call's result; valid after Done is closed.
func (c *Call[V]) Result() (V, error) { return c.val, c.err }

// Wait waits for the call or for ctx. Giving up does not cancel the call.
func (c *Call[V]) Wait(ctx context.Context) (V, error) {
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// Start returns the call in flight for key, or makes a new one. leader is
// true when the call is new: the caller must then Run it exactly once.
func (g *Group[V]) Start(key string) (c *Call[V], leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		return c, false
	}
	if g.calls == nil {
		g.calls = make(map[string]*Call[V])
	}
	c = &Call[V]{done: make(chan struct{}), forgot: make(chan struct{})}
	g.calls[key] = c
	return c, true
}

// Forget abandons the call c for key, if it is still key's call: the next
// Start for key makes a new call, while c runs on to its end for the
// callers already waiting on it. It is how a caller gives up on a call
// that overran its deadline without leaving the key stuck behind it.
func (g *Group[V]) Forget(key string, c *Call[V]) {
	g.mu.Lock()
	if g.calls[key] == c {
		delete(g.calls, key)
		close(c.forgot) // once: c is no longer key's call
	}
	g.mu.Unlock()
}

// InFlight reports whether a call for key is running.
func (g *Group[V]) InFlight(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.calls[key]
	return ok
}

// Run runs fn as the call c for key, records its result, wakes the waiters
// and forgets the call (unless the group keeps its calls). A panic in fn
// becomes the call's error.
func (g *Group[V]) Run(key string, c *Call[V], fn func() (V, error)) (v V, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
		v, err = c.val, c.err
		g.mu.Lock()
		if !g.Keep && g.calls[key] == c { // not forgotten and replaced
			delete(g.calls, key)
		}
		g.mu.Unlock()
		close(c.done)
	}()
	c.val, c.err = fn()
	return c.val, c.err
}
