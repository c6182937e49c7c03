package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"
	"go.uber.org/goleak"

	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/local"
	"github.com/volley-run/volley/invoker/proctest"
)

// The test binary doubles as the container: started with envTestWorker=1
// it serves the action protocol with testRun.
const envTestWorker = "VOLLEY_CONTROLLER_TEST_WORKER"

// testRun answers {"pid", "echo", "n", "start_ns"}; "stdout" and "stderr"
// (lists of strings) are printed first, one line each, and "spam" lines of
// 1 KiB; "sleep" delays it, and "fail" makes it an application error. A
// list value (a group pack) reports its length.
func testRun(ctx context.Context, req action.RunRequest) (any, error) {
	start := time.Now()
	var list []map[string]any
	var v map[string]any
	if json.Unmarshal(req.Value, &list) == nil && len(list) > 0 {
		v = list[0]
	} else if err := json.Unmarshal(req.Value, &v); err != nil {
		return nil, err
	}
	for key, w := range map[string]*os.File{"stdout": os.Stdout, "stderr": os.Stderr} {
		lines, _ := v[key].([]any)
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
	if n, ok := v["spam"].(float64); ok {
		line := strings.Repeat("x", 1023)
		for range int(n) {
			fmt.Println(line)
		}
	}
	if d, err := time.ParseDuration(fmt.Sprint(v["sleep"])); err == nil {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if v["fail"] == true {
		return nil, errors.New("asked to fail")
	}
	return map[string]any{"pid": os.Getpid(), "echo": v, "n": len(list), "start_ns": start.UnixNano(),
		"activation": os.Getenv("__OW_ACTIVATION_ID")}, nil
}

func TestMain(m *testing.M) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	proctest.ServeIfWorker(envTestWorker, testRun, log, os.Stdout, os.Stderr)
	goleak.VerifyTestMain(m)
}

type fixture struct {
	ctl    *Controller
	url    string
	client *whisk.Client
}

// serve starts a controller on loopback whose containers are processes of
// this test binary, and a client-go client with the guest credential.
func serve(t *testing.T, cfg Config) *fixture {
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
	cfg.ResolveImage = func(string) string { return "" }
	ctl, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: ctl.Handler()}
	go hs.Serve(ln)
	url := "http://" + ln.Addr().String()
	t.Cleanup(func() {
		hs.Close()
		ctl.Close()
		rt.Close()
		if kids := proctest.Children(t); len(kids) > 0 {
			t.Errorf("container processes left after Close: %v", kids)
		}
	})
	return &fixture{ctl: ctl, url: url, client: newClient(t, url, GuestAuth)}
}

func newClient(t *testing.T, url, auth string) *whisk.Client {
	t.Helper()
	c, err := whisk.NewClient(&http.Client{Timeout: time.Minute}, &whisk.Config{Host: url, AuthToken: auth, Namespace: "_"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) putAction(t *testing.T, name string, timeoutMs int, code *string) {
	t.Helper()
	mem, conc := 256, 1
	_, _, err := f.client.Actions.Insert(&whisk.Action{Name: name,
		Exec:   &whisk.Exec{Kind: "blackbox", Image: "volley/test:1", Code: code},
		Limits: &whisk.Limits{Timeout: &timeoutMs, Memory: &mem, Concurrency: &conc}}, true)
	if err != nil {
		t.Fatalf("insert %s: %v", name, err)
	}
}

func resultMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(v)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("result %s: %v", b, err)
	}
	return m
}

// waitActivation polls for a finished activation, as a client does.
func waitActivation(t *testing.T, c *whisk.Client, id string) *whisk.Activation {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a, resp, err := c.Activations.Get(id)
		if err == nil {
			return a
		}
		if resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("get activation %s: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("activation %s not done within 30 s", id)
	return nil
}

func TestActionsAndInvoke(t *testing.T) {
	f := serve(t, Config{})
	f.putAction(t, "echo", 10000, nil)
	c := f.client
	if _, resp, err := c.Actions.Insert(&whisk.Action{Name: "echo", Exec: &whisk.Exec{Kind: "blackbox", Image: "x"}}, false); err == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("insert without overwrite over an existing action: %v %v", resp.StatusCode, err)
	}
	a, _, err := c.Actions.Get("echo", false)
	if err != nil || a.Exec.Image != "volley/test:1" || *a.Limits.Timeout != 10000 || a.Version != "0.0.1" {
		t.Fatalf("get: %+v %v", a, err)
	}
	list, _, err := c.Actions.List("", &whisk.ActionListOptions{})
	if err != nil || len(list) != 1 || list[0].Name != "echo" {
		t.Fatalf("list: %+v %v", list, err)
	}
	ns, _, err := c.Namespaces.List()
	c.Namespace = "_"
	if err != nil || len(ns) != 1 || ns[0].Name != "guest" {
		t.Fatalf("namespaces: %+v %v", ns, err)
	}

	// Blocking, result only.
	res, _, err := c.Actions.Invoke("echo", map[string]any{"x": 1}, true, true)
	if err != nil {
		t.Fatalf("blocking invoke: %v", err)
	}
	m := resultMap(t, res)
	if m["echo"].(map[string]any)["x"] != 1.0 || m["activation"] == "" {
		t.Fatalf("blocking result %v", m)
	}
	firstPid := m["pid"]

	// Non-blocking, then the record, result and logs by id; a warm start.
	res, resp, err := c.Actions.Invoke("echo", map[string]any{"y": "z"}, false, false)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("non-blocking invoke: %v %v", resp, err)
	}
	id := resultMap(t, res)["activationId"].(string)
	if resp.Header.Get("x-openwhisk-activation-id") != id {
		t.Errorf("activation id header %q, body %q", resp.Header.Get("x-openwhisk-activation-id"), id)
	}
	rec := waitActivation(t, c, id)
	if !rec.Response.Success || rec.StatusCode != 0 || rec.Name != "echo" {
		t.Fatalf("record %+v", rec)
	}
	if m := resultMap(t, rec.Response.Result); m["pid"] != firstPid || m["activation"] != id {
		t.Errorf("second activation ran in pid %v as %v; want the warm container %v and __OW_ACTIVATION_ID %s", m["pid"], m["activation"], firstPid, id)
	}
	if rec.Annotations.GetValue("initTime") != nil {
		t.Error("a warm start has an initTime annotation")
	}
	r2, _, err := c.Activations.Result(id)
	if err != nil || !r2.Success {
		t.Fatalf("result: %+v %v", r2, err)
	}
	if _, _, err := c.Activations.Logs(id); err != nil {
		t.Fatalf("logs: %v", err)
	}
	acts, _, err := c.Activations.List(&whisk.ActivationListOptions{Limit: 10})
	if err != nil || len(acts) != 2 {
		t.Fatalf("activation list: %d %v", len(acts), err)
	}

	// An application error: 502 and the error surfaced.
	_, resp, err = c.Actions.Invoke("echo", map[string]any{"fail": true}, true, true)
	if err == nil || resp.StatusCode != http.StatusBadGateway || !strings.Contains(err.Error(), "asked to fail") {
		t.Fatalf("failing invoke: %v %v", resp.StatusCode, err)
	}

	if _, err := c.Actions.Delete("echo"); err != nil {
		t.Fatal(err)
	}
	_, resp, err = c.Actions.Invoke("echo", nil, true, true)
	if err == nil || resp.StatusCode != http.StatusNotFound || !strings.Contains(err.Error(), msgNotFound) {
		t.Fatalf("invoke of a deleted action: %v %v", resp.StatusCode, err)
	}
	if s := f.ctl.Stats(); s.ColdStarts != 1 || s.WarmStarts != 2 {
		t.Errorf("stats %+v, want 1 cold start and 2 warm", s)
	}
}

func TestWrongCredentials(t *testing.T) {
	f := serve(t, Config{})
	for _, auth := range []string{"23bc46b1-71f6-4ed5-8c54-816aa4f8c502:wrong", "nocolon"} {
		c := newClient(t, f.url, auth)
		_, resp, err := c.Actions.List("", &whisk.ActionListOptions{})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: %v %v", auth, resp, err)
		}
		if !strings.Contains(err.Error(), msgUnauthorized) || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: error %q, WWW-Authenticate %q", auth, err, resp.Header.Get("WWW-Authenticate"))
		}
	}
	other := newClient(t, f.url, GuestAuth)
	other.Namespace = "someone-else"
	if _, resp, err := other.Actions.List("", &whisk.ActionListOptions{}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another namespace: %v %v", resp, err)
	}
}

func TestInitFailureAndTimeout(t *testing.T) {
	f := serve(t, Config{})
	code := "print('hi')"
	f.putAction(t, "withcode", 5000, &code)
	_, resp, err := f.client.Actions.Invoke("withcode", nil, true, false)
	if err == nil || resp.StatusCode != http.StatusBadGateway || !strings.Contains(err.Error(), "code built in") {
		t.Fatalf("invoke of an action whose /init fails: %v %v", resp.StatusCode, err)
	}
	f.putAction(t, "slow", 300, nil)
	start := time.Now()
	_, resp, err = f.client.Actions.Invoke("slow", map[string]any{"sleep": "3s"}, true, false)
	if err == nil || resp.StatusCode != http.StatusBadGateway || !strings.Contains(err.Error(), "exceeded its time limits of 300 milliseconds") {
		t.Fatalf("invoke past the time limit: %v %v", resp.StatusCode, err)
	}
	if el := time.Since(start); el > 2500*time.Millisecond {
		t.Errorf("time limit of 300 ms enforced after %v", el)
	}
	if s := f.ctl.Stats(); s.Idle != 0 {
		t.Errorf("%d containers kept warm after an init failure and a timeout; both must be destroyed", s.Idle)
	}
}

func TestWarmContainerPausedAndResumed(t *testing.T) {
	f := serve(t, Config{PauseGrace: 100 * time.Millisecond})
	f.putAction(t, "echo", 10000, nil)
	res, _, err := f.client.Actions.Invoke("echo", nil, true, true)
	if err != nil {
		t.Fatal(err)
	}
	pid := int(resultMap(t, res)["pid"].(float64))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if p, _ := proctest.Stat(pid); p.State == "T" {
			break
		}
		if time.Now().After(deadline) {
			p, _ := proctest.Stat(pid)
			t.Fatalf("idle container %d not paused after the grace period: state %q", pid, p.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := f.ctl.Stats(); s.Paused != 1 {
		t.Errorf("stats %+v, want one paused container", s)
	}
	res, _, err = f.client.Actions.Invoke("echo", nil, true, true)
	if err != nil {
		t.Fatalf("invoke on a paused container: %v", err)
	}
	if got := int(resultMap(t, res)["pid"].(float64)); got != pid {
		t.Errorf("second invoke ran in %d, want the resumed container %d", got, pid)
	}
}

// groupInvoke posts a group invoke and returns the packs' activation ids.
func groupInvoke(t *testing.T, f *fixture, name string, workers []map[string]any, g int) (int, GroupInvokeResponse) {
	t.Helper()
	req, err := f.client.NewRequest("POST", fmt.Sprintf("actions/%s?blocking=false&granularity=%d", name, g), map[string]any{"value": workers}, true)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out GroupInvokeResponse
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestGroupAdmittedWholeOrQueued(t *testing.T) {
	f := serve(t, Config{Cores: 4})
	f.putAction(t, "echo", 20000, nil)
	workers := func(n int, sleep string) []map[string]any {
		var w []map[string]any
		for i := range n {
			w = append(w, map[string]any{"rank": i, "sleep": sleep})
		}
		return w
	}
	// A: 6 workers, g=2 -> 3 packs, 3 of the 4 cores for ~1 s. B: 3 packs
	// too; one core is free, but B must wait for all three.
	code, a := groupInvoke(t, f, "echo", workers(6, "1s"), 2)
	if code != http.StatusAccepted || len(a.ActivationIDs) != 3 {
		t.Fatalf("group A: %d %+v", code, a)
	}
	time.Sleep(100 * time.Millisecond)
	code, b := groupInvoke(t, f, "echo", workers(5, "0s"), 2)
	if code != http.StatusAccepted || len(b.ActivationIDs) != 3 {
		t.Fatalf("group B: %d %+v", code, b)
	}
	var aEnds []int64
	for _, id := range a.ActivationIDs {
		rec := waitActivation(t, f.client, id)
		if !rec.Response.Success || rec.Cause != a.Group {
			t.Fatalf("A pack %s: %+v", id, rec)
		}
		if n := resultMap(t, rec.Response.Result)["n"]; n != 2.0 {
			t.Errorf("A pack got %v workers, want 2", n)
		}
		aEnds = append(aEnds, rec.End)
	}
	slices.Sort(aEnds)
	// B needs 3 cores: it may start only once two of A's packs are done.
	admitted := aEnds[1]
	sizes := map[float64]int{}
	for _, id := range b.ActivationIDs {
		rec := waitActivation(t, f.client, id)
		m := resultMap(t, rec.Response.Result)
		sizes[m["n"].(float64)]++
		if startMs := int64(m["start_ns"].(float64) / 1e6); startMs < admitted {
			t.Errorf("a pack of group B started at %d, before 3 cores were free at %d: B was admitted half-way", startMs, admitted)
		}
	}
	if sizes[2] != 2 || sizes[1] != 1 {
		t.Errorf("B's packs had sizes %v, want two of 2 and one of 1", sizes)
	}
	if code, _ := groupInvoke(t, f, "echo", workers(5, "0s"), 1); code != http.StatusBadRequest {
		t.Errorf("a group of 5 containers on 4 cores: %d, want 400", code)
	}

	// The same two jobs as single activations: B's first pack takes the
	// free core at once, while A still runs: a half-started group.
	var singlesA []string
	for range 3 {
		res, _, err := f.client.Actions.Invoke("echo", map[string]any{"sleep": "2s"}, false, false)
		if err != nil {
			t.Fatal(err)
		}
		singlesA = append(singlesA, resultMap(t, res)["activationId"].(string))
	}
	time.Sleep(100 * time.Millisecond)
	res, _, err := f.client.Actions.Invoke("echo", map[string]any{}, false, false)
	if err != nil {
		t.Fatal(err)
	}
	firstB := waitActivation(t, f.client, resultMap(t, res)["activationId"].(string))
	started := int64(resultMap(t, firstB.Response.Result)["start_ns"].(float64) / 1e6)
	for _, id := range singlesA {
		if rec := waitActivation(t, f.client, id); started >= rec.End {
			t.Errorf("a single activation waited for %s to end; it should have taken the free core", id)
		}
	}
}
