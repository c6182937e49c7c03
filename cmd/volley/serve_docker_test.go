package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/volley-run/volley/invoker/controller"
	"github.com/volley-run/volley/invoker/docker"
)

// serverNetwork finds the bridge network that the `volley serve` process
// pid made (by its owner label) and returns its name and gateway.
func serverNetwork(t *testing.T, pid int) (name, gateway string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		out, err := exec.Command("docker", "network", "ls", "--filter", "label="+docker.LabelOwner,
			"--format", `{{.Name}} {{.Label "`+docker.LabelOwner+`"}}`).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && strings.HasPrefix(f[1], fmt.Sprintf("%d:", pid)) {
				gw, err := exec.Command("docker", "network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", f[0]).Output()
				if err != nil {
					t.Fatal(err)
				}
				return f[0], strings.TrimSpace(string(gw))
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no docker network made by volley serve (pid %d)", pid)
	return "", ""
}

// TestServeOnDocker runs a group through the openwhisk backend against
// `volley serve --runtime docker`: every activation is a Docker container
// of the worker image, and nothing the server made is left once it stops.
func TestServeOnDocker(t *testing.T) {
	needDockerImage(t)
	var network string
	t.Cleanup(func() { // runs after the server has stopped
		if network == "" {
			return
		}
		if left := dockerLeft(t, docker.LabelRuntime, network); len(left) > 0 {
			t.Errorf("docker objects left by volley serve: %v", left)
		}
	})
	s := startServe(t, "--runtime", "docker", "--image", dockerTestImage)
	network, gateway := serverNetwork(t, s.r.cmd.Process.Pid)
	r := s.run(t, "hello", "-n", "8", "-g", "4", "--json", "--auth", controller.GuestAuth,
		"--image", dockerTestImage, "--bind-addr", gateway, "--transport", "tcp")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		Containers int
		Ranks      []struct {
			Result struct {
				Rank, Pack int
				Host       string
			}
			Error string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if out.Containers != 2 || len(out.Ranks) != 8 {
		t.Fatalf("%d containers, %d ranks; want 2 and 8", out.Containers, len(out.Ranks))
	}
	hosts := map[int]string{}
	for i, rr := range out.Ranks {
		if rr.Error != "" || rr.Result.Rank != i {
			t.Fatalf("rank %d: %+v", i, rr)
		}
		hosts[rr.Result.Pack] = rr.Result.Host
	}
	if hosts[0] == "" || hosts[0] == hosts[1] {
		t.Errorf("packs ran on hosts %v; want two different containers", hosts)
	}
}
