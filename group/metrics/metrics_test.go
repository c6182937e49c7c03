package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/volley-run/volley/collectives"
	"github.com/volley-run/volley/comm"
	"github.com/volley-run/volley/group"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func init() {
	group.Register(group.App{Name: "metrics-test", Summary: "a barrier and allreduces=K of size floats", Run: func(ctx context.Context, w *group.Worker) (any, error) {
		col := collectives.New(w.Comm())
		if err := col.Barrier(ctx); err != nil {
			return nil, err
		}
		k, _ := w.Params().Int("allreduces", 1)
		size, _ := w.Params().Int("size", 1)
		v := make([]float64, size)
		for range k {
			if err := collectives.AllReduceT(ctx, col, v, collectives.Sum[float64]); err != nil {
				return nil, err
			}
		}
		if r, _ := w.Params().Int("fail", -1); r == w.Rank() {
			return nil, errors.New("boom")
		}
		return w.Rank(), nil
	}})
}

// inProcess runs each pack through group.ExecPack in this process, its
// task round-tripped through JSON as across the action protocol. Packs
// are cold on the first group and warm after.
type inProcess struct{ groups map[string]bool }

func (rt *inProcess) RunPack(ctx context.Context, task group.PackTask) (group.PackResult, error) {
	b, _ := json.Marshal(task)
	var got group.PackTask
	if err := json.Unmarshal(b, &got); err != nil {
		return group.PackResult{}, err
	}
	res, err := group.ExecPack(ctx, got, group.ExecOptions{Linger: -1})
	if err != nil {
		return group.PackResult{}, err
	}
	res.Container = group.ContainerInfo{ID: fmt.Sprint(task.Pack.Index), Cold: len(rt.groups) == 0, StartMs: 2}
	b, _ = json.Marshal(res)
	var out group.PackResult
	return out, json.Unmarshal(b, &out)
}

// scrape GETs /metrics from h and parses it with Prometheus' text parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics do not parse: %v", err)
	}
	return fams
}

// sample finds the metric of family name whose labels include labels
// (name, value pairs).
func sample(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no %s with labels %v", name, labels)
	return nil
}

func counter(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	return sample(t, fams, name, labels...).GetCounter().GetValue()
}

// TestLaunchAndScrape runs two real groups (comm nodes, membership, TCP
// between packs) through Metrics.Launch, one of them with a failed rank,
// and checks the scraped figures against the Results.
func TestLaunchAndScrape(t *testing.T) {
	m, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := &inProcess{groups: map[string]bool{}}
	ctx := context.Background()
	spec := group.Spec{App: "metrics-test", Workers: 6, Granularity: 2, Params: group.Params{"allreduces": "3", "size": "1000"}, Timeout: time.Minute}
	var results []*group.Result
	for _, fail := range []string{"-1", "4"} {
		spec.Params["fail"] = fail
		res, err := m.Launch(ctx, spec, rt)
		if err != nil {
			t.Fatal(err)
		}
		rt.groups[res.Group] = true
		results = append(results, res)
	}
	if results[0].Err() != nil || results[1].Err() == nil {
		t.Fatalf("want group 1 ok, group 2 failed: %v, %v", results[0].Err(), results[1].Err())
	}
	if _, err := m.Launch(ctx, group.Spec{App: "metrics-test", Workers: 0}, rt); !errors.Is(err, group.ErrBadSpec) {
		t.Fatalf("bad spec: %v", err)
	}

	fams := scrape(t, m.Handler())
	var sum comm.Stats
	for _, r := range results {
		sum = sum.Add(r.Comm)
	}
	if sum.SentRemoteBytes == 0 || sum.SentLocalBytes == 0 {
		t.Fatalf("groups sent no remote or no local bytes: %+v", sum)
	}
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"volley_groups_started_total", []string{"app", "metrics-test"}, 3},
		{"volley_groups_finished_total", []string{"app", "metrics-test"}, 1},
		{"volley_groups_failed_total", []string{"app", "metrics-test"}, 2},
		{"volley_packs_started_total", nil, 6},
		{"volley_packs_finished_total", nil, 6},
		{"volley_packs_failed_total", nil, 0},
		{"volley_workers_started_total", nil, 12},
		{"volley_workers_finished_total", nil, 11},
		{"volley_workers_failed_total", nil, 1},
		{"volley_container_starts_total", []string{"start", "cold"}, 3},
		{"volley_container_starts_total", []string{"start", "warm"}, 3},
		{"volley_sent_messages_total", []string{"locality", "local"}, float64(sum.SentLocalMsgs)},
		{"volley_sent_messages_total", []string{"locality", "remote"}, float64(sum.SentRemoteMsgs)},
		{"volley_sent_bytes_total", []string{"locality", "local"}, float64(sum.SentLocalBytes)},
		{"volley_sent_bytes_total", []string{"locality", "remote"}, float64(sum.SentRemoteBytes)},
		{"volley_sent_wire_bytes_total", nil, float64(sum.SentWireBytes)},
		{"volley_speculative_replicas_total", []string{"outcome", "won"}, 0},
	}
	for _, c := range checks {
		if got := counter(t, fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for op, calls := range map[string]uint64{"barrier": 2 * 6, "allreduce": 2 * 6 * 3} {
		h := sample(t, fams, "volley_collective_duration_seconds", "op", op).GetHistogram()
		if h.GetSampleCount() != calls || h.GetSampleSum() <= 0 {
			t.Errorf("collective %s: count %d sum %v, want %d calls", op, h.GetSampleCount(), h.GetSampleSum(), calls)
		}
		// The parser adds the +Inf bucket, which holds every call.
		b := h.GetBucket()
		if len(b) != len(group.LatencyBuckets)+1 || b[len(b)-1].GetCumulativeCount() != calls || b[0].GetUpperBound() != group.LatencyBuckets[0] {
			t.Errorf("collective %s: buckets %v", op, b)
		}
	}
	ready := sample(t, fams, "volley_group_ready_seconds").GetHistogram()
	if ready.GetSampleCount() != 2 || ready.GetSampleSum() < (results[0].Ready+results[1].Ready).Seconds()*0.999 {
		t.Errorf("ready histogram: count %d sum %v, results %v %v", ready.GetSampleCount(), ready.GetSampleSum(), results[0].Ready, results[1].Ready)
	}
	if n := sample(t, fams, "volley_container_start_seconds", "start", "cold").GetHistogram().GetSampleCount(); n != 3 {
		t.Errorf("cold start histogram count %d, want 3", n)
	}
}

// TestObserveFailedPackAndSpeculation checks the pack and replica figures
// of a hand-made Result: a pack whose container died, replicas won, lost
// and failed (the dead pack's winner).
func TestObserveFailedPackAndSpeculation(t *testing.T) {
	m, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	res := &group.Result{
		App: "x", Workers: 4, Granularity: 2, Total: time.Second,
		Packs: []group.PackSummary{
			{Pack: 0, Lo: 0, Hi: 2, Container: group.ContainerInfo{ID: "a", Cold: true, StartMs: 50}},
			{Pack: 1, Lo: 2, Hi: 4, Container: group.ContainerInfo{ID: "b", StartMs: 1}, Error: "container died"},
		},
		Ranks:       []group.RankResult{{Rank: 0}, {Rank: 1}, {Rank: 2, Pack: 1, Error: "container died"}, {Rank: 3, Pack: 1, Error: "container died"}},
		Speculation: group.SpeculationStats{Launched: 4, Won: 1, Lost: 2, Failed: 1},
	}
	m.Started("x")
	m.Observe(res)
	fams := scrape(t, m.Handler())
	for name, want := range map[string]float64{
		"volley_packs_started_total": 2, "volley_packs_finished_total": 1, "volley_packs_failed_total": 1,
		"volley_workers_started_total": 2, "volley_workers_finished_total": 2, "volley_workers_failed_total": 2,
		"volley_speculative_replicas_launched_total": 4,
	} {
		if got := counter(t, fams, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for outcome, want := range map[string]float64{"won": 1, "lost": 2, "failed": 1, "cancelled": 0} {
		if got := counter(t, fams, "volley_speculative_replicas_total", "outcome", outcome); got != want {
			t.Errorf("replicas %s = %v, want %v", outcome, got, want)
		}
	}
	if _, ok := fams["volley_group_ready_seconds"]; ok && sample(t, fams, "volley_group_ready_seconds").GetHistogram().GetSampleCount() != 0 {
		t.Error("a group that never got ready was counted in the ready histogram")
	}
	if _, err := New(m.Registry()); err == nil {
		t.Error("registering twice on one registry did not fail")
	}
}
