package group

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseParams feeds ParseParams the `-p` arguments of a command line
// (NUL-separated in one input) and checks what it promises: no panic; on
// success every argument is in the map exactly as given; on failure an
// error wrapping ErrBadSpec that quotes the offending key or argument; and
// the typed getters never panic and name the key they reject.
func FuzzParseParams(f *testing.F) {
	for _, seed := range []string{
		"size=1000", "a=1\x00b=2", "k=", "k==v=", "=v", "novalue", "a=1\x00a=2",
		"key with space=1", "d=250ms", "n=-3\x00f=1e9", "\x00", "x=\xff\xfe",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		args := strings.Split(in, "\x00")
		p, err := ParseParams(args)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("error %v does not wrap ErrBadSpec", err)
			}
			if !strings.Contains(err.Error(), "parameter ") {
				t.Fatalf("error %q does not name the parameter", err)
			}
			return
		}
		if len(p) != len(args) {
			t.Fatalf("%d arguments gave %d parameters", len(args), len(p))
		}
		for _, kv := range args {
			k, v, _ := strings.Cut(kv, "=")
			if got, ok := p[k]; !ok || got != v {
				t.Fatalf("argument %q: map has %q (present %v)", kv, got, ok)
			}
			for _, get := range []func() error{
				func() error { _, err := p.Int(k, 0); return err },
				func() error { _, err := p.Float(k, 0); return err },
				func() error { _, err := p.Duration(k, 0); return err },
			} {
				if err := get(); err != nil && (!errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), k)) {
					t.Fatalf("getter error %q does not wrap ErrBadSpec or name key %q", err, k)
				}
			}
		}
	})
}
