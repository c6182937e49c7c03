package main

import (
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// startupCell is one measured cell of the startup suite.
type startupCell struct {
	n, g, containers int
	coldMs, warmMs   float64
}

// checkPlotFile rejects a --plot file whose format cannot be drawn.
func checkPlotFile(file string) error {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".svg", ".png":
		return nil
	}
	return fmt.Errorf("--plot %q: the file must end in .svg or .png", file)
}

// plotStartup draws time to all-ready of the startup suite into file (SVG
// or PNG, by its extension): against N, one line per g, when several N
// were measured; against g otherwise. Cold starts are solid lines, warm
// starts dashed.
func plotStartup(file string, cells []startupCell) error {
	if err := checkPlotFile(file); err != nil {
		return err
	}
	if len(cells) == 0 {
		return fmt.Errorf("plot: no figures to draw")
	}
	var ns, gs []int
	for _, c := range cells {
		if !slices.Contains(ns, c.n) {
			ns = append(ns, c.n)
		}
		if !slices.Contains(gs, c.g) {
			gs = append(gs, c.g)
		}
	}
	p := plot.New()
	p.Y.Label.Text = "time to all-ready (ms)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Scale = plot.LogScale{}
	p.Legend.Top = true
	p.Legend.Left = true
	if len(ns) > 1 {
		p.X.Tick.Marker = valueTicks(ns)
		p.Title.Text = "Volley start-up: hello, local backend"
		p.X.Label.Text = "workers N"
		for i, g := range gs {
			var sel []startupCell
			for _, c := range cells {
				if c.g == g {
					sel = append(sel, c)
				}
			}
			x := func(c startupCell) float64 { return float64(c.n) }
			if err := addStartupLines(p, sel, x, fmt.Sprintf("g=%d", g), plotutil.Color(i), plotutil.Shape(i)); err != nil {
				return err
			}
		}
	} else {
		p.Title.Text = fmt.Sprintf("Volley start-up: %d hello workers, local backend", ns[0])
		p.X.Label.Text = "workers per container g"
		p.X.Tick.Marker = valueTicks(gs)
		x := func(c startupCell) float64 { return float64(c.g) }
		if err := addStartupLines(p, cells, x, fmt.Sprintf("N=%d", ns[0]), plotutil.Color(0), plotutil.Shape(0)); err != nil {
			return err
		}
	}
	// Headroom above the lines for the legend.
	p.Y.Max *= 8
	if err := p.Save(16*vg.Centimeter, 11*vg.Centimeter, file); err != nil {
		return fmt.Errorf("plot %s: %w", file, err)
	}
	return nil
}

// addStartupLines adds a cold (solid) and a warm (dashed) line of cells,
// sorted by x.
func addStartupLines(p *plot.Plot, cells []startupCell, x func(startupCell) float64, name string, col color.Color, shape draw.GlyphDrawer) error {
	cells = slices.Clone(cells)
	slices.SortFunc(cells, func(a, b startupCell) int { return int(x(a) - x(b)) })
	for _, warm := range []bool{false, true} {
		xys := make(plotter.XYs, len(cells))
		for i, c := range cells {
			xys[i].X, xys[i].Y = x(c), c.coldMs
			if warm {
				xys[i].Y = c.warmMs
			}
			if xys[i].Y <= 0 {
				return fmt.Errorf("plot: N=%d g=%d has no time to all-ready", c.n, c.g)
			}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		line.Color, points.Color, points.Shape = col, col, shape
		label := name + " cold"
		if warm {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			label = name + " warm"
		}
		p.Add(line, points)
		p.Legend.Add(label, line, points)
	}
	return nil
}

// valueTicks labels the x axis at the measured values.
func valueTicks(vs []int) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, len(vs))
	for i, v := range vs {
		ticks[i] = plot.Tick{Value: float64(v), Label: fmt.Sprint(v)}
	}
	return ticks
}
