package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/volley-run/volley/invoker/docker"
)

// dockerTestImage is the worker image the docker tests build, once per
// test binary run, and leave in place.
const dockerTestImage = "volley-worker:test"

// needDockerImage skips where no engine answers and builds the image.
func needDockerImage(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := docker.Ping(ctx, ""); err != nil {
		t.Skipf("skipped: %v", err)
	}
	if out, err := exec.Command("../../deploy/build-image.sh", dockerTestImage).CombinedOutput(); err != nil {
		t.Fatalf("deploy/build-image.sh: %v: %s", err, out)
	}
}

// dockerLeft lists what carries label=value in Docker: containers and
// networks.
func dockerLeft(t *testing.T, label, value string) []string {
	t.Helper()
	var left []string
	for _, q := range [][]string{{"ps", "-a", "-q"}, {"network", "ls", "-q"}} {
		out, err := exec.Command("docker", append(q, "--filter", "label="+label+"="+value)...).Output()
		if err != nil {
			t.Fatal(err)
		}
		left = append(left, strings.Fields(string(out))...)
	}
	return left
}

func TestHelloOnDocker(t *testing.T) {
	needDockerImage(t)
	r := volley(t, "run", "hello", "-n", "64", "-g", "8", "--backend", "docker", "--image", dockerTestImage, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		Group      string `json:"group"`
		Containers int    `json:"containers"`
		Cold       int    `json:"cold"`
		Packs      []struct {
			Container struct {
				ID    string `json:"id"`
				Start string `json:"start"`
			} `json:"container"`
		} `json:"packs"`
		Ranks []struct {
			Rank   int `json:"rank"`
			Result struct {
				Pack int    `json:"pack"`
				Host string `json:"host"`
			} `json:"result"`
		} `json:"ranks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if out.Containers != 8 || out.Cold != 8 || len(out.Ranks) != 64 || len(out.Packs) != 8 {
		t.Fatalf("containers %d cold %d packs %d ranks %d, want 8 8 8 64", out.Containers, out.Cold, len(out.Packs), len(out.Ranks))
	}
	hosts := map[string]int{}
	for _, rr := range out.Ranks {
		if p, ok := hosts[rr.Result.Host]; ok && p != rr.Result.Pack {
			t.Fatalf("host %s ran packs %d and %d", rr.Result.Host, p, rr.Result.Pack)
		}
		hosts[rr.Result.Host] = rr.Result.Pack
	}
	if len(hosts) != 8 {
		t.Fatalf("%d distinct hosts, want one per pack: %v", len(hosts), hosts)
	}
	ids := map[string]bool{}
	for _, p := range out.Packs {
		ids[p.Container.ID] = true
	}
	if len(ids) != 8 {
		t.Fatalf("%d distinct containers ran the 8 packs", len(ids))
	}
	runtimeID := out.Packs[0].Container.ID[:strings.LastIndexByte(out.Packs[0].Container.ID, '-')]
	if left := append(dockerLeft(t, docker.LabelGroup, out.Group), dockerLeft(t, docker.LabelRuntime, runtimeID)...); len(left) > 0 {
		t.Fatalf("volley run left containers or networks: %v", left)
	}
}

func TestDockerMissingImage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := docker.Ping(ctx, ""); err != nil {
		t.Skipf("skipped: %v", err)
	}
	r := volley(t, "run", "hello", "--backend", "docker", "--image", "volley-worker:no-such-tag")
	if r.code != 1 || !strings.Contains(r.stderr, "build-image.sh") {
		t.Fatalf("exit %d, stderr %q: want 1 and how to build the image", r.code, r.stderr)
	}
}
