package group

import (
	"errors"
	"testing"
	"time"
)

func TestParseParams(t *testing.T) {
	p, err := ParseParams([]string{"a=1", "b=x=y", "c="})
	if err != nil {
		t.Fatal(err)
	}
	if p["a"] != "1" || p["b"] != "x=y" || p["c"] != "" {
		t.Fatalf("got %v", p)
	}
	for _, bad := range [][]string{{"novalue"}, {"=v"}, {"a b=1"}, {"a=1", "a=2"}} {
		if _, err := ParseParams(bad); !errors.Is(err, ErrBadSpec) {
			t.Errorf("ParseParams(%q) err = %v, want ErrBadSpec", bad, err)
		}
	}
}

func TestParamsTyped(t *testing.T) {
	p := Params{"n": "42", "f": "0.5", "d": "250ms", "bad": "x"}
	if n, err := p.Int("n", 0); err != nil || n != 42 {
		t.Errorf("Int = %d, %v", n, err)
	}
	if n, err := p.Int("missing", 7); err != nil || n != 7 {
		t.Errorf("Int default = %d, %v", n, err)
	}
	if f, err := p.Float("f", 0); err != nil || f != 0.5 {
		t.Errorf("Float = %v, %v", f, err)
	}
	if d, err := p.Duration("d", 0); err != nil || d != 250*time.Millisecond {
		t.Errorf("Duration = %v, %v", d, err)
	}
	for _, get := range []func() error{
		func() error { _, err := p.Int("bad", 0); return err },
		func() error { _, err := p.Float("bad", 0); return err },
		func() error { _, err := p.Duration("bad", 0); return err },
	} {
		if err := get(); !errors.Is(err, ErrBadSpec) {
			t.Errorf("bad value err = %v, want ErrBadSpec naming the key", err)
		}
	}
}
