package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// benchProgress shows how far regen bench has gone: a bar on a terminal,
// one line per finished strategy otherwise. It is safe for concurrent use.
type benchProgress struct {
	mu    sync.Mutex // protects the fields below
	out   io.Writer
	bar   *progressbar.ProgressBar // nil when out is not a terminal
	done  map[string]time.Duration
	ended map[string]bool
	start time.Time
	total time.Duration // of all runs
}

// newBenchProgress returns a progress for runs each lasting each, or nil
// when quiet.
func newBenchProgress(out io.Writer, runs int, each time.Duration, quiet bool) *benchProgress {
	if quiet || out == nil {
		return nil
	}
	p := &benchProgress{out: out, done: map[string]time.Duration{}, ended: map[string]bool{}, start: time.Now(), total: time.Duration(runs) * each}
	if isTerminal(out) {
		p.bar = progressbar.NewOptions64(int64(p.total/time.Second),
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription("regen bench"),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
	}
	return p
}

// update is bench.Options.Progress.
func (p *benchProgress) update(name string, done, total time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[name] = done
	if p.bar != nil {
		var sum time.Duration
		for _, d := range p.done {
			sum += d
		}
		p.bar.Describe("regen bench: " + name)
		_ = p.bar.Set64(int64(sum / time.Second))
		return
	}
	if done >= total && !p.ended[name] {
		p.ended[name] = true
		fmt.Fprintf(p.out, "regen bench: %s done (%s)\n", name, time.Since(p.start).Round(100*time.Millisecond))
	}
}

// finish clears the bar.
func (p *benchProgress) finish() {
	if p == nil || p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Finish()
	fmt.Fprintln(p.out)
}
