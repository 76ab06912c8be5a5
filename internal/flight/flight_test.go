package flight

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestOneCallPerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[int]
		var calls atomic.Int32
		var wg sync.WaitGroup
		var shared atomic.Int32
		for range 100 {
			wg.Go(func() {
				c, leader := g.Start("k")
				var v int
				var err error
				if leader {
					v, err = g.Run("k", c, func() (int, error) {
						calls.Add(1)
						time.Sleep(time.Second)
						return 42, nil
					})
				} else {
					shared.Add(1)
					v, err = c.Wait(context.Background())
				}
				if v != 42 || err != nil {
					t.Errorf("call = %d, %v; want 42, nil", v, err)
				}
			})
		}
		wg.Wait()
		if calls.Load() != 1 || shared.Load() != 99 {
			t.Errorf("calls, shared = %d, %d; want 1, 99", calls.Load(), shared.Load())
		}
		if g.InFlight("k") {
			t.Error("InFlight after the call = true; want false")
		}
	})
}

func TestWaiterGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string]
		c, leader := g.Start("k")
		if !leader {
			t.Fatal("first Start is not the leader")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		w, leader2 := g.Start("k")
		if leader2 || w != c {
			t.Fatal("second Start made a new call")
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			g.Run("k", c, func() (string, error) {
				time.Sleep(5 * time.Second)
				return "done", nil
			})
		}()
		if _, err := w.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait after the deadline = %v; want DeadlineExceeded", err)
		}
		<-done
		if v, err := c.Result(); v != "done" || err != nil {
			t.Errorf("Result = %q, %v; want the call to finish despite the waiter giving up", v, err)
		}
	})
}

func TestRunPanics(t *testing.T) {
	var g Group[int]
	c, _ := g.Start("k")
	v, err := g.Run("k", c, func() (int, error) { panic("boom") })
	if v != 0 || err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Errorf("Run = %d, %v; want the panic as an error", v, err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after a panic")
	}
	if g.InFlight("k") {
		t.Error("call still in flight after a panic")
	}
}

func TestForget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[int]
		c1, _ := g.Start("k")
		g.Forget("k", c1)
		c2, leader := g.Start("k")
		if !leader || c2 == c1 {
			t.Fatal("Start after Forget joined the forgotten call; want a new one")
		}
		// The forgotten call ending must not forget the new one.
		g.Run("k", c1, func() (int, error) { return 1, nil })
		if !g.InFlight("k") {
			t.Fatal("the forgotten call's end forgot the new call")
		}
		if v, _ := c1.Result(); v != 1 {
			t.Errorf("forgotten call's result = %d; want 1", v)
		}
		g.Forget("k", c1) // no longer k's call: a no-op
		if c3, leader := g.Start("k"); leader || c3 != c2 {
			t.Error("Forget of an old call forgot the current one")
		}
		g.Run("k", c2, func() (int, error) { return 2, nil })
		if g.InFlight("k") {
			t.Error("InFlight after the last call = true")
		}
	})
}

func TestKeep(t *testing.T) {
	g := Group[int]{Keep: true}
	c, _ := g.Start("k")
	g.Run("k", c, func() (int, error) { return 7, nil })
	again, leader := g.Start("k")
	if leader || again != c {
		t.Fatal("a kept call was not returned by Start after it finished")
	}
	if v, err := again.Wait(context.Background()); v != 7 || err != nil {
		t.Errorf("kept call = %d, %v; want 7", v, err)
	}
	g.Forget("k", c)
	if _, leader := g.Start("k"); !leader {
		t.Error("Start after Forget of a kept call did not make a new one")
	}
}
