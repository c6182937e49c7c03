package group

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// acts renders actions compactly for comparison: "launch 0/1 preempt 2/0".
func acts(as []specAction) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

func msd(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestRacePolicyStartupImmediate(t *testing.T) {
	p := newRacePolicy(Speculation{Replicas: 3}, 2)
	steps := []struct {
		name string
		got  []specAction
		want string
	}{
		{"pack 0 starts all replicas", p.startPack(0), "launch 0/0, launch 0/1, launch 0/2"},
		{"pack 1 starts all replicas", p.startPack(1), "launch 1/0, launch 1/1, launch 1/2"},
		{"first to register wins, the others are preempted", p.registered(0, 2, msd(30)), "declare 0/2, preempt 0/0, preempt 0/1"},
		{"a loser registering late is preempted again", p.registered(0, 0, msd(31)), "preempt 0/0"},
		{"a preempted loser ending changes nothing", p.finished(0, 1, false, msd(35)), ""},
		{"a failure before winning leaves the others racing", p.finished(1, 0, false, msd(36)), ""},
		{"pack 1 is won by replica 1", p.registered(1, 1, msd(40)), "declare 1/1, preempt 1/2"},
		{"the winner's result is the pack's", p.finished(0, 2, true, msd(90)), "accept 0/2"},
		{"a winner that dies after winning fails its pack", p.finished(1, 1, false, msd(95)), "fail 1/1"},
		{"nothing after the verdict", p.finished(1, 2, true, msd(99)), ""},
	}
	for _, s := range steps {
		if got := acts(s.got); got != s.want {
			t.Errorf("%s: got [%s], want [%s]", s.name, got, s.want)
		}
	}
	if _, ok := p.deadline(); ok {
		t.Error("immediate policy has a deadline")
	}
}

func TestRacePolicyAllReplicasFail(t *testing.T) {
	p := newRacePolicy(Speculation{Replicas: 2}, 1)
	p.startPack(0)
	if got := acts(p.finished(0, 0, false, msd(5))); got != "" {
		t.Errorf("first failure: %s", got)
	}
	if got := acts(p.finished(0, 1, false, msd(6))); got != "fail 0/1" {
		t.Errorf("last failure: got [%s], want [fail 0/1]", got)
	}
}

func TestRacePolicyStartupQuantile(t *testing.T) {
	// 4 packs, q=0.5, slack 2: once 2 packs registered, the others are
	// late at 2x the 2nd registration time.
	p := newRacePolicy(Speculation{Replicas: 3, After: 0.5, Slack: 2}, 4)
	for i := range 4 {
		if got := acts(p.startPack(i)); got != "launch "+string(rune('0'+i))+"/0" {
			t.Fatalf("start pack %d: %s", i, got)
		}
	}
	if _, ok := p.deadline(); ok {
		t.Fatal("deadline before any pack registered")
	}
	p.registered(0, 0, msd(40))
	if _, ok := p.deadline(); ok {
		t.Fatal("deadline with 1 of the 2 needed packs")
	}
	p.registered(1, 0, msd(50))
	at, ok := p.deadline()
	if !ok || at != msd(100) {
		t.Fatalf("deadline = %v, %v; want 100ms", at, ok)
	}
	if got := acts(p.tick(msd(99))); got != "" {
		t.Errorf("tick before the deadline: %s", got)
	}
	if got := acts(p.tick(msd(100))); got != "launch 2/1, launch 2/2, launch 3/1, launch 3/2" {
		t.Errorf("tick at the deadline: %s", got)
	}
	if _, ok := p.deadline(); ok {
		t.Error("deadline left once every late pack has its K replicas")
	}
	// The slow first replica of pack 2 still registers first: it wins.
	if got := acts(p.registered(2, 0, msd(120))); got != "declare 2/0, preempt 2/1, preempt 2/2" {
		t.Errorf("late primary wins: %s", got)
	}
	if got := acts(p.registered(3, 2, msd(130))); got != "declare 3/2, preempt 3/0, preempt 3/1" {
		t.Errorf("replica wins: %s", got)
	}
}

func TestRacePolicyExec(t *testing.T) {
	p := newRacePolicy(Speculation{Replicas: 2, Mode: SpeculateExec, After: 0.5, Slack: 1.5}, 4)
	for i := range 4 {
		p.startPack(i)
	}
	for i := range 4 {
		if got := acts(p.registered(i, 0, msd(10))); got != "" {
			t.Errorf("exec mode acts on a registration: %s", got)
		}
	}
	if got := acts(p.finished(0, 0, true, msd(100))); got != "accept 0/0" {
		t.Errorf("first result: %s", got)
	}
	if got := acts(p.finished(1, 0, true, msd(200))); got != "accept 1/0" {
		t.Errorf("second result: %s", got)
	}
	at, ok := p.deadline()
	if !ok || at != msd(300) {
		t.Fatalf("deadline = %v, %v; want 1.5 x 200ms", at, ok)
	}
	if got := acts(p.tick(msd(300))); got != "launch 2/1, launch 3/1" {
		t.Errorf("late tasks replicated: %s", got)
	}
	if got := acts(p.finished(2, 1, true, msd(320))); got != "accept 2/1, preempt 2/0" {
		t.Errorf("replica finishes first: %s", got)
	}
	if got := acts(p.finished(2, 0, true, msd(330))); got != "" {
		t.Errorf("loser's late result: %s", got)
	}
	// A replica whose container fails does not fail the pack while the
	// other still runs.
	if got := acts(p.finished(3, 1, false, msd(340))); got != "" {
		t.Errorf("one replica failed: %s", got)
	}
	if got := acts(p.finished(3, 0, true, msd(400))); got != "accept 3/0" {
		t.Errorf("the other one's result: %s", got)
	}
}

func TestRacePolicyReplacesFailedReplica(t *testing.T) {
	// Quantile mode launches one replica first; if it fails before
	// winning, another is started while K allows.
	p := newRacePolicy(Speculation{Replicas: 2, After: 0.9}, 1)
	p.startPack(0)
	if got := acts(p.finished(0, 0, false, msd(5))); got != "launch 0/1" {
		t.Errorf("got [%s], want a replacement", got)
	}
	if got := acts(p.finished(0, 1, false, msd(9))); got != "fail 0/1" {
		t.Errorf("got [%s], want the pack failed", got)
	}
}

func TestSpeculationValidate(t *testing.T) {
	for _, s := range []Speculation{
		{Replicas: -1}, {Replicas: MaxReplicas + 1}, {Replicas: 2, Mode: "warp"},
		{Replicas: 2, After: 1}, {Replicas: 2, After: -0.1}, {Replicas: 2, Slack: 0.5},
	} {
		if err := s.validate(); !errors.Is(err, ErrBadSpec) {
			t.Errorf("%+v: validate = %v, want ErrBadSpec", s, err)
		}
	}
	for _, s := range []Speculation{{}, {Replicas: 1}, {Replicas: 3, Mode: SpeculateExec, After: 0.75, Slack: 1}} {
		if err := s.validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
}

func TestCheckSpeculation(t *testing.T) {
	err := CheckSpeculation(Spec{App: "test-echo", Workers: 2, Granularity: 1, Speculation: Speculation{Replicas: 2, Mode: SpeculateExec}})
	if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), "do not communicate") {
		t.Errorf("exec speculation of a communicating app: %v", err)
	}
	if err := CheckSpeculation(Spec{App: "test-echo", Speculation: Speculation{Replicas: 2}}); err != nil {
		t.Errorf("start-up speculation of any app: %v", err)
	}
}

func TestRacePolicyEventsSorted(t *testing.T) {
	p := newRacePolicy(Speculation{Replicas: 2, After: 0.5}, 4)
	for i := range 4 {
		p.startPack(i)
	}
	p.registered(2, 0, msd(50))
	p.registered(0, 0, msd(20))
	if !slices.Equal(p.events, []time.Duration{msd(20), msd(50)}) {
		t.Errorf("events %v", p.events)
	}
}

// The speculator end to end in one process (packs through ExecPack, real
// membership): every rank has one result, every replica is summarised,
// and nothing is left running (goleak checks at exit).
func TestLaunchSpeculativeInProcess(t *testing.T) {
	for _, mode := range []string{SpeculateStartup, SpeculateExec} {
		t.Run(mode, func(t *testing.T) {
			app := "test-echo"
			if mode == SpeculateExec {
				app = "test-independent"
			}
			rt := &inProcess{failPack: -1}
			res, err := Launch(context.Background(), Spec{App: app, Workers: 3, Granularity: 1, Timeout: 30 * time.Second,
				Speculation: Speculation{Replicas: 2, Mode: mode}}, rt)
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			if got := rt.calls.Load(); got != 6 {
				t.Errorf("%d containers asked for, want 6", got)
			}
			won := map[int]int{}
			for _, r := range res.Replicas {
				if r.Outcome == "won" {
					won[r.Pack]++
				} else if r.Outcome != "lost" {
					t.Errorf("replica %d/%d: %s %s", r.Pack, r.Replica, r.Outcome, r.Error)
				}
			}
			if len(res.Replicas) != 6 || len(won) != 3 || won[0] != 1 || won[1] != 1 || won[2] != 1 {
				t.Errorf("replicas %+v", res.Replicas)
			}
			// Launched counts every replica, the first of each pack
			// included, and each ends under one outcome.
			if s := res.Speculation; s.Launched != 6 || s.Won+s.Lost+s.Failed+s.Cancelled != s.Launched {
				t.Errorf("speculation %+v: want 6 launched, each with one outcome", s)
			}
			for i, rr := range res.Ranks {
				if rr.Rank != i || len(rr.Result) == 0 {
					t.Errorf("rank %d: %+v", i, rr)
				}
			}
		})
	}
}

func init() {
	Register(App{Name: "test-independent", Independent: true, Run: func(ctx context.Context, w *Worker) (any, error) {
		return w.Replica(), nil
	}})
}

// holding marks the packs whose worker is running: the "test-hold" app
// closes the channel stored under its group and pack, then blocks until
// cancelled.
var holding sync.Map // "group/pack" -> chan struct{}

func init() {
	Register(App{Name: "test-hold", Run: func(ctx context.Context, w *Worker) (any, error) {
		if ch, ok := holding.LoadAndDelete(fmt.Sprintf("%s/%d", w.GroupID(), w.Pack().Index)); ok {
			close(ch.(chan struct{}))
		}
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}})
}

// diesWhenRunning runs packs in process; pack die's container "dies"
// once its worker runs (with speculation, only the start-up winner dies),
// and a pack cancelled with the group answers the cause, as net/http's
// client does.
type diesWhenRunning struct {
	inProcess
	die int
}

func (rt *diesWhenRunning) RunPack(ctx context.Context, task PackTask) (PackResult, error) {
	if task.Pack.Index != rt.die {
		res, err := rt.inProcess.RunPack(ctx, task)
		if ctx.Err() != nil {
			return PackResult{}, fmt.Errorf("run: %w", context.Cause(ctx))
		}
		return res, err
	}
	// The pack's replicas share one channel; the one whose worker runs
	// closes it.
	key := fmt.Sprintf("%s/%d", task.Group, task.Pack.Index)
	// The worker that runs removes it; a loser stopped at the barrier
	// must not, or the winner's worker would find no channel to close.
	ch, _ := holding.LoadOrStore(key, make(chan struct{}))
	running := ch.(chan struct{})
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	var res PackResult
	var err error
	go func() {
		defer close(done)
		res, err = rt.inProcess.RunPack(cctx, task)
	}()
	select {
	case <-running:
		cancel()
		<-done
		return PackResult{}, errors.New("container died")
	case <-done:
		return res, err
	}
}

// TestStartupWinnerThatFailsIsNotWon kills pack 1's start-up winner
// after it won: it is reported failed, pack 0's winner (cancelled with
// the group) cancelled, and neither counts as won.
func TestStartupWinnerThatFailsIsNotWon(t *testing.T) {
	rt := &diesWhenRunning{inProcess: inProcess{failPack: -1}, die: 1}
	res, err := Launch(context.Background(), Spec{App: "test-hold", Workers: 2, Granularity: 1, Timeout: 30 * time.Second,
		Speculation: Speculation{Replicas: 2}}, rt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Err() == nil {
		t.Fatal("the group succeeded, but a pack's winner died")
	}
	outcome := map[int]string{} // pack -> outcome of the replica that registered first
	for _, r := range res.Replicas {
		if r.Outcome == "won" && r.Error != "" {
			t.Errorf("replica %d/%d won with an error: %s", r.Pack, r.Replica, r.Error)
		}
		if r.Outcome != "lost" {
			outcome[r.Pack] = r.Outcome
		}
	}
	if outcome[0] != "cancelled" || outcome[1] != "failed" {
		t.Errorf("outcomes of the winners %v, want pack 0 cancelled, pack 1 failed; replicas %+v", outcome, res.Replicas)
	}
	if s := res.Speculation; s != (SpeculationStats{Launched: 4, Lost: 2, Failed: 1, Cancelled: 1}) {
		t.Errorf("speculation %+v", s)
	}
}
