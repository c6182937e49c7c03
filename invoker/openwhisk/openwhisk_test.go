package openwhisk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/controller"
	"github.com/volley-run/volley/invoker/local"
	"github.com/volley-run/volley/invoker/proctest"
)

// The test binary doubles as the worker image: started with envTestWorker=1
// it serves the action protocol with the Volley pack runner.
const envTestWorker = "VOLLEY_OPENWHISK_TEST_WORKER"

func init() {
	group.Register(group.App{Name: "test-ring", Summary: "passes a token around the ring; returns rank, size, pack and what it got",
		Run: func(ctx context.Context, w *group.Worker) (any, error) {
			c := w.Comm()
			next, prev := (c.Rank()+1)%c.Size(), (c.Rank()+c.Size()-1)%c.Size()
			m, err := c.SendRecv(ctx, next, 0, []byte(fmt.Sprint(c.Rank())), prev, 0)
			if err != nil {
				return nil, err
			}
			return map[string]any{"rank": w.Rank(), "size": w.Size(), "pack": w.Pack().Index, "got": string(m.Data)}, nil
		}})
}

func TestMain(m *testing.M) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	proctest.ServeIfWorker(envTestWorker, action.PackRunner(log), log, os.Stdout, os.Stderr)
	goleak.VerifyTestMain(m)
}

// startServe runs the embedded controller on loopback with this binary as
// the worker, as `volley serve` does, and returns its API host.
func startServe(t *testing.T, cores int) (string, *controller.Controller) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := local.New(local.Config{Binary: exe, Args: []string{}, Env: []string{envTestWorker + "=1"}})
	if err != nil {
		t.Fatal(err)
	}
	// Images that are paths are executables (as with `volley serve
	// --runtime process`); others run this binary.
	resolve := func(image string) string {
		if strings.HasPrefix(image, "/") {
			return image
		}
		return ""
	}
	ctl, err := controller.New(controller.Config{Factory: rt, Cores: cores, ResolveImage: resolve})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: ctl.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		ctl.Close()
		rt.Close()
	})
	return "http://" + ln.Addr().String(), ctl
}

// noWskprops keeps the developer's ~/.wskprops out of the test.
func noWskprops(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("WSK_CONFIG_FILE", "")
	for _, k := range []string{"__OW_API_HOST", "__OW_API_KEY", "__OW_NAMESPACE"} {
		t.Setenv(k, "")
	}
}

func TestGroupRunsThroughClientGo(t *testing.T) {
	noWskprops(t)
	host, ctl := startServe(t, 0)
	spec := group.Spec{App: "test-ring", Workers: 7, Granularity: 3, Transport: "tcp"}
	for _, mode := range []string{"on", "off"} {
		t.Run("group-invoke-"+mode, func(t *testing.T) {
			before := ctl.Stats()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rt, err := New(ctx, Config{APIHost: host, Auth: controller.GuestAuth, GroupInvoke: mode})
			if err != nil {
				t.Fatal(err)
			}
			if rt.GroupEndpoint() != (mode == "on") {
				t.Fatalf("group endpoint used = %v with group invoke %s", rt.GroupEndpoint(), mode)
			}
			res, err := group.Launch(ctx, spec, rt)
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			for _, rr := range res.Ranks {
				var v struct {
					Rank, Size, Pack int
					Got              string
				}
				if err := json.Unmarshal(rr.Result, &v); err != nil {
					t.Fatal(err)
				}
				if v.Rank != rr.Rank || v.Size != 7 || v.Pack != rr.Rank/3 || v.Got != fmt.Sprint((rr.Rank+6)%7) {
					t.Errorf("rank %d answered %+v", rr.Rank, v)
				}
			}
			if len(res.Packs) != 3 || len(res.Packs[0].Container.ID) != 32 {
				t.Errorf("packs %+v: want 3, each named by its activation id", res.Packs)
			}
			after := ctl.Stats()
			if groups := after.Groups - before.Groups; groups != map[string]int{"on": 1, "off": 0}[mode] {
				t.Errorf("%d group invokes reached the server, group invoke %s", groups, mode)
			}
		})
	}
	// The second run found the pool warm.
	if s := ctl.Stats(); s.WarmStarts < 3 {
		t.Errorf("stats %+v: the second group should have reused the first one's containers", s)
	}
}

func TestWrongCredential(t *testing.T) {
	noWskprops(t)
	host, _ := startServe(t, 0)
	_, err := New(context.Background(), Config{APIHost: host, Auth: "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:not-the-key"})
	if !errors.Is(err, ErrAPI) || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "--auth") {
		t.Fatalf("err = %v, want an API error naming 401 and how to fix it", err)
	}
}

func TestConfigSources(t *testing.T) {
	noWskprops(t)
	if _, err := (Config{}).Resolve(); err == nil || !strings.Contains(err.Error(), "--apihost") {
		t.Fatalf("no configuration: err = %v, want one naming --apihost", err)
	}
	props := filepath.Join(t.TempDir(), "props")
	if err := os.WriteFile(props, []byte("APIHOST=http://file:1\nAUTH=u:k\nNAMESPACE=team\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WSK_CONFIG_FILE", props)
	c, err := Config{}.Resolve()
	if err != nil || c.APIHost != "http://file:1" || c.Auth != "u:k" || c.Namespace != "team" {
		t.Fatalf("from WSK_CONFIG_FILE: %+v %v", c, err)
	}
	t.Setenv("__OW_API_HOST", "http://env:2")
	c, err = Config{Auth: "flag:key"}.Resolve()
	if err != nil || c.APIHost != "http://env:2" || c.Auth != "flag:key" {
		t.Fatalf("flags over env over file: %+v %v", c, err)
	}
	t.Setenv("WSK_CONFIG_FILE", filepath.Join(t.TempDir(), "missing"))
	if _, err := (Config{}).Resolve(); err == nil || !strings.Contains(err.Error(), "WSK_CONFIG_FILE") {
		t.Fatalf("missing WSK_CONFIG_FILE: err = %v", err)
	}
}

func TestActivationFailureNamesTheCause(t *testing.T) {
	noWskprops(t)
	host, _ := startServe(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// An image that exists but is not a Volley worker: the container never
	// reports an address, and the activation fails as a whisk error.
	rt, err := New(ctx, Config{APIHost: host, Auth: controller.GuestAuth, Action: "broken", Image: "/bin/true"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := group.Launch(ctx, group.Spec{App: "test-ring", Workers: 2, Granularity: 1, Transport: "tcp", ReadyTimeout: 20 * time.Second}, rt)
	if err != nil {
		t.Fatal(err)
	}
	err = res.Err()
	if err == nil || !strings.Contains(err.Error(), "whisk internal error") || !strings.Contains(err.Error(), "Failed to provision") {
		t.Fatalf("err = %v, want the activation's whisk error", err)
	}
}

// staggered delays each replica's RunPack by its place in order, so the
// tasks reach the runtime in that order. The delay ignores ctx: a replica
// preempted meanwhile still reaches the runtime, as it does without the
// delay.
type staggered struct {
	group.Runtime
	order [][2]int // pack, replica
	step  time.Duration
}

func (s staggered) RunPack(ctx context.Context, task group.PackTask) (group.PackResult, error) {
	for i, k := range s.order {
		if k == [2]int{task.Pack.Index, task.Replica} {
			time.Sleep(time.Duration(i) * s.step)
		}
	}
	return s.Runtime.RunPack(ctx, task)
}

// TestSpeculationThroughGroupEndpoint runs start-up speculation through
// the group endpoint with both replicas of pack 0 arriving first: only
// the first replica of each pack goes in the group invoke (a batch slotted
// by pack would fill with pack 0 twice and send pack 1 as an all-zero
// task), the others as single activations. The group invoke goes out even
// when pack 0's second replica wins before pack 1's first arrives.
func TestSpeculationThroughGroupEndpoint(t *testing.T) {
	noWskprops(t)
	host, ctl := startServe(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, err := New(ctx, Config{APIHost: host, Auth: controller.GuestAuth, GroupInvoke: "on"})
	if err != nil {
		t.Fatal(err)
	}
	before := ctl.Stats()
	srt := staggered{Runtime: rt, order: [][2]int{{0, 1}, {0, 0}, {1, 0}, {1, 1}}, step: 100 * time.Millisecond}
	spec := group.Spec{App: "test-ring", Workers: 4, Granularity: 2, Transport: "tcp", ReadyTimeout: 30 * time.Second,
		Speculation: group.Speculation{Replicas: 2}}
	res, err := group.Launch(ctx, spec, srt)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("%v; replicas %+v", err, res.Replicas)
	}
	if res.Speculation.Won != 2 || len(res.Replicas) != 4 {
		t.Errorf("speculation %+v, replicas %+v: want 4 replicas, 2 winners", res.Speculation, res.Replicas)
	}
	if groups := ctl.Stats().Groups - before.Groups; groups != 1 {
		t.Errorf("%d group invokes reached the server, want 1 (the first flight)", groups)
	}
}
