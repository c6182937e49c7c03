package controller

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"

	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/actlog"
)

// logLine is a stored log line: "<RFC 3339 time padded to 30 columns>
// <stream>: <text>".
var logLine = regexp.MustCompile(`^(\S+) +(stdout|stderr): (.*)$`)

type parsedLine struct {
	t            time.Time
	stream, text string
}

// activationLogs fetches an activation's logs through client-go, once its
// record is stored, and checks each line's form.
func activationLogs(t *testing.T, c *whisk.Client, id string) []parsedLine {
	t.Helper()
	waitActivation(t, c, id)
	a, _, err := c.Activations.Logs(id)
	if err != nil {
		t.Fatalf("logs of %s: %v", id, err)
	}
	var out []parsedLine
	for _, l := range a.Logs {
		m := logLine.FindStringSubmatch(l)
		if m == nil || len(l) < 31 || l[30] != ' ' {
			t.Fatalf("log line %q is not \"<time, 30 columns> <stream>: <text>\"", l)
		}
		ts, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil || !strings.HasSuffix(m[1], "Z") {
			t.Fatalf("log line %q: time %q is not RFC 3339 UTC: %v", l, m[1], err)
		}
		if strings.Contains(l, action.LogSentinel) {
			t.Fatalf("log line %q is a sentinel", l)
		}
		out = append(out, parsedLine{ts, m[2], m[3]})
	}
	return out
}

func (f *fixture) putActionLogs(t *testing.T, name string, timeoutMs, logsMB int) {
	t.Helper()
	mem, conc := 256, 1
	_, _, err := f.client.Actions.Insert(&whisk.Action{Name: name,
		Exec:   &whisk.Exec{Kind: "blackbox", Image: "volley/test:1"},
		Limits: &whisk.Limits{Timeout: &timeoutMs, Memory: &mem, Concurrency: &conc, Logsize: &logsMB}}, true)
	if err != nil {
		t.Fatalf("insert %s: %v", name, err)
	}
}

// TestActivationLogs: what a worker prints during an activation comes back
// from /activations/{id}/logs, line by line with its time and stream and
// without the sentinels; two activations on one warm container each get
// only their own lines; a blocking reply carries logs [] as in OpenWhisk.
func TestActivationLogs(t *testing.T) {
	f := serve(t, Config{})
	f.putAction(t, "echo", 10000, nil)
	c := f.client

	// 1: an application error; the worker logs "activation failed" at
	// warn level on stderr.
	before := time.Now()
	_, resp, err := c.Actions.Invoke("echo", map[string]any{"stdout": []string{"hello from one"}, "fail": true}, true, false)
	if err == nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("failing invoke: %v %v", resp, err)
	}
	id1 := resp.Header.Get("x-openwhisk-activation-id")
	logs := activationLogs(t, c, id1)
	if len(logs) != 2 {
		t.Fatalf("activation 1: %d lines, want 2: %+v", len(logs), logs)
	}
	// Each stream is its own pipe: lines are in the order they arrived,
	// which across streams need not be the order they were printed.
	if logs[0].stream == "stderr" {
		logs[0], logs[1] = logs[1], logs[0]
	}
	if l := logs[0]; l.stream != "stdout" || l.text != "hello from one" {
		t.Errorf("activation 1: %+v, want stdout \"hello from one\"", l)
	}
	if l := logs[1]; l.stream != "stderr" || !strings.Contains(l.text, `msg="activation failed"`) ||
		!strings.Contains(l.text, "activation="+id1) || !strings.Contains(l.text, "asked to fail") {
		t.Errorf("activation 1: %+v, want the worker's \"activation failed\" on stderr", l)
	}
	for _, l := range logs {
		if l.t.Before(before.Add(-time.Second)) || l.t.After(time.Now()) {
			t.Errorf("line %+v stamped outside the activation (%v .. now)", l, before)
		}
	}

	// 2: a success on the same warm container; blocking, full record.
	res, _, err := c.Actions.Invoke("echo", map[string]any{"stdout": []string{"out two"}, "stderr": []string{"err two"}}, true, false)
	if err != nil {
		t.Fatal(err)
	}
	reply := resultMap(t, res)
	if l, ok := reply["logs"].([]any); !ok || len(l) != 0 {
		t.Errorf("blocking reply logs %v, want [] (OpenWhisk answers before reading them)", reply["logs"])
	}
	id2 := reply["activationId"].(string)
	logs = activationLogs(t, c, id2)
	got := map[string]string{}
	for _, l := range logs {
		got[l.stream] += l.text + ";"
	}
	if len(logs) != 2 || got["stdout"] != "out two;" || got["stderr"] != "err two;" {
		t.Errorf("activation 2 logs %+v, want only its own two lines", logs)
	}
	rec := waitActivation(t, c, id2)
	if len(rec.Logs) != 2 {
		t.Errorf("activation 2's record has logs %q", rec.Logs)
	}
	if s := f.ctl.Stats(); s.ColdStarts != 1 || s.WarmStarts != 1 {
		t.Errorf("stats %+v: the two activations did not share one warm container", s)
	}
}

func TestActivationLogsOff(t *testing.T) {
	f := serve(t, Config{})
	f.putActionLogs(t, "quiet", 10000, 0)
	a, _, err := f.client.Actions.Get("quiet", false)
	if err != nil || a.Limits.Logsize == nil || *a.Limits.Logsize != 0 {
		t.Fatalf("action with limits.logs 0: %+v %v", a, err)
	}
	for range 2 {
		res, _, err := f.client.Actions.Invoke("quiet", map[string]any{"stdout": []string{"not kept"}}, false, false)
		if err != nil {
			t.Fatal(err)
		}
		if logs := activationLogs(t, f.client, resultMap(t, res)["activationId"].(string)); len(logs) != 0 {
			t.Errorf("limits.logs 0: logs %+v, want none", logs)
		}
	}
}

// TestActivationLogsDeveloperError: after a developer error (here the time
// limit) nobody waits for sentinels: the logs hold what was printed and
// OpenWhisk's notice, and come without the idle deadline's delay.
func TestActivationLogsDeveloperError(t *testing.T) {
	f := serve(t, Config{})
	f.putAction(t, "slow", 300, nil)
	start := time.Now()
	_, resp, err := f.client.Actions.Invoke("slow", map[string]any{"stdout": []string{"before the sleep"}, "sleep": "5s"}, true, false)
	if err == nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("invoke past the time limit: %v %v", resp, err)
	}
	logs := activationLogs(t, f.client, resp.Header.Get("x-openwhisk-activation-id"))
	if el := time.Since(start); el > 2*time.Second { // waiting would add the 2 s idle deadline
		t.Errorf("record with logs after %v; collecting must not wait after a developer error", el)
	}
	if len(logs) < 2 || logs[0].text != "before the sleep" || logs[len(logs)-1].text != actlog.MsgDeveloperError || logs[len(logs)-1].stream != "stderr" {
		t.Errorf("logs %+v, want the printed line first and the developer-error notice last", logs)
	}
}

// TestActivationLogsTruncated: an activation that prints more than its
// limit gets the first limit's worth and OpenWhisk's truncation notice, and
// its container is not reused.
func TestActivationLogsTruncated(t *testing.T) {
	f := serve(t, Config{})
	f.putActionLogs(t, "chatty", 10000, 1)
	res, _, err := f.client.Actions.Invoke("chatty", map[string]any{"spam": 1500}, true, false)
	if err != nil {
		t.Fatal(err)
	}
	rec := resultMap(t, res)
	pid := rec["response"].(map[string]any)["result"].(map[string]any)["pid"]
	logs := activationLogs(t, f.client, rec["activationId"].(string))
	last := logs[len(logs)-1]
	if want := fmt.Sprintf("Logs were truncated because the total bytes size exceeds the limit of %d bytes.", 1<<20); last.text != want || last.stream != "stderr" {
		t.Errorf("last line %+v, want the truncation notice", last)
	}
	bytes := 0
	for _, l := range logs[:len(logs)-1] {
		bytes += 30 + 1 + len(l.stream) + 2 + len(l.text) + 1
	}
	if n := len(logs) - 1; bytes > 1<<20 || n < 900 || n >= 1500 {
		t.Errorf("%d lines (%d bytes) kept of 1500, want those that fit in 1 MiB", n, bytes)
	}
	res, _, err = f.client.Actions.Invoke("chatty", map[string]any{}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if resultMap(t, res)["pid"] == pid {
		t.Error("the container whose logs were truncated was reused")
	}
}
