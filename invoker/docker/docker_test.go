package docker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	_ "github.com/volley-run/volley/apps/all" // the launcher side must know hello and collcheck
	"github.com/volley-run/volley/comm/membership"
	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/proctest"
	"github.com/volley-run/volley/invoker/sandbox"
	"github.com/volley-run/volley/invoker/sandbox/sandboxtest"
)

// testImage is the worker image these tests build once per test binary
// run (deploy/build-image.sh) and leave in place for the next run.
const testImage = "volley-worker:test"

// envCrash makes the test binary a launcher that starts a container and
// waits to be killed (TestSweepAfterCrash).
const envCrash = "VOLLEY_DOCKER_TEST_CRASH"

var (
	// noEngine, when set, is why the tests skip.
	noEngine  string
	imageOnce sync.Once
	imageErr  error
)

func TestMain(m *testing.M) {
	if os.Getenv(envCrash) == "1" {
		crashingLauncher()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if _, err := Ping(ctx, ""); err != nil {
		noEngine = err.Error()
	}
	cancel()
	goleak.VerifyTestMain(m)
}

// needImage skips without an engine and builds the test image once.
func needImage(t *testing.T) {
	t.Helper()
	if noEngine != "" {
		t.Skipf("skipped: %s", noEngine)
	}
	imageOnce.Do(func() {
		out, err := exec.Command("../../deploy/build-image.sh", testImage).CombinedOutput()
		if err != nil {
			imageErr = fmt.Errorf("deploy/build-image.sh: %v: %s", err, out)
		}
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	t.Cleanup(func() { checkNothingLeft(t) })
}

// checkNothingLeft fails the test if a container or network this process
// made is still there, or a dangling Volley image layer exists.
func checkNothingLeft(t *testing.T) {
	t.Helper()
	e := engine{"docker"}
	ctx := context.Background()
	for _, q := range [][]string{
		{"ps", "-a", "-q", "--filter", "label=" + LabelOwner + "=" + owner},
		{"network", "ls", "-q", "--filter", "label=" + LabelOwner + "=" + owner},
		{"images", "-a", "-q", "--filter", "label=" + LabelImage, "--filter", "dangling=true"},
	} {
		out, err := e.run(ctx, q...)
		if err != nil {
			t.Errorf("docker %s: %v", strings.Join(q, " "), err)
		} else if out != "" {
			t.Errorf("left behind (docker %s): %s", strings.Join(q, " "), strings.Join(lines(out), " "))
		}
	}
}

func newTestRuntime(t *testing.T, cfg Config) *Runtime {
	t.Helper()
	needImage(t)
	cfg.Image = testImage
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return rt
}

// inspect returns one field of `docker inspect` for a container.
func inspect(t *testing.T, name, format string) string {
	t.Helper()
	out, err := engine{"docker"}.run(context.Background(), "inspect", "--format", format, name)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runtimeContainers lists the names of a runtime's containers.
func runtimeContainers(t *testing.T, rt *Runtime, extra ...string) []string {
	t.Helper()
	args := append([]string{"ps", "-a", "--filter", "label=" + LabelRuntime + "=" + rt.ID(), "--format", "{{.Names}}"}, extra...)
	out, err := rt.eng.run(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return lines(out)
}

func TestHelloPackedInContainers(t *testing.T) {
	rt := newTestRuntime(t, Config{})
	ctx := context.Background()
	spec := group.Spec{App: "hello", Workers: 64, Granularity: 8, Timeout: time.Minute}
	res, err := group.Launch(ctx, spec, rt, group.BindAddr(rt.BindAddr()))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if res.Containers != 8 || res.Cold != 8 || len(res.Ranks) != 64 {
		t.Fatalf("containers %d cold %d ranks %d, want 8, 8, 64", res.Containers, res.Cold, len(res.Ranks))
	}
	if names := runtimeContainers(t, rt); len(names) != 8 {
		t.Fatalf("%d containers exist, want exactly 8: %v", len(names), names)
	}
	hostOfPack := map[int]string{}
	packOfHost := map[string]int{}
	for _, rr := range res.Ranks {
		var r struct {
			Rank int    `json:"rank"`
			Pack int    `json:"pack"`
			Host string `json:"host"`
		}
		if err := json.Unmarshal(rr.Result, &r); err != nil {
			t.Fatalf("rank %d: %v", rr.Rank, err)
		}
		if r.Rank != rr.Rank || r.Pack != rr.Rank/8 {
			t.Fatalf("rank %d answered as rank %d of pack %d", rr.Rank, r.Rank, r.Pack)
		}
		if h, ok := hostOfPack[r.Pack]; ok && h != r.Host {
			t.Fatalf("pack %d ran on two hosts, %s and %s", r.Pack, h, r.Host)
		}
		if p, ok := packOfHost[r.Host]; ok && p != r.Pack {
			t.Fatalf("host %s ran packs %d and %d", r.Host, p, r.Pack)
		}
		hostOfPack[r.Pack], packOfHost[r.Host] = r.Host, r.Pack
	}
	for _, p := range res.Packs {
		if p.Container.Start != group.StartCold {
			t.Errorf("pack %d: start %q, want cold", p.Pack, p.Container.Start)
		}
	}
	name := res.Packs[0].Container.ID
	if mem := inspect(t, name, "{{.HostConfig.Memory}} {{.HostConfig.CpuShares}}"); mem != fmt.Sprint(256<<20, " ", 1024) {
		t.Errorf("memory and CPU shares %s, want 256 MiB and 1024", mem)
	}

	// Idle containers are paused after the grace; the next group
	// resumes them.
	deadline := time.Now().Add(10 * time.Second)
	for rt.Stats().Paused != 8 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if paused := runtimeContainers(t, rt, "--filter", "status=paused"); len(paused) != 8 {
		t.Fatalf("%d idle containers paused, want 8 (%+v)", len(paused), rt.Stats())
	}
	res, err = group.Launch(ctx, spec, rt, group.BindAddr(rt.BindAddr()))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Packs {
		if p.Container.Start != group.StartPaused {
			t.Errorf("second group, pack %d: start %q, want paused", p.Pack, p.Container.Start)
		}
	}
	if s := rt.Stats(); s.ColdStarts != 8 || s.Unpauses != 8 {
		t.Errorf("stats %+v, want 8 cold starts and 8 unpauses", s)
	}
}

// failMidCollective runs collcheck on 4 packs, lets fault hit one of the
// containers once the group is running, and checks that the group fails,
// naming that container's pack, well within its deadline (half of it: the
// group must not merely run out of time). typical is the detection time
// expected on a quiet machine; a slower one is logged, not failed, since a
// loaded machine stretches every timer.
func failMidCollective(t *testing.T, fault func(rt *Runtime, name string) error, typical time.Duration) {
	rt := newTestRuntime(t, Config{})
	spec := group.Spec{App: "collcheck", Workers: 8, Granularity: 2, Timeout: time.Minute,
		Params: group.Params{"rounds": "1000000", "size": "100"}}
	type outcome struct {
		res *group.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := group.Launch(context.Background(), spec, rt, group.BindAddr(rt.BindAddr()))
		done <- outcome{res, err}
	}()
	for start := time.Now(); len(runtimeContainers(t, rt, "--filter", "status=running")) < 4; {
		select {
		case o := <-done:
			t.Fatalf("group ended before the fault: %v %v", o.err, o.res.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(start) > 30*time.Second {
			<-done // the group's deadline ends it
			t.Fatal("4 containers not running after 30 s")
		}
	}
	time.Sleep(time.Second) // well into the collectives
	victim := fmt.Sprintf("%s-%d", rt.ID(), 2)
	t0 := time.Now()
	if err := fault(rt, victim); err != nil {
		t.Fatal(err)
	}
	var o outcome
	select {
	case o = <-done:
	case <-time.After(spec.Timeout):
		t.Fatalf("group still running %v after the fault", spec.Timeout)
	}
	took := time.Since(t0)
	if o.err != nil {
		t.Fatal(o.err)
	}
	gerr := o.res.Err()
	if gerr == nil {
		t.Fatal("the group succeeded")
	}
	pack := -1
	for _, p := range o.res.Packs {
		if p.Container.ID == victim {
			pack = p.Pack
		}
	}
	if pack < 0 {
		t.Fatalf("no pack ran in %s: %+v", victim, o.res.Packs)
	}
	named := fmt.Sprintf("pack %d", pack)
	for _, rr := range o.res.Ranks {
		if !strings.Contains(rr.Error, named) {
			t.Errorf("rank %d error does not name %s: %q", rr.Rank, named, rr.Error)
		}
	}
	if took > spec.Timeout/2 {
		t.Errorf("group failed %v after the fault, want well within its deadline %v", took, spec.Timeout)
	} else if took > typical {
		t.Logf("detection took %v, above the %v expected on a quiet machine", took, typical)
	}
	t.Logf("failed %v after the fault: %v", took.Round(time.Millisecond), gerr)
}

func TestKilledContainerFailsGroup(t *testing.T) {
	failMidCollective(t, func(rt *Runtime, name string) error {
		_, err := rt.eng.run(context.Background(), "kill", name)
		return err
	}, 5*time.Second) // a broken data connection is seen at once
}

func TestPartitionedContainerFailsGroup(t *testing.T) {
	// memberlist declares a silent pack dead within its failure bound
	// (about 2.5 s for these 4 packs and the launcher with the default
	// timings); the rest is slack for a loaded machine.
	bound := membership.DefaultTiming().FailureBound(5) + 4*time.Second
	failMidCollective(t, func(rt *Runtime, name string) error {
		_, err := rt.eng.run(context.Background(), "network", "disconnect", "--force", rt.Network(), name)
		return err
	}, bound)
}

func TestSandboxPauseResumeDestroy(t *testing.T) {
	dir := t.TempDir()
	rt := newTestRuntime(t, Config{Volumes: []string{dir + ":/data:ro"}})
	ctx := context.Background()
	sb, err := rt.Start(ctx, sandbox.Spec{MemoryMB: 128, Labels: map[string]string{LabelGroup: "g-test"}})
	if err != nil {
		t.Fatal(err)
	}
	got := inspect(t, sb.ID(), `{{.HostConfig.Memory}} {{.HostConfig.CpuShares}} {{index .Config.Labels "volley.group"}} {{range .Mounts}}{{.Source}}:{{.Destination}}:{{.RW}}{{end}}`)
	if want := fmt.Sprint(128<<20, " 512 g-test ", dir, ":/data:false"); got != want {
		t.Errorf("memory, CPU shares, group label, mounts: %s, want %s", got, want)
	}
	client := action.NewClient(sb.Addr())
	if err := sb.Pause(ctx); err != nil {
		t.Fatalf("pause: %v", err)
	}
	if st := inspect(t, sb.ID(), "{{.State.Paused}}"); st != "true" {
		t.Fatalf("paused state %s", st)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = client.Init(short, action.InitValue{Name: "volley", Main: "main"})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("init of a paused container: got %v, want a deadline error", err)
	}
	if err := sb.Resume(ctx); err != nil {
		t.Fatalf("resume: %v", err)
	}
	initCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// The request sent while paused is answered first; a second /init is
	// then refused, which proves the container runs again.
	if err := client.Init(initCtx, action.InitValue{Name: "volley", Main: "main"}); err != nil && !strings.Contains(err.Error(), "status 403") {
		t.Fatalf("init after resume: %v", err)
	}
	sb.Destroy()
	select {
	case <-sb.Exited():
	default:
		t.Fatal("Destroy returned before the container was gone")
	}
	if names := runtimeContainers(t, rt); len(names) != 0 {
		t.Fatalf("containers left after Destroy: %v", names)
	}
	sb.Destroy() // a second call is harmless
}

func TestExitIsSeen(t *testing.T) {
	rt := newTestRuntime(t, Config{})
	sb, err := rt.Start(context.Background(), sandbox.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy()
	if _, err := rt.eng.run(context.Background(), "kill", sb.ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sb.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("a killed container was not seen to exit")
	}
	if err := sb.ExitErr(); err == nil || !strings.Contains(err.Error(), "137") {
		t.Errorf("exit error %v, want exit code 137", err)
	}
}

func TestNoImage(t *testing.T) {
	if noEngine != "" {
		t.Skipf("skipped: %s", noEngine)
	}
	_, err := New(context.Background(), Config{Image: "volley-worker:no-such-tag"})
	if !errors.Is(err, ErrNoImage) || !strings.Contains(err.Error(), "build-image.sh") {
		t.Fatalf("got %v, want ErrNoImage telling how to build it", err)
	}
}

// crashingLauncher is the child of TestSweepAfterCrash: it starts one
// container, says so, and waits to be killed.
func crashingLauncher() {
	ctx := context.Background()
	rt, err := New(ctx, Config{Image: testImage})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if _, err := rt.Start(ctx, sandbox.Spec{}); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("ready", rt.ID())
	time.Sleep(time.Minute)
	os.Exit(1)
}

func TestSweepAfterCrash(t *testing.T) {
	needImage(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envCrash+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	id, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if !ok {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("launcher said %q", line)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	e := engine{"docker"}
	ctx := context.Background()
	left := func() []string {
		c, err := e.run(ctx, "ps", "-a", "-q", "--filter", "label="+LabelRuntime+"="+id)
		if err != nil {
			t.Fatal(err)
		}
		n, err := e.run(ctx, "network", "ls", "-q", "--filter", "label="+LabelRuntime+"="+id)
		if err != nil {
			t.Fatal(err)
		}
		return append(lines(c), lines(n)...)
	}
	if l := left(); len(l) != 2 {
		t.Fatalf("the killed launcher left %d things, want its container and network: %v", len(l), l)
	}
	containers, networks, err := Sweep(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if containers < 1 || networks < 1 {
		t.Errorf("sweep removed %d containers and %d networks, want at least 1 of each", containers, networks)
	}
	if l := left(); len(l) != 0 {
		t.Fatalf("left after the sweep: %v", l)
	}
}

// TestSandboxActivationLogs: with a log limit, a Docker sandbox follows
// its container's log and cuts it at the sentinels the worker writes after
// each /run: two activations on one warm container each get only their
// own line, on its stream, stamped by the engine, with no sentinel; the
// follower ends with the container.
func TestSandboxActivationLogs(t *testing.T) {
	rt := newTestRuntime(t, Config{})
	ctx := context.Background()
	sb, err := rt.Start(ctx, sandbox.Spec{LogLimit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy()
	if drv := inspect(t, sb.ID(), "{{.HostConfig.LogConfig.Type}}"); drv != "json-file" {
		t.Errorf("log driver %s, want json-file", drv)
	}
	sandboxtest.CheckActivationLogs(t, ctx, sb)
	if kids := followers(t); len(kids) != 1 {
		t.Errorf("%d log followers run for one container: %v", len(kids), kids)
	}
	sb.Destroy()
	if kids := followers(t); len(kids) != 0 {
		t.Errorf("log followers left after Destroy: %v", kids)
	}
}

// followers lists the live child processes of this test process that
// follow a container's log.
func followers(t *testing.T) []string {
	t.Helper()
	var kids []string
	for _, p := range proctest.Children(t) {
		if strings.Contains(p.Cmdline, "logs --follow") {
			kids = append(kids, p.String())
		}
	}
	return kids
}

// TestConcurrentDestroysShareRemovals destroys containers all at once, as
// the packs of a large group do when it ends, through a docker CLI
// wrapper that logs its subcommands: every container goes, in fewer
// `docker rm` calls than containers.
func TestConcurrentDestroysShareRemovals(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "docker")
	script := fmt.Sprintf("#!/bin/sh\necho \"$1\" >>%s\nexec docker \"$@\"\n", calls)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	rt := newTestRuntime(t, Config{Docker: wrapper})
	const n = 6
	sbs := make([]sandbox.Sandbox, n)
	for i := range sbs {
		sb, err := rt.Start(context.Background(), sandbox.Spec{})
		if err != nil {
			t.Fatal(err)
		}
		sbs[i] = sb
	}
	var wg sync.WaitGroup
	for _, sb := range sbs {
		wg.Go(sb.Destroy)
	}
	wg.Wait()
	if names := runtimeContainers(t, rt); len(names) != 0 {
		t.Fatalf("containers left after Destroy: %v", names)
	}
	b, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	rms := strings.Count(string(b), "rm\n")
	t.Logf("%d containers destroyed in %d docker rm calls", n, rms)
	if rms == 0 || rms >= n {
		t.Errorf("%d containers destroyed at once took %d docker rm calls, want 1 to %d", n, rms, n-1)
	}
}
