package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/volley-run/volley/collectives"
	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/local"
	"github.com/volley-run/volley/invoker/nethost"
	"github.com/volley-run/volley/invoker/proctest"
)

// The test binary doubles as the worker binary: started with envWorker=1
// it serves the action protocol instead of running tests.
const envWorker = "VOLLEY_FAULTS_TEST_WORKER"

// detectionBound is how soon every surviving worker must hear of a dead or
// cut-off pack (issue: "within 5 s").
const detectionBound = 5 * time.Second

func init() {
	group.Register(group.App{Name: "fault-alltoall", Summary: "AllToAll in a loop until cancelled; marks the loop's start in markdir", Run: allToAllLoop})
	group.Register(group.App{Name: "fault-ring", Summary: "passes a token tagged with the group id around the ring, rounds times", Run: ringRounds})
}

// allToAllLoop runs AllToAll of 4 KiB per pair until its context ends.
// After the first round each rank writes markdir/<rank> holding
// "pack pid bindaddr", so the test knows where everyone is.
func allToAllLoop(ctx context.Context, w *group.Worker) (any, error) {
	col := collectives.New(w.Comm())
	const m = 4096
	send, recv := make([]byte, m*w.Size()), make([]byte, m*w.Size())
	for round := 0; ; round++ {
		if err := col.AllToAll(ctx, send, recv); err != nil {
			return nil, fmt.Errorf("rank %d: AllToAll round %d: %w", w.Rank(), round, err)
		}
		if round == 0 {
			mark := fmt.Sprintf("%d %d %s", w.Pack().Index, os.Getpid(), os.Getenv(action.EnvBindAddr))
			if err := os.WriteFile(filepath.Join(w.Params().String("markdir", os.TempDir()), strconv.Itoa(w.Rank())), []byte(mark), 0o644); err != nil {
				return nil, err
			}
		}
	}
}

// ringRounds passes "<group>/<rank>" to the next rank, rounds times, and
// fails if a token from another group or another rank ever arrives.
func ringRounds(ctx context.Context, w *group.Worker) (any, error) {
	c := w.Comm()
	rounds, err := w.Params().Int("rounds", 1)
	if err != nil {
		return nil, err
	}
	next, prev := (c.Rank()+1)%c.Size(), (c.Rank()+c.Size()-1)%c.Size()
	want := fmt.Sprintf("%s/%d", w.GroupID(), prev)
	for i := range rounds {
		m, err := c.SendRecv(ctx, next, 0, []byte(fmt.Sprintf("%s/%d", w.GroupID(), c.Rank())), prev, 0)
		if err != nil {
			return nil, err
		}
		if string(m.Data) != want {
			return nil, fmt.Errorf("round %d: got token %q, want %q", i, m.Data, want)
		}
	}
	return rounds, nil
}

func TestMain(m *testing.M) {
	log := slog.New(slog.DiscardHandler)
	proctest.ServeIfWorker(envWorker, hangingRunner(action.PackRunner(log)), log, os.Stdout, os.Stderr)
	goleak.VerifyTestMain(m)
}

// hangingRunner wraps a pack runner: the pack named by the task's
// hang_pack parameter never joins its group; it waits until its request
// ends. That is a container that started but never became ready.
func hangingRunner(run action.RunFunc) action.RunFunc {
	return func(ctx context.Context, req action.RunRequest) (any, error) {
		var task group.PackTask
		if err := json.Unmarshal(req.Value, &task); err == nil {
			if p, ok := task.Params["hang_pack"]; ok && p == strconv.Itoa(task.Pack.Index) {
				<-ctx.Done()
				return nil, fmt.Errorf("pack %d hung on purpose: %w", task.Pack.Index, ctx.Err())
			}
		}
		return run(ctx, req)
	}
}

func newRuntime(t *testing.T, hosts []local.Host) *local.Runtime {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := local.New(local.Config{Binary: exe, Args: []string{}, Env: []string{envWorker + "=1"}, Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rt.Close()
		if kids := proctest.Children(t); len(kids) > 0 {
			t.Errorf("worker processes left after Close: %v", kids)
		}
	})
	return rt
}

// mark is where one rank of fault-alltoall runs.
type mark struct {
	pack, pid int
	addr      string
}

// waitMarks waits until every rank of fault-alltoall has written its mark.
func waitMarks(t *testing.T, dir string, n int, done <-chan launched) map[int]mark {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		marks := map[int]mark{}
		for r := range n {
			b, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(r)))
			if err != nil {
				break
			}
			var mk mark
			if _, err := fmt.Sscanf(string(b), "%d %d %s", &mk.pack, &mk.pid, &mk.addr); err != nil {
				break
			}
			marks[r] = mk
		}
		if len(marks) == n {
			return marks
		}
		select {
		case l := <-done:
			t.Fatalf("group ended before every rank was running: %v %v", l.err, l.res.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("not every rank reached the AllToAll loop within 30 s")
	return nil
}

type launched struct {
	res *group.Result
	err error
	at  time.Time
}

func launch(ctx context.Context, spec group.Spec, rt group.Runtime, opts ...group.LaunchOption) <-chan launched {
	done := make(chan launched, 1)
	go func() {
		res, err := group.Launch(ctx, spec, rt, opts...)
		done <- launched{res, err, time.Now()}
	}()
	return done
}

// checkSurvivorsName checks that the group failed and that every rank
// outside the victim pack has an error naming it.
func checkSurvivorsName(t *testing.T, res *group.Result, victim int) {
	t.Helper()
	if res.Err() == nil {
		t.Fatal("the group succeeded although a pack was lost")
	}
	needle := fmt.Sprintf("pack %d", victim)
	for _, rr := range res.Ranks {
		if rr.Pack == victim {
			continue
		}
		if rr.Error == "" {
			t.Errorf("rank %d (pack %d) succeeded although pack %d was lost", rr.Rank, rr.Pack, victim)
		} else if !strings.Contains(rr.Error, needle) {
			t.Errorf("rank %d (pack %d) error does not name %s: %s", rr.Rank, rr.Pack, needle, rr.Error)
		}
	}
}

// faultMidAllToAll runs fault-alltoall with 3 packs, one per network host,
// applies fault to pack 1 once every rank is looping, and checks that
// every surviving rank fails naming pack 1 within detectionBound.
func faultMidAllToAll(t *testing.T, fault func(t *testing.T, victim mark, hosts []nethost.Host)) {
	gw, hosts := nethost.Make(t, 3)
	var placed []local.Host
	for _, h := range hosts {
		placed = append(placed, local.Host{Netns: h.Netns, Addr: h.Addr})
	}
	rt := newRuntime(t, placed)
	dir := t.TempDir()
	spec := group.Spec{App: "fault-alltoall", Workers: 6, Granularity: 2, Transport: "tcp",
		Params: group.Params{"markdir": dir}, Timeout: time.Minute, ReadyTimeout: 15 * time.Second}
	done := launch(context.Background(), spec, rt, group.BindAddr(gw))
	marks := waitMarks(t, dir, spec.Workers, done)
	const victimPack = 1
	victim := marks[victimPack*spec.Granularity]
	t0 := time.Now()
	fault(t, victim, hosts)
	var l launched
	select {
	case l = <-done:
	case <-time.After(spec.Timeout):
		t.Fatal("group did not end after the fault")
	}
	if l.err != nil {
		t.Fatal(l.err)
	}
	took := l.at.Sub(t0)
	t.Logf("every rank had ended %v after the fault", took.Round(time.Millisecond))
	checkSurvivorsName(t, l.res, victimPack)
	if took > detectionBound {
		t.Errorf("the group took %v to end after the fault, want within %v", took, detectionBound)
	}
}

func TestKillContainerMidAllToAll(t *testing.T) {
	faultMidAllToAll(t, func(t *testing.T, victim mark, _ []nethost.Host) {
		if err := syscall.Kill(victim.pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill pack %d (pid %d): %v", victim.pack, victim.pid, err)
		}
	})
}

func TestCutLinkMidAllToAll(t *testing.T) {
	faultMidAllToAll(t, func(t *testing.T, victim mark, hosts []nethost.Host) {
		for _, h := range hosts {
			if h.Addr == victim.addr {
				if err := h.SetLink(false); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatalf("pack %d runs on %q, which is none of the hosts", victim.pack, victim.addr)
	})
}

func TestPackThatNeverJoins(t *testing.T) {
	rt := newRuntime(t, nil)
	ready := 3 * time.Second
	spec := group.Spec{App: "fault-ring", Workers: 6, Granularity: 2,
		Params: group.Params{"hang_pack": "1"}, Timeout: time.Minute, ReadyTimeout: ready}
	t0 := time.Now()
	res, err := group.Launch(context.Background(), spec, rt)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	t.Logf("group failed %v after launch (ready timeout %v)", took.Round(time.Millisecond), ready)
	if res.Err() == nil {
		t.Fatal("a group with a pack that never joins succeeded")
	}
	for _, rr := range res.Ranks {
		if !strings.Contains(rr.Error, "not ready") || !strings.Contains(rr.Error, "missing: 1") {
			t.Errorf("rank %d: error does not say pack 1 is missing from the ready barrier: %s", rr.Rank, rr.Error)
		}
	}
	if took > ready+detectionBound {
		t.Errorf("group took %v to fail, want about the ready timeout %v", took, ready)
	}
}

// TestTwoGroupsAtOnce runs two groups side by side on one runtime: each
// rank checks every token it gets comes from its own group, and each
// group's remote traffic is exactly its own ring's.
func TestTwoGroupsAtOnce(t *testing.T) {
	rt := newRuntime(t, nil)
	const rounds = 50
	spec := group.Spec{App: "fault-ring", Workers: 6, Granularity: 2, Params: group.Params{"rounds": strconv.Itoa(rounds)}, Timeout: time.Minute}
	a := launch(context.Background(), spec, rt)
	b := launch(context.Background(), spec, rt)
	for _, ch := range []<-chan launched{a, b} {
		l := <-ch
		if l.err != nil {
			t.Fatal(l.err)
		}
		if err := l.res.Err(); err != nil {
			t.Fatalf("group %s: %v", l.res.Group, err)
		}
		// Ranks 1->2, 3->4 and 5->0 cross containers: 3 remote messages a round.
		if got, want := l.res.Comm.SentRemoteMsgs, int64(3*rounds); got != want {
			t.Errorf("group %s sent %d remote messages, want %d (its own ring only)", l.res.Group, got, want)
		}
		if got, want := l.res.Comm.RecvRemoteMsgs, int64(3*rounds); got != want {
			t.Errorf("group %s received %d remote messages, want %d", l.res.Group, got, want)
		}
	}
}
