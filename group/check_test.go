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
