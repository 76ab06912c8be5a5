package flight

import "testing"

func TestForgotten(t *testing.T) {
	var g Group[int]
	c1, _ := g.Start("k")
	if c1.Forgotten() {
		t.Fatal("a new call is Forgotten")
	}
	g.Forget("k", c1)
	if !c1.Forgotten() {
		t.Fatal("Forget did not mark the call Forgotten")
	}
	c2, _ := g.Start("k")
	g.Run("k", c1, func() (int, error) { return 1, nil })
	g.Forget("k", c1) // no longer k's call
	if c2.Forgotten() {
		t.Error("Forget of an old call marked the current one Forgotten")
	}
	g.Run("k", c2, func() (int, error) { return 2, nil })
	if c2.Forgotten() {
		t.Error("a call that ran to its end is Forgotten")
	}
}

func TestPendTakeOver(t *testing.T) {
	var g Group[int]
	c, _ := g.Start("k")
	if !c.Begin() {
		t.Fatal("Begin of a call never pending = false")
	}
	if c.TakeOver() {
		t.Fatal("TakeOver of a running call = true")
	}
	g.Run("k", c, func() (int, error) { return 1, nil })

	c, _ = g.Start("k")
	c.Pend()
	if !c.TakeOver() {
		t.Fatal("TakeOver of a pending call = false")
	}
	if c.TakeOver() {
		t.Error("a call taken over twice")
	}
	if c.Begin() {
		t.Error("Begin of a call taken over = true; its leader must not run it")
	}
	g.Run("k", c, func() (int, error) { return 2, nil })

	c, _ = g.Start("k")
	c.Pend()
	if !c.Begin() {
		t.Fatal("Begin of a pending call = false")
	}
	if c.TakeOver() {
		t.Error("TakeOver of a begun call = true")
	}
	g.Run("k", c, func() (int, error) { return 3, nil })
}
