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
