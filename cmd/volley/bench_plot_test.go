package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlotStartup draws the startup figure as SVG and PNG, for several N
// and for one, and checks that real files of those formats come out.
func TestPlotStartup(t *testing.T) {
	many := []startupCell{
		{n: 64, g: 1, coldMs: 215, warmMs: 61}, {n: 64, g: 16, coldMs: 12.6, warmMs: 2.5},
		{n: 256, g: 1, coldMs: 900, warmMs: 250}, {n: 256, g: 16, coldMs: 61, warmMs: 12},
	}
	one := []startupCell{{n: 64, g: 1, coldMs: 215, warmMs: 61}, {n: 64, g: 4, coldMs: 51, warmMs: 10}, {n: 64, g: 64, coldMs: 5.8, warmMs: 1.3}}
	dir := t.TempDir()
	for name, cells := range map[string][]startupCell{"many": many, "one": one} {
		svg := filepath.Join(dir, name+".svg")
		if err := plotStartup(svg, cells); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(svg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("<?xml")) || !bytes.Contains(b[:min(len(b), 500)], []byte("<svg")) || !bytes.Contains(b, []byte("time to all-ready")) {
			t.Errorf("%s is not an SVG of the figure: %.200q", svg, b)
		}
		png := filepath.Join(dir, name+".PNG")
		if err := plotStartup(png, cells); err != nil {
			t.Fatal(err)
		}
		b, err = os.ReadFile(png)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 1000 {
			t.Errorf("%s is not a PNG (%d bytes, starts %q)", png, len(b), b[:min(len(b), 8)])
		}
	}
	for _, bad := range []string{filepath.Join(dir, "f.pdf"), filepath.Join(dir, "f")} {
		if err := plotStartup(bad, one); err == nil || !strings.Contains(err.Error(), ".svg or .png") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if err := plotStartup(filepath.Join(dir, "z.svg"), []startupCell{{n: 1, g: 1}}); err == nil {
		t.Error("a cell without times was drawn")
	}
}
