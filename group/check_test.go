package group

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func init() {
	Register(App{
		Name: "test-checked",
		Check: func(p Params) error {
			if p["ok"] != "yes" {
				return errors.New("needs ok=yes")
			}
			return nil
		},
		Run: func(ctx context.Context, w *Worker) (any, error) { return w.Rank(), nil },
	})
}

func TestAppCheckRunsBeforeLaunch(t *testing.T) {
	rt := &inProcess{failPack: -1}
	_, err := Launch(context.Background(), Spec{App: "test-checked", Workers: 4, Granularity: 2}, rt)
	if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), "test-checked: needs ok=yes") {
		t.Fatalf("Launch with rejected params: %v, want ErrBadSpec naming the app and the reason", err)
	}
	if rt.calls.Load() != 0 {
		t.Fatalf("%d packs started although Check failed", rt.calls.Load())
	}
	res, err := Launch(context.Background(), Spec{App: "test-checked", Workers: 4, Granularity: 2, Params: Params{"ok": "yes"}}, rt)
	if err != nil || res.Err() != nil || rt.calls.Load() != 2 {
		t.Fatalf("accepted params: %v %v, %d packs", err, res.Err(), rt.calls.Load())
	}
}

func init() {
	Register(App{
		Name:   "test-declared",
		Params: map[string]string{"rounds": "how many", "size": "bytes"},
		Run:    func(ctx context.Context, w *Worker) (any, error) { return w.Rank(), nil },
	})
	Register(App{
		Name:   "test-no-params",
		Params: map[string]string{},
		Run:    func(ctx context.Context, w *Worker) (any, error) { return w.Rank(), nil },
	})
}

func TestUndeclaredParameterIsRefused(t *testing.T) {
	rt := &inProcess{failPack: -1}
	cases := []struct {
		app    string
		params Params
		want   string
	}{
		{"test-declared", Params{"rounds": "2", "rond": "3"}, `test-declared: unknown parameter "rond" (test-declared takes rounds, size)`},
		{"test-no-params", Params{"x": "1"}, `unknown parameter "x" (test-no-params takes no parameters)`},
	}
	for _, c := range cases {
		_, err := Launch(context.Background(), Spec{App: c.app, Workers: 4, Granularity: 2, Params: c.params}, rt)
		if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Launch %s %v: %v, want ErrBadSpec containing %q", c.app, c.params, err, c.want)
		}
	}
	if rt.calls.Load() != 0 {
		t.Fatalf("%d packs started although a parameter was refused", rt.calls.Load())
	}
	for _, app := range []string{"test-declared", "test-no-params"} {
		params := Params{"size": "10"}
		if app == "test-no-params" {
			params = nil
		}
		res, err := Launch(context.Background(), Spec{App: app, Workers: 4, Granularity: 2, Params: params}, rt)
		if err != nil || res.Err() != nil {
			t.Fatalf("%s with declared parameters: %v %v", app, err, res.Err())
		}
	}
}
