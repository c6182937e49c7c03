package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/volley-run/volley/invoker/controller"
)

// served is a `volley serve` process started by a test on loopback.
type served struct {
	r       *running
	apihost string
}

// startServe runs `volley serve` on a free loopback port and waits until
// its API answers. Cleanup stops it and checks that it exits 0 and leaves
// no process of the binary behind.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	// The server picks its own port and says which (a port picked here
	// and closed could be taken by another test before the server binds
	// it: the docker runtime sets up its network first).
	addrFile := filepath.Join(t.TempDir(), "addr")
	s := &served{r: start(t, append([]string{"serve", "--listen", "127.0.0.1:0", "--addr-file", addrFile}, args...)...)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(addrFile)
		if err == nil {
			s.apihost = "http://" + strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			_ = s.r.cmd.Process.Kill()
			r := s.r.wait(t)
			t.Fatalf("volley serve did not write its address: %v\nstderr: %s", err, r.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(s.apihost + "/api/v1")
	if err != nil {
		t.Fatalf("volley serve does not answer on %s: %v", s.apihost, err)
	}
	resp.Body.Close()
	t.Cleanup(func() {
		_ = s.r.cmd.Process.Signal(syscall.SIGTERM)
		r := s.r.wait(t) // checks for leftover processes and files
		if r.code != 0 {
			t.Errorf("volley serve exited %d after SIGTERM: %s", r.code, r.stderr)
		}
	})
	return s
}

// runAgainst runs `volley run` against s, without the leftover-process
// check (the server and its warm containers are still running).
func (s *served) run(t *testing.T, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, volleyBin, append([]string{"run", "--backend", "openwhisk", "--apihost", s.apihost, "--quiet"}, args...)...)
	cmd.Env = append(cmd.Environ(), "HOME="+t.TempDir(), "WSK_CONFIG_FILE=", "__OW_API_KEY=", "__OW_API_HOST=")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliRun{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// openwhiskApps are the apps run on both backends and compared. Each
// entry's key maps a rank's result to what must be equal across backends
// (hello's pid and host differ by nature). Add an app here to cover it.
var openwhiskApps = []struct {
	app  string
	args []string
	key  func(result json.RawMessage) (string, error)
}{
	{"hello", []string{"-n", "7", "-g", "3"}, func(r json.RawMessage) (string, error) {
		var v struct{ Rank, Size, Pack int }
		err := json.Unmarshal(r, &v)
		return fmt.Sprintf("%+v", v), err
	}},
	// An in-memory TeraSort of generated records: each rank's share of
	// the sorted output and the job's checksum must not depend on where
	// the containers run.
	{"terasort", []string{"-n", "6", "-g", "4", "-p", "records=20000"}, func(r json.RawMessage) (string, error) {
		var v struct {
			Rank       int   `json:"rank"`
			RecordsIn  int64 `json:"records_in"`
			RecordsOut int64 `json:"records_out"`
			Validated  bool  `json:"validated"`
			Job        *struct {
				Records  int64  `json:"records"`
				Checksum string `json:"checksum"`
			} `json:"job"`
		}
		err := json.Unmarshal(r, &v)
		s := fmt.Sprintf("rank %d in %d out %d validated %v", v.Rank, v.RecordsIn, v.RecordsOut, v.Validated)
		if v.Job != nil {
			s += fmt.Sprintf(" job %d %s", v.Job.Records, v.Job.Checksum)
		}
		return s, err
	}},
}

func TestOpenWhiskBackendMatchesLocal(t *testing.T) {
	// The local runs go first: their check for leftover processes would
	// see the server's.
	locals := map[string]cliRun{}
	for _, c := range openwhiskApps {
		locals[c.app] = volley(t, append([]string{"run", c.app, "--json"}, c.args...)...)
	}
	s := startServe(t)
	for _, c := range openwhiskApps {
		for _, mode := range []string{"auto", "off"} {
			t.Run(c.app+"/group-invoke-"+mode, func(t *testing.T) {
				local := locals[c.app]
				ow := s.run(t, append([]string{c.app, "--json", "--auth", controller.GuestAuth, "--group-invoke", mode}, c.args...)...)
				if local.code != 0 || ow.code != 0 {
					t.Fatalf("exit local %d, openwhisk %d\nlocal: %s\nopenwhisk: %s", local.code, ow.code, local.stderr, ow.stderr)
				}
				var lr, or struct {
					Containers int
					Ranks      []struct {
						Rank   int
						Result json.RawMessage
						Error  string
					}
				}
				if err := json.Unmarshal([]byte(local.stdout), &lr); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal([]byte(ow.stdout), &or); err != nil {
					t.Fatalf("openwhisk --json: %v\n%s", err, ow.stdout)
				}
				if len(lr.Ranks) != len(or.Ranks) || lr.Containers != or.Containers {
					t.Fatalf("local: %d ranks in %d containers; openwhisk: %d in %d", len(lr.Ranks), lr.Containers, len(or.Ranks), or.Containers)
				}
				for i := range lr.Ranks {
					lk, err1 := c.key(lr.Ranks[i].Result)
					ok, err2 := c.key(or.Ranks[i].Result)
					if err1 != nil || err2 != nil || lk != ok || or.Ranks[i].Error != "" {
						t.Errorf("rank %d: local %s, openwhisk %s %q (%v %v)", i, lk, ok, or.Ranks[i].Error, err1, err2)
					}
				}
			})
		}
	}
	// Every pack was one activation; the server's /metrics counts them.
	activations := 0
	for _, c := range openwhiskApps {
		n, g := 0, 0
		fmt.Sscan(c.args[1], &n)
		fmt.Sscan(c.args[3], &g)
		activations += 2 * ((n + g - 1) / g) // group-invoke auto and off
	}
	fams := scrapeMetrics(t, s.apihost+"/metrics")
	got := fams["volley_serve_activations_total"]
	if got == nil || got.GetMetric()[0].GetCounter().GetValue() != float64(activations) {
		t.Errorf("volley serve /metrics: activations %v, want %d", got, activations)
	}
	if fams["go_goroutines"] == nil || fams["process_open_fds"] == nil {
		t.Error("volley serve /metrics lacks the Go runtime's and the process's figures")
	}
}

func TestOpenWhiskBackendErrors(t *testing.T) {
	s := startServe(t)
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"wrong credential", []string{"--auth", "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:wrong"}, 1,
			[]string{"HTTP 401", "The supplied authentication is invalid", "--auth"}},
		{"no credential", nil, 2, []string{"no OpenWhisk credential", "--auth"}},
		{"container that is not a worker", []string{"--auth", controller.GuestAuth, "--action", "notworker", "--image", "/bin/true"}, 1,
			[]string{"whisk internal error", "Failed to provision"}},
		{"run past its time limit", []string{"--auth", controller.GuestAuth, "--action", "short", "--action-timeout", "1s", "-p", "sleep=5s"}, 1,
			[]string{"action developer error", "exceeded its time limits of 1000 milliseconds"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.run(t, append([]string{"hello", "-n", "2", "-g", "1"}, c.args...)...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d; stderr: %s", r.code, c.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr+r.stdout, w) {
					t.Errorf("output does not say %q:\n%s%s", w, r.stdout, r.stderr)
				}
			}
		})
	}
}
