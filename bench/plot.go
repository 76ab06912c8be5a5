package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot writes the report's pictures to dir, each as PNG and SVG:
//
//   - staleness: per strategy, the share of responses staler than x
//     seconds (only strategies that served stale content have a line);
//   - ttfb: per strategy, the share of responses whose time to first byte
//     is at most x milliseconds;
//   - tradeoff: origin calls per 1,000 requests against mean staleness, for
//     the ISR sweep (a curve labelled by interval) and each strategy (a
//     point). It needs a report run with Options.Sweep.
//
// It returns the files written.
func (r *Report) Plot(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: plot: %w", err)
	}
	var files []string
	save := func(p *plot.Plot, name string) (err error) {
		defer func() {
			if r := recover(); r != nil { // gonum/plot panics on some degenerate data
				err = fmt.Errorf("bench: plot %s: %v", name, r)
			}
		}()
		for _, ext := range []string{".png", ".svg"} {
			f := filepath.Join(dir, name+ext)
			if err := p.Save(18*vg.Centimeter, 11*vg.Centimeter, f); err != nil {
				return fmt.Errorf("bench: plot %s: %w", f, err)
			}
			files = append(files, f)
		}
		return nil
	}
	if r.hasHistograms() {
		if err := save(r.stalenessPlot(), "staleness"); err != nil {
			return files, err
		}
		if err := save(r.ttfbPlot(), "ttfb"); err != nil {
			return files, err
		}
	}
	if len(r.Sweep) > 0 {
		if err := save(r.tradeoffPlot(), "tradeoff"); err != nil {
			return files, err
		}
	}
	if len(files) == 0 {
		return nil, errors.New("bench: plot: nothing to plot")
	}
	return files, nil
}

func (r *Report) hasHistograms() bool {
	return len(r.Strategies) > 0 && r.Strategies[0].ttfb != nil
}

func (r *Report) title(what string) string {
	return fmt.Sprintf("%s: %s, %s req/s, %s changes/h (%s)", what, r.Site, fmtFloat(r.RPS), fmtFloat(r.Changes), r.Mode)
}

func (r *Report) stalenessPlot() *plot.Plot {
	p := plot.New()
	p.Title.Text = r.title("Staleness")
	p.X.Label.Text = "staleness of the served page (s)"
	p.Y.Label.Text = "share of responses staler"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	lines := 0
	for i, s := range r.Strategies {
		var xys plotter.XYs
		n := float64(s.stale.TotalCount())
		if n == 0 {
			continue
		}
		var below int64
		for _, bar := range s.stale.Distribution() {
			if bar.Count == 0 {
				continue
			}
			below += bar.Count
			if bar.From <= 0 {
				continue
			}
			x := float64(bar.From) / 1000
			if x <= 0 {
				continue
			}
			xys = append(xys, plotter.XY{X: x, Y: 1 - float64(below-bar.Count)/n})
			xys = append(xys, plotter.XY{X: max(x, float64(bar.To)/1000), Y: 1 - float64(below)/n})
		}
		if len(xys) == 0 {
			continue
		}
		addLine(p, s.Name, i, xys)
		lines++
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	padLog(p)
	if lines == 0 { // nobody was served stale content
		p.Title.Text += ": always fresh"
	}
	return p
}

func (r *Report) ttfbPlot() *plot.Plot {
	p := plot.New()
	p.Title.Text = r.title("Time to first byte")
	p.X.Label.Text = "time to first byte (ms)"
	p.Y.Label.Text = "share of responses at most"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	for i, s := range r.Strategies {
		n := float64(s.ttfb.TotalCount())
		if n == 0 {
			continue
		}
		var xys plotter.XYs
		var below int64
		for _, bar := range s.ttfb.Distribution() {
			if bar.Count == 0 {
				continue
			}
			x := float64(max(bar.From, 1)) / 1000
			xys = append(xys, plotter.XY{X: x, Y: float64(below) / n})
			below += bar.Count
			xys = append(xys, plotter.XY{X: x, Y: float64(below) / n})
		}
		addLine(p, s.Name, i, xys)
	}
	padLog(p)
	return p
}

// padLog widens a log X axis whose data is flat: gonum pads a flat range
// by ±1, which can reach below a log scale's zero.
func padLog(p *plot.Plot) {
	if _, ok := p.X.Scale.(plot.LogScale); ok && p.X.Max <= p.X.Min*1.01 && p.X.Min > 0 {
		p.X.Min, p.X.Max = p.X.Min/2, p.X.Max*2
	}
}

func (r *Report) tradeoffPlot() *plot.Plot {
	p := plot.New()
	p.Title.Text = r.title("Origin load against staleness")
	p.X.Label.Text = "mean staleness of the served pages (s, at least 1ms)"
	p.Y.Label.Text = "origin calls per 1,000 requests"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	// Log scales: a strategy that is always fresh, or never calls the
	// origin, is drawn at the axis' floor.
	pt := func(r *Result) plotter.XY {
		return plotter.XY{X: max(r.Staleness.Mean, 0.001), Y: max(r.OriginPer1k, 0.01)}
	}
	var xys plotter.XYs
	var labels []string
	for _, s := range r.Sweep {
		xys = append(xys, pt(s))
		labels = append(labels, "ISR "+shortDuration(secondsDuration(s.IntervalS)))
	}
	if len(xys) > 0 {
		l, pts, err := plotter.NewLinePoints(xys)
		if err == nil {
			l.Color, pts.Color = plotutil.Color(0), plotutil.Color(0)
			p.Add(l, pts)
			p.Legend.Add("ISR sweep", l, pts)
		}
		if lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels}); err == nil {
			p.Add(lb)
		}
	}
	var others plotter.XYs
	var names []string
	for _, s := range r.Strategies {
		others = append(others, pt(s))
		names = append(names, s.Name)
	}
	if len(others) > 0 {
		if sc, err := plotter.NewScatter(others); err == nil {
			sc.Color = plotutil.Color(1)
			sc.Shape = plotutil.Shape(1)
			p.Add(sc)
			p.Legend.Add("strategies", sc)
		}
		if lb, err := plotter.NewLabels(plotter.XYLabels{XYs: others, Labels: names}); err == nil {
			p.Add(lb)
		}
	}
	p.Legend.Top = true
	// Pad the ranges by a factor: gonum pads a flat range by ±1, below a
	// log scale's zero.
	all := append(append(plotter.XYs(nil), xys...), others...)
	if len(all) > 0 {
		xmin, xmax, ymin, ymax := plotter.XYRange(all)
		p.X.Min, p.X.Max = xmin/2, xmax*2
		p.Y.Min, p.Y.Max = ymin/2, ymax*2
	}
	return p
}

func addLine(p *plot.Plot, name string, i int, xys plotter.XYs) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return
	}
	l.Color = plotutil.Color(i)
	l.Dashes = plotutil.Dashes(i / 7)
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(name, l)
}
