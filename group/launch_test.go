package group

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func init() {
	Register(App{Name: "test-echo", Summary: "returns its rank; params fail/panic/block", Run: func(ctx context.Context, w *Worker) (any, error) {
		if r, _ := w.Params().Int("fail", -1); r == w.Rank() {
			return nil, errors.New("boom")
		}
		if r, _ := w.Params().Int("panic", -1); r == w.Rank() {
			panic("kaboom")
		}
		if w.Params()["block"] == "1" {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return map[string]int{"rank": w.Rank(), "size": w.Size(), "pack": w.Pack().Index}, nil
	}})
}

// inProcess is an in-memory Runtime: each pack runs in this process through
// ExecPack, as a container would run it. failPack makes one pack's
// "container" die; linger, when set, is how long done packs stay in the
// membership (ExecOptions.Linger; default none).
type inProcess struct {
	calls    atomic.Int32
	failPack int
	linger   time.Duration
}

func (rt *inProcess) RunPack(ctx context.Context, task PackTask) (PackResult, error) {
	rt.calls.Add(1)
	if task.Pack.Index == rt.failPack {
		return PackResult{}, errors.New("container died")
	}
	// Round-trip through JSON, as across the action protocol.
	b, _ := json.Marshal(task)
	var got PackTask
	if err := json.Unmarshal(b, &got); err != nil {
		return PackResult{}, err
	}
	linger := rt.linger
	if linger == 0 {
		linger = -1
	}
	res, err := ExecPack(ctx, got, ExecOptions{Linger: linger})
	if err != nil {
		return PackResult{}, err
	}
	res.Container = ContainerInfo{ID: fmt.Sprint(task.Pack.Index), Cold: true}
	return res, nil
}

func TestLaunchAllRanks(t *testing.T) {
	rt := &inProcess{failPack: -1}
	res, err := Launch(context.Background(), Spec{App: "test-echo", Workers: 10, Granularity: 4}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if rt.calls.Load() != 3 || res.Containers != 3 || res.Cold != 3 {
		t.Fatalf("calls %d containers %d cold %d, want 3 each", rt.calls.Load(), res.Containers, res.Cold)
	}
	for i, rr := range res.Ranks {
		var got map[string]int
		if err := json.Unmarshal(rr.Result, &got); err != nil {
			t.Fatalf("rank %d result %s: %v", i, rr.Result, err)
		}
		if got["rank"] != i || got["size"] != 10 || got["pack"] != i/4 || rr.Pack != i/4 {
			t.Errorf("rank %d: result %v pack %d", i, got, rr.Pack)
		}
	}
	if res.Ready <= 0 || res.Total < res.Ready {
		t.Errorf("ready %v total %v", res.Ready, res.Total)
	}
}

// TestLingeringPacksLeaveAtGroupEnd checks that done packs, which would
// stay in the membership for a minute, leave once the launcher announces
// the group's end: their goroutines are gone within seconds.
func TestLingeringPacksLeaveAtGroupEnd(t *testing.T) {
	rt := &inProcess{failPack: -1, linger: time.Minute}
	res, err := Launch(context.Background(), Spec{App: "test-echo", Workers: 6, Granularity: 2}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := goleak.Find()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("packs still lingering 10 s after the group ended: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestLaunchRankErrorsAndPanics(t *testing.T) {
	rt := &inProcess{failPack: -1}
	res, err := Launch(context.Background(), Spec{App: "test-echo", Workers: 8, Granularity: 3, Params: Params{"fail": "1", "panic": "6"}}, rt)
	if err != nil {
		t.Fatal(err)
	}
	failed := res.Failed()
	if len(failed) != 2 || failed[0].Rank != 1 || failed[1].Rank != 6 {
		t.Fatalf("failed = %+v, want ranks 1 and 6", failed)
	}
	if !strings.Contains(failed[1].Error, "panic: kaboom") || failed[1].Pack != 2 {
		t.Errorf("panic rank: %+v", failed[1])
	}
	msg := res.Err().Error()
	for _, want := range []string{"2 of 8 ranks failed", "rank 1 (pack 0)", "boom"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Err() = %q, missing %q", msg, want)
		}
	}
	for _, r := range []int{0, 2, 3, 4, 5, 7} {
		if res.Ranks[r].Error != "" || res.Ranks[r].Result == nil {
			t.Errorf("rank %d should have succeeded: %+v", r, res.Ranks[r])
		}
	}
}

func TestLaunchPackFailureCancelsOthers(t *testing.T) {
	rt := &inProcess{failPack: 1}
	start := time.Now()
	res, err := Launch(context.Background(), Spec{App: "test-echo", Workers: 6, Granularity: 2, Params: Params{"block": "1"}, Timeout: time.Minute}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("blocked workers were not cancelled promptly")
	}
	for _, rr := range res.Ranks {
		if rr.Error == "" {
			t.Fatalf("rank %d succeeded, but its group failed", rr.Rank)
		}
		if !strings.Contains(rr.Error, "pack 1") {
			t.Errorf("rank %d error %q does not name the failed pack", rr.Rank, rr.Error)
		}
	}
	if res.Ready != 0 {
		t.Errorf("ready = %v for a group that never got all packs ready", res.Ready)
	}
}

// TestCancelledPackNamesTheCulprit: a pack cancelled because another
// pack's container died is reported as cancelled, naming the dead pack,
// even though its runtime's error wraps the group's cause (as net/http's
// does); the dead pack's own error is its failure.
func TestCancelledPackNamesTheCulprit(t *testing.T) {
	rt := &diesWhenRunning{inProcess: inProcess{failPack: -1}, die: 1}
	res, err := Launch(context.Background(), Spec{App: "test-hold", Workers: 2, Granularity: 1, Timeout: 30 * time.Second}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Packs[0].Error; !strings.HasPrefix(got, "cancelled: pack failed: pack 1") {
		t.Errorf("pack 0 error %q, want it cancelled, naming pack 1", got)
	}
	if got := res.Packs[1].Error; strings.Contains(got, "cancelled") || !strings.Contains(got, "container died") {
		t.Errorf("pack 1 error %q, want its own failure", got)
	}
	if msg := res.Err().Error(); !strings.Contains(msg, "rank 0 (pack 0): cancelled: pack failed: pack 1") {
		t.Errorf("Err() = %q, want the first rank's error to name pack 1", msg)
	}
}

func TestLaunchDeadline(t *testing.T) {
	rt := &inProcess{failPack: -1}
	res, err := Launch(context.Background(), Spec{App: "test-echo", Workers: 2, Granularity: 1, Params: Params{"block": "1"}, Timeout: 200 * time.Millisecond}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Err() == nil || !strings.Contains(res.Ranks[0].Error, "deadline") {
		t.Fatalf("want deadline errors, got %+v", res.Ranks)
	}
}

func TestLaunchRejects(t *testing.T) {
	rt := &inProcess{failPack: -1}
	if _, err := Launch(context.Background(), Spec{App: "no-such-app", Workers: 1, Granularity: 1}, rt); !errors.Is(err, ErrUnknownApp) {
		t.Errorf("unknown app: err = %v", err)
	}
	if _, err := Launch(context.Background(), Spec{App: "test-echo", Workers: 0, Granularity: 1}, rt); !errors.Is(err, ErrBadSpec) {
		t.Errorf("n=0: err = %v", err)
	}
	if rt.calls.Load() != 0 {
		t.Errorf("runtime called %d times for rejected specs", rt.calls.Load())
	}
}

func TestCheckPackResult(t *testing.T) {
	p := Pack{Index: 1, Lo: 4, Hi: 6}
	good := PackResult{Pack: 1, Ranks: []RankResult{{Rank: 4}, {Rank: 5}}}
	if err := checkPackResult(p, good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []PackResult{
		{Pack: 0, Ranks: good.Ranks},
		{Pack: 1, Ranks: good.Ranks[:1]},
		{Pack: 1, Ranks: []RankResult{{Rank: 5}, {Rank: 4}}},
	} {
		if checkPackResult(p, bad) == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}
