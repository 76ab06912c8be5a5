package bench

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot writes the report's pictures to dir, each as PNG and SVG:
//
//   - staleness: per strategy, the share of responses staler than x
//     seconds (only strategies that served stale content have a line);
//   - ttfb: per strategy, the share of responses whose time to first byte
//     is at most x milliseconds;
//   - lastbyte, when a strategy's responses ended later than their first
//     byte (a partial route's holes): per strategy, the time to the first
//     byte and, dotted, to the last;
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
			if err := savePlot(p, f); err != nil {
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
		if r.streamed() {
			if err := save(r.lastBytePlot(), "lastbyte"); err != nil {
				return files, err
			}
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

// Size of the pictures.
const (
	plotWidth  = 18 * vg.Centimeter
	plotHeight = 11 * vg.Centimeter
)

// savePlot writes p to file, in the format its extension names, with its
// legend beside the data area rather than over it: a legend inside covers
// the curves wherever it goes.
func savePlot(p *plot.Plot, file string) error {
	c, err := draw.NewFormattedCanvas(plotWidth, plotHeight, strings.TrimPrefix(filepath.Ext(file), "."))
	if err != nil {
		return err
	}
	dc := draw.New(c)
	// The title spans the picture; the data area and the legend share
	// what is below it.
	title := p.Title.Text
	p.Title.Text = ""
	legend := p.Legend
	p.Legend = plot.NewLegend()
	defer func() { p.Title.Text, p.Legend = title, legend }()
	const gap = 4 * vg.Millimeter
	st := p.Title.TextStyle
	st.XAlign, st.YAlign = text.XCenter, text.YTop
	if w := st.Width(title); w > plotWidth-gap {
		st.Font.Size = st.Font.Size * (plotWidth - gap) / w // a long title shrinks to fit
	}
	dc.FillText(st, vg.Point{X: plotWidth / 2, Y: plotHeight - gap/2}, title)
	top := st.Height(title) + gap
	below := draw.Crop(dc, 0, 0, 0, -top)
	legend.Top, legend.Left = true, true
	lw := legend.Rectangle(below).Size().X
	if lw > 0 {
		lw += gap
		legend.Draw(draw.Crop(below, plotWidth-lw+gap/2, 0, 0, -gap))
	}
	p.Draw(draw.Crop(below, 0, -lw, 0, 0))
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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
	p.Add(plotter.NewGrid())
	for i, s := range r.Strategies {
		if xys := cdf(s.ttfb); len(xys) > 0 {
			addLine(p, s.Name, i, xys)
		}
	}
	padLog(p)
	return p
}

// lastBytePlot draws, for each strategy, the distribution of the time to
// the first byte and, when it differs, to the last byte (dotted): what a
// partial route's holes add after the shell's first bytes.
func (r *Report) lastBytePlot() *plot.Plot {
	p := plot.New()
	p.Title.Text = r.title("Time to first and last byte")
	p.X.Label.Text = "time to the first byte, and to the last (dotted) (ms)"
	p.Y.Label.Text = "share of responses at most"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	for i, s := range r.Strategies {
		first := cdf(s.ttfb)
		if len(first) == 0 {
			continue
		}
		if s.LastByte == s.TTFB {
			addLine(p, s.Name, i, first)
			continue
		}
		addLine(p, s.Name+" first byte", i, first)
		if l, err := plotter.NewLine(cdf(s.last)); err == nil {
			l.Color = plotutil.Color(i)
			l.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
			l.Width = vg.Points(2)
			p.Add(l)
			p.Legend.Add(s.Name+" last byte", l)
		}
	}
	padLog(p)
	return p
}

// cdf returns the steps of the distribution of a histogram of
// microseconds, in milliseconds; nil when it is empty.
func cdf(h *hdrhistogram.Histogram) plotter.XYs {
	n := float64(h.TotalCount())
	if n == 0 {
		return nil
	}
	var xys plotter.XYs
	var below int64
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		x := float64(max(bar.From, 1)) / 1000
		xys = append(xys, plotter.XY{X: x, Y: float64(below) / n})
		below += bar.Count
		xys = append(xys, plotter.XY{X: x, Y: float64(below) / n})
	}
	return xys
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
		// An ISR strategy of the same interval is the same point: it is
		// labelled as a strategy.
		label := "ISR " + shortDuration(secondsDuration(s.IntervalS))
		if slices.ContainsFunc(r.Strategies, func(o *Result) bool { return o.Name == s.Name }) {
			label = ""
		}
		labels = append(labels, label)
	}
	var others plotter.XYs
	var names []string
	for _, s := range r.Strategies {
		others = append(others, pt(s))
		names = append(names, s.Name)
	}
	// Pad the ranges by a factor: gonum pads a flat range by ±1, below a
	// log scale's zero.
	all := append(append(plotter.XYs(nil), xys...), others...)
	if len(all) > 0 {
		xmin, xmax, ymin, ymax := plotter.XYRange(all)
		p.X.Min, p.X.Max = xmin/2, xmax*2
		p.Y.Min, p.Y.Max = ymin/2, ymax*2
	}
	if len(xys) > 0 {
		l, pts, err := plotter.NewLinePoints(xys)
		if err == nil {
			l.Color, pts.Color = plotutil.Color(0), plotutil.Color(0)
			p.Add(l, pts)
			p.Legend.Add("ISR sweep", l, pts)
		}
		// Below and left of the points, away from the descending curve;
		// the strategies' labels go above.
		addLabels(p, xys, labels, -1, func(float64) bool { return true })
	}
	if len(others) > 0 {
		if sc, err := plotter.NewScatter(others); err == nil {
			sc.Color = plotutil.Color(1)
			sc.Shape = plotutil.Shape(1)
			p.Add(sc)
			p.Legend.Add("strategies", sc)
		}
		// Above and right of the points, away from the descending curve,
		// except at the edges of the X axis: at its floor (always fresh)
		// left of the points; at its far end (rarely fresh) below and
		// left, where the curve has long passed.
		var mid, edge plotter.XYs
		var midNames, edgeNames []string
		for i, xy := range others {
			if f := frac(p.X, xy.X); f > 0.75 {
				edge, edgeNames = append(edge, xy), append(edgeNames, names[i])
			} else {
				mid, midNames = append(mid, xy), append(midNames, names[i])
			}
		}
		addLabels(p, mid, midNames, +1, func(f float64) bool { return f < 0.25 })
		addLabels(p, edge, edgeNames, -1, func(float64) bool { return true })
	}
	return p
}

// addLabels labels the points xys of p, above them (dir +1) or below (-1),
// to their right, or to their left where left says so given how far along
// the X axis they are (from 0 to 1). Call it once p.X has its range.
func addLabels(p *plot.Plot, xys plotter.XYs, labels []string, dir int, left func(float64) bool) {
	const dx = 3 * vg.Millimeter / 2
	var sides [2]plotter.XYLabels // right of their points, left
	for i, xy := range xys {
		side := &sides[0]
		if left(frac(p.X, xy.X)) {
			side = &sides[1]
		}
		side.XYs = append(side.XYs, xy)
		side.Labels = append(side.Labels, labels[i])
	}
	for k, side := range sides {
		if len(side.XYs) == 0 {
			continue
		}
		lb, err := plotter.NewLabels(side)
		if err != nil {
			continue
		}
		lb.Offset = vg.Point{X: dx, Y: vg.Length(dir) * vg.Millimeter}
		if k == 1 {
			lb.Offset.X = -dx
		}
		for i := range lb.TextStyle {
			st := &lb.TextStyle[i]
			st.XAlign, st.YAlign = text.XLeft, text.YBottom
			if k == 1 {
				st.XAlign = text.XRight
			}
			if dir < 0 {
				st.YAlign = text.YTop
			}
		}
		p.Add(lb)
	}
}

// frac is where x lies along axis a, from 0 to 1, on a log scale.
func frac(a plot.Axis, x float64) float64 {
	if a.Min <= 0 || a.Max <= a.Min || x <= 0 {
		return 0
	}
	return (math.Log(x) - math.Log(a.Min)) / (math.Log(a.Max) - math.Log(a.Min))
}

func addLine(p *plot.Plot, name string, i int, xys plotter.XYs) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return
	}
	l.Color = plotutil.Color(i)
	// Dashed after the first: strategies with the same figures (SSG and
	// ISR all at the cache's time to first byte) draw the same line, and
	// the dashes let the ones below show through.
	l.Dashes = plotutil.Dashes(i)
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(name, l)
}
