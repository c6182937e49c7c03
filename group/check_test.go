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
			if p["input"] == "" {
				return errors.New("input=FILE is required")
			}
			return nil
		},
		Run: func(ctx context.Context, w *Worker) (any, error) { return w.Params()["input"], nil },
	})
}

func TestAppCheckRunsBeforeAnyContainer(t *testing.T) {
	rt := &inProcess{failPack: -1}
	_, err := Launch(context.Background(), Spec{App: "test-checked", Workers: 2, Granularity: 1}, rt)
	if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), "test-checked: input=FILE is required") {
		t.Fatalf("got %v, want ErrBadSpec naming the app and the cause", err)
	}
	if n := rt.calls.Load(); n != 0 {
		t.Fatalf("%d containers asked for, want none", n)
	}
	res, err := Launch(context.Background(), Spec{App: "test-checked", Workers: 2, Granularity: 1, Params: Params{"input": "x"}}, rt)
	if err != nil || res.Err() != nil || rt.calls.Load() != 2 {
		t.Fatalf("a passing check: %v, %v, %d containers", err, res.Err(), rt.calls.Load())
	}
}
