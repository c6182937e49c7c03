package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRunSpeculate(t *testing.T) {
	r := volley(t, "run", "sleepexp", "-n", "4", "-g", "2", "-p", "mean_ms=20", "--speculate", "3", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		Ranks []struct {
			Rank   int             `json:"rank"`
			Result json.RawMessage `json:"result"`
			Error  string          `json:"error"`
		} `json:"ranks"`
		Replicas []struct {
			Pack    int    `json:"pack"`
			Replica int    `json:"replica"`
			Outcome string `json:"outcome"`
		} `json:"replicas"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if len(out.Ranks) != 4 {
		t.Fatalf("%d ranks", len(out.Ranks))
	}
	for i, rr := range out.Ranks {
		if rr.Rank != i || rr.Error != "" || len(rr.Result) == 0 {
			t.Errorf("rank %d: %+v", i, rr)
		}
	}
	won := map[int]int{}
	for _, rp := range out.Replicas {
		if rp.Outcome == "won" {
			won[rp.Pack]++
		}
	}
	if len(out.Replicas) != 6 || won[0] != 1 || won[1] != 1 {
		t.Errorf("replicas %+v: want 3 per pack, one winner each", out.Replicas)
	}

	human := volley(t, "run", "hello", "-n", "2", "--speculate", "2")
	if human.code != 0 || !strings.Contains(human.stdout, "speculative replicas: 4") || !strings.Contains(human.stdout, "won") {
		t.Errorf("human output (exit %d) lacks the replica table:\n%s", human.code, human.stdout)
	}
}

func TestRunSpeculateBadUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "hello", "-n", "2", "--speculate", "2", "--speculate-mode", "exec"}, "do not communicate"},
		{[]string{"run", "hello", "--speculate", "99"}, "--speculate"},
		{[]string{"run", "hello", "--speculate", "2", "--speculate-mode", "later"}, "speculation mode"},
		{[]string{"run", "hello", "--speculate", "2", "--speculate-after", "1.5"}, "--speculate-after"},
	} {
		r := volley(t, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("volley %v: exit %d, stderr %q; want exit 2 naming %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

func TestRSAKeygen(t *testing.T) {
	r := volley(t, "run", "rsakeygen", "-n", "2", "-p", "bits=1024", "--speculate", "2", "--speculate-mode", "exec", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		Ranks []struct {
			Result struct {
				Bits        int    `json:"bits"`
				Fingerprint string `json:"fingerprint"`
			} `json:"result"`
		} `json:"ranks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Ranks) != 2 {
		t.Fatalf("%d ranks", len(out.Ranks))
	}
	for i, rr := range out.Ranks {
		if rr.Result.Bits != 1024 || len(rr.Result.Fingerprint) != 32 {
			t.Errorf("rank %d: %+v", i, rr.Result)
		}
	}
	if out.Ranks[0].Result.Fingerprint == out.Ranks[1].Result.Fingerprint {
		t.Error("two ranks made the same key")
	}
	if bad := volley(t, "run", "rsakeygen", "-p", "bits=512"); bad.code != 1 || !strings.Contains(bad.stdout+bad.stderr, "bits must be in") {
		t.Errorf("bits=512: exit %d\n%s%s", bad.code, bad.stdout, bad.stderr)
	}
}
