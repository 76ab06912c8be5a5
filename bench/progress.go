package bench

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a run has gone: a bar on a terminal, one line per
// finished strategy otherwise. It is safe for concurrent use.
type progress struct {
	mu    sync.Mutex // protects the fields below
	out   io.Writer
	bar   *progressbar.ProgressBar // nil when out is not a terminal
	done  map[string]time.Duration
	ended map[string]bool
	start time.Time
	total time.Duration // of all runs
}

// newProgress returns a progress for runs totalling total, or nil when
// quiet.
func newProgress(out io.Writer, runs int, each time.Duration, quiet bool) *progress {
	if quiet || out == nil {
		return nil
	}
	p := &progress{out: out, done: map[string]time.Duration{}, ended: map[string]bool{}, start: time.Now(), total: time.Duration(runs) * each}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
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

// update is Options.Progress.
func (p *progress) update(name string, done, total time.Duration) {
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
func (p *progress) finish() {
	if p == nil || p.bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Finish()
	fmt.Fprintln(p.out)
}
