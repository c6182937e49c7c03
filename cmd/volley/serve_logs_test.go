package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"

	"github.com/volley-run/volley/invoker/controller"
)

// TestServeActivationLogs runs `volley serve --log-level info` with its
// real worker (`volley worker`) and reads activation logs through
// openwhisk-client-go, as `wsk activation logs ID` does: the worker's
// "activation failed" line comes back, on stderr, with an RFC 3339 time
// padded to 30 columns and no sentinel, and two activations on the same
// warm container each get only their own line.
func TestServeActivationLogs(t *testing.T) {
	s := startServe(t, "--log-level", "info")
	c, err := whisk.NewClient(&http.Client{Timeout: time.Minute}, &whisk.Config{Host: s.apihost, AuthToken: controller.GuestAuth, Namespace: "_"})
	if err != nil {
		t.Fatal(err)
	}
	timeout := 10000
	if _, _, err := c.Actions.Insert(&whisk.Action{Name: "worker", Exec: &whisk.Exec{Kind: "blackbox", Image: "volley-worker:dev"},
		Limits: &whisk.Limits{Timeout: &timeout}}, true); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^(\S+) +(stdout|stderr): (.*)$`)
	for i := range 2 {
		// Not a pack task: the worker's run fails at once.
		res, _, err := c.Actions.Invoke("worker", map[string]any{"group": i}, false, false)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.(map[string]any)["activationId"].(string)
		var rec *whisk.Activation
		for deadline := time.Now().Add(30 * time.Second); ; {
			var resp *http.Response
			rec, resp, err = c.Activations.Get(id)
			if err == nil {
				break
			}
			if resp == nil || resp.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
				t.Fatalf("activation %s: %v", id, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if rec.Response.Status != "application error" {
			t.Fatalf("activation %s: %+v, want an application error", id, rec.Response)
		}
		logs, _, err := c.Activations.Logs(id)
		if err != nil {
			t.Fatal(err)
		}
		if len(logs.Logs) != 1 {
			t.Fatalf("activation %d: %d log lines, want its one: %q", i, len(logs.Logs), logs.Logs)
		}
		l := logs.Logs[0]
		t.Logf("activation %d: %s", i, l)
		m := line.FindStringSubmatch(l)
		if m == nil || l[30] != ' ' || m[2] != "stderr" {
			t.Fatalf("line %q is not \"<time, 30 columns> stderr: text\"", l)
		}
		if ts, err := time.Parse(time.RFC3339Nano, m[1]); err != nil || time.Since(ts) > time.Minute || time.Since(ts) < 0 {
			t.Errorf("line %q: time %s: %v", l, m[1], err)
		}
		for _, want := range []string{"level=WARN", `msg="activation failed"`, "activation=" + id, "value is not a pack task"} {
			if !strings.Contains(m[3], want) {
				t.Errorf("line %q does not say %s", l, want)
			}
		}
		if strings.Contains(l, "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX") {
			t.Errorf("line %q is a sentinel", l)
		}
		// The first activation started the container; the second ran in
		// it, warm (no initTime).
		if cold := rec.Annotations.GetValue("initTime") != nil; cold != (i == 0) {
			t.Errorf("activation %d: cold start %v", i, cold)
		}
	}
}
