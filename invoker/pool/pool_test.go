package pool_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/local"
	"github.com/volley-run/volley/invoker/pool"
	"github.com/volley-run/volley/invoker/proctest"
)

// The test binary doubles as the worker: started with envTestWorker=1 it
// serves the action protocol. The pool runs on the process runtime's
// sandboxes, real processes paused with SIGSTOP.
const envTestWorker = "VOLLEY_POOL_TEST_WORKER"

func init() {
	group.Register(group.App{Name: "pool-pid", Summary: "returns its pid", Run: func(ctx context.Context, w *group.Worker) (any, error) {
		return map[string]int{"pid": os.Getpid()}, nil
	}})
	group.Register(group.App{Name: "pool-last-waits", Summary: "the last rank sleeps wait_ms, the others return at once", Run: func(ctx context.Context, w *group.Worker) (any, error) {
		if w.Rank() == w.Size()-1 {
			ms, _ := w.Params().Int("wait_ms", 0)
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return map[string]int{"pid": os.Getpid()}, nil
	}})
}

func TestMain(m *testing.M) {
	log := slog.New(slog.DiscardHandler)
	proctest.ServeIfWorker(envTestWorker, action.PackRunner(log), log, nil, nil)
	goleak.VerifyTestMain(m)
}

// newPool returns a pool over a fresh process runtime.
func newPool(t *testing.T, cfg pool.Config) *pool.Pool {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := local.New(local.Config{Binary: exe, Args: []string{}, Env: []string{envTestWorker + "=1"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Factory = rt
	p := pool.New(cfg)
	t.Cleanup(func() {
		p.Close()
		rt.Close()
	})
	return p
}

// launch runs a group and returns each pack's start kind and the pids.
func launch(t *testing.T, p *pool.Pool, spec group.Spec) ([]string, map[int]bool) {
	t.Helper()
	res, err := group.Launch(context.Background(), spec, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ps := range res.Packs {
		kinds = append(kinds, ps.Container.Start)
		if ps.Container.Cold != (ps.Container.Start == group.StartCold) {
			t.Errorf("pack %d: cold %v but start %q", ps.Pack, ps.Container.Cold, ps.Container.Start)
		}
	}
	pids := map[int]bool{}
	for _, rr := range res.Ranks {
		var v map[string]int
		if err := json.Unmarshal(rr.Result, &v); err != nil {
			t.Fatal(err)
		}
		pids[v["pid"]] = true
	}
	return kinds, pids
}

func TestStartKinds(t *testing.T) {
	spec := group.Spec{App: "pool-pid", Workers: 4, Granularity: 2}
	for _, tc := range []struct {
		name   string
		grace  time.Duration
		second string
	}{
		{"never paused", 0, group.StartWarm},
		{"paused after the grace", 10 * time.Millisecond, group.StartPaused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, pool.Config{PauseGrace: tc.grace})
			kinds, cold := launch(t, p, spec)
			if strings.Join(kinds, ",") != "cold,cold" {
				t.Fatalf("first group started %v, want cold,cold", kinds)
			}
			if tc.grace > 0 {
				deadline := time.Now().Add(5 * time.Second)
				for p.Stats().Paused != 2 && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if s := p.Stats(); s.Paused != 2 {
					t.Fatalf("idle containers not paused after the grace: %+v", s)
				}
			}
			kinds, warm := launch(t, p, spec)
			if strings.Join(kinds, ",") != tc.second+","+tc.second {
				t.Fatalf("second group started %v, want %s", kinds, tc.second)
			}
			for pid := range warm {
				if !cold[pid] {
					t.Errorf("second group ran in new process %d", pid)
				}
			}
			s := p.Stats()
			wantUnpauses := 0
			if tc.grace > 0 {
				wantUnpauses = 2
			}
			if s.ColdStarts != 2 || s.WarmStarts != 2 || s.Unpauses != wantUnpauses {
				t.Errorf("stats %+v, want 2 cold, 2 warm, %d unpauses", s, wantUnpauses)
			}
		})
	}
}

// TestPauseWaitsForTheGroup checks that a container whose pack finished
// is not paused while another pack of its group still runs (its
// membership node lingers for the running ones), and is once the group
// is over.
func TestPauseWaitsForTheGroup(t *testing.T) {
	p := newPool(t, pool.Config{PauseGrace: 10 * time.Millisecond})
	spec := group.Spec{App: "pool-last-waits", Workers: 3, Granularity: 1, Params: group.Params{"wait_ms": "1500"}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		launch(t, p, spec)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().Idle < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // 20 pause graces
	if s := p.Stats(); s.Idle != 2 || s.Paused != 0 {
		t.Errorf("while the last pack runs: %+v, want 2 idle, none paused", s)
	}
	<-done
	for p.Stats().Paused != 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s := p.Stats(); s.Paused != 3 {
		t.Errorf("after the group: %+v, want 3 paused", s)
	}
}

func TestNoPooling(t *testing.T) {
	p := newPool(t, pool.Config{MaxIdle: -1})
	spec := group.Spec{App: "pool-pid", Workers: 2, Granularity: 1}
	launch(t, p, spec)
	kinds, _ := launch(t, p, spec)
	if strings.Join(kinds, ",") != "cold,cold" {
		t.Fatalf("without a pool the second group started %v, want cold,cold", kinds)
	}
	if s := p.Stats(); s.Idle != 0 || s.ColdStarts != 4 {
		t.Errorf("stats %+v", s)
	}
}

func TestCloseRemovesPausedContainers(t *testing.T) {
	p := newPool(t, pool.Config{PauseGrace: time.Millisecond})
	launch(t, p, group.Spec{App: "pool-pid", Workers: 3, Granularity: 1})
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Paused != 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close of a pool of paused containers hangs")
	}
	if s := p.Stats(); s.Idle != 0 {
		t.Errorf("stats after Close %+v", s)
	}
	if _, err := p.RunPack(context.Background(), group.PackTask{Group: "g"}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("RunPack after Close: %v", err)
	}
}
