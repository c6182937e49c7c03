package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/volley-run/volley/collectives"
	"github.com/volley-run/volley/group"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func init() {
	group.Register(group.App{Name: "trace-test", Summary: "barrier, allreduce, bcast", Run: func(ctx context.Context, w *group.Worker) (any, error) {
		col := collectives.New(w.Comm())
		if err := col.Barrier(ctx); err != nil {
			return nil, err
		}
		if err := collectives.AllReduceT(ctx, col, []int64{1, 2, 3}, collectives.Sum[int64]); err != nil {
			return nil, err
		}
		return nil, col.Bcast(ctx, 0, make([]byte, 4096))
	}})
}

// inProcess runs each pack through group.ExecPack in this process, with
// the task and result round-tripped through JSON as across the action
// protocol.
type inProcess struct{}

func (inProcess) RunPack(ctx context.Context, task group.PackTask) (group.PackResult, error) {
	b, _ := json.Marshal(task)
	var got group.PackTask
	if err := json.Unmarshal(b, &got); err != nil {
		return group.PackResult{}, err
	}
	res, err := group.ExecPack(ctx, got, group.ExecOptions{Linger: -1})
	if err != nil {
		return group.PackResult{}, err
	}
	res.Container = group.ContainerInfo{ID: fmt.Sprint(100 + task.Pack.Index), Cold: true, StartMs: 1}
	b, _ = json.Marshal(res)
	var out group.PackResult
	return out, json.Unmarshal(b, &out)
}

// TestTraceOfRealGroup runs a group (comm nodes, membership, TCP between
// packs) and checks its trace: valid JSON in the trace-event format, one
// track per rank on its pack's process, and nested spans.
func TestTraceOfRealGroup(t *testing.T) {
	const n, g = 7, 3
	res, err := group.Launch(context.Background(), group.Spec{App: "trace-test", Workers: n, Granularity: g, Timeout: time.Minute},
		inProcess{}, group.Record(group.RecordSpans))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, res); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatal("trace is not valid JSON")
	}
	f, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}
	tracks := f.Spans()
	if len(tracks) != n {
		t.Fatalf("%d tracks, want one per rank (%d)", len(tracks), n)
	}
	for r := range n {
		evs := tracks[Track{Pid: r / g, Tid: r}]
		var names []string
		var run Event
		for _, e := range evs {
			names = append(names, e.Name)
			if e.Name == "run" {
				run = e
			}
		}
		want := "container start (cold),join,run,barrier,allreduce,bcast"
		if got := strings.Join(names, ","); got != want {
			t.Errorf("rank %d: spans %s, want %s", r, got, want)
		}
		for _, e := range evs {
			if e.Cat == "collective" && (e.Ts < run.Ts || e.Ts+e.Dur > run.Ts+run.Dur) {
				t.Errorf("rank %d: %s [%d, %d] outside run [%d, %d]", r, e.Name, e.Ts, e.Ts+e.Dur, run.Ts, run.Ts+run.Dur)
			}
		}
	}
	names := map[string]bool{}
	for _, e := range f.TraceEvents {
		if e.Ph == "M" && e.Name == "thread_name" {
			names[e.Args["name"].(string)] = true
		}
	}
	if len(names) != n || !names["rank 6"] {
		t.Errorf("thread names %v", names)
	}
}

// TestCheckRejects checks that Check finds what is wrong.
func TestCheckRejects(t *testing.T) {
	cases := map[string][]Event{
		"overlaps": {
			{Name: "run", Ph: "X", Ts: 0, Dur: 10},
			{Name: "barrier", Ph: "X", Ts: 5, Dur: 10},
		},
		"negative": {{Name: "run", Ph: "X", Ts: -1, Dur: 10}},
		"is on pid": {
			{Name: "run", Ph: "X", Pid: 0, Tid: 3, Dur: 1},
			{Name: "run", Ph: "X", Pid: 1, Tid: 3, Dur: 1},
		},
		"phase": {{Name: "x", Ph: "B"}},
	}
	for want, evs := range cases {
		err := (&File{TraceEvents: evs}).Check()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Check said %v", want, err)
		}
	}
	ok := &File{TraceEvents: []Event{
		{Name: "run", Ph: "X", Ts: 0, Dur: 10},
		{Name: "a", Ph: "X", Ts: 0, Dur: 4},
		{Name: "b", Ph: "X", Ts: 4, Dur: 6},
		{Name: "c", Ph: "X", Ts: 10, Dur: 3},
	}}
	if err := ok.Check(); err != nil {
		t.Errorf("nested spans rejected: %v", err)
	}
	if _, err := Parse(strings.NewReader(`{"foo": 1}`)); err == nil {
		t.Error("a JSON object without traceEvents parsed")
	}
}

// TestFailedPack checks that a failed pack gets an instant event and no
// spans, and that the trace still checks.
func TestFailedPack(t *testing.T) {
	res := &group.Result{Workers: 2, Granularity: 1, Total: time.Second,
		Packs: []group.PackSummary{{Pack: 0, Lo: 0, Hi: 1, Error: "container died"}, {Pack: 1, Lo: 1, Hi: 2, Error: "cancelled"}},
		Ranks: []group.RankResult{{Rank: 0, Error: "container died"}, {Rank: 1, Pack: 1, Error: "cancelled"}}}
	f := Build(res)
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}
	var instants int
	for _, e := range f.TraceEvents {
		if e.Ph == "i" && e.Ts == time.Second.Microseconds() {
			instants++
		}
	}
	if instants != 2 || len(f.Spans()) != 0 {
		t.Errorf("%d instant events, %d tracks with spans", instants, len(f.Spans()))
	}
}

func TestReplicaTracks(t *testing.T) {
	res := &group.Result{Workers: 2, Granularity: 1, Containers: 2,
		Packs: []group.PackSummary{{Pack: 0, Lo: 0, Hi: 1}, {Pack: 1, Lo: 1, Hi: 2}},
		Ranks: []group.RankResult{{Rank: 0}, {Rank: 1, Pack: 1}},
		Replicas: []group.ReplicaSummary{
			{Pack: 0, Replica: 0, Outcome: "won", LaunchedMs: 0, RegisteredMs: 5, ReadyMs: 6, EndedMs: 20},
			{Pack: 0, Replica: 1, Outcome: "lost", LaunchedMs: 1, EndedMs: 8},
			{Pack: 1, Replica: 0, Outcome: "won", LaunchedMs: 0, ReadyMs: 7, EndedMs: 21},
		}}
	f := Build(res)
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}
	spans := f.Spans()
	won := spans[Track{Pid: 0, Tid: 2}]
	lost := spans[Track{Pid: 0, Tid: 3}]
	if len(won) != 2 || won[0].Name != "replica 0 (won)" || won[0].Dur != 20000 || won[1].Name != "run" || won[1].Ts != 6000 {
		t.Fatalf("winner's track %+v", won)
	}
	if len(lost) != 1 || lost[0].Name != "replica 1 (lost)" || lost[0].Ts != 1000 || lost[0].Dur != 7000 {
		t.Fatalf("loser's track %+v", lost)
	}
	if len(spans[Track{Pid: 1, Tid: 4}]) != 2 {
		t.Fatalf("pack 1's replica track %+v", spans[Track{Pid: 1, Tid: 4}])
	}
}
