// Package sandboxtest holds checks that every sandbox runtime's tests
// share.
package sandboxtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/sandbox"
)

// CheckActivationLogs initializes a started Volley worker sandbox (sb,
// with a log limit), runs two activations on it that fail (a body that is
// not a pack task, so the worker logs "activation failed" on stderr), and
// checks that each gets exactly its own line from the sandbox's
// LogSource: "<RFC 3339 time, 30 columns> stderr: text", stamped within
// seconds of the /run, naming the activation, with no sentinel. It returns
// the LogSource for further checks.
func CheckActivationLogs(t *testing.T, ctx context.Context, sb sandbox.Sandbox) sandbox.LogSource {
	t.Helper()
	src, ok := sb.(sandbox.LogSource)
	if !ok {
		t.Fatalf("%T is not a sandbox.LogSource", sb)
	}
	client := action.NewClient(sb.Addr())
	if err := client.Init(ctx, action.InitValue{Name: "volley", Main: "main"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"activation-one", "activation-two"} {
		before := time.Now()
		_, err := client.Run(ctx, action.RunRequest{Value: []byte(`{"group": 5}`), ActivationID: id})
		if !errors.Is(err, action.ErrApplication) {
			t.Fatalf("run %s: %v, want an application error", id, err)
		}
		lines, err := src.ActivationLogs(ctx, true)
		if err != nil {
			t.Fatalf("logs of %s: %v", id, err)
		}
		if len(lines) != 1 {
			t.Fatalf("logs of %s: %d lines, want 1: %q", id, len(lines), lines)
		}
		l := lines[0]
		t.Logf("%s: %s", id, l)
		ts, rest, _ := strings.Cut(l, " ")
		stamp, err := time.Parse(time.RFC3339Nano, ts)
		switch {
		case err != nil || len(l) <= 30 || len(ts) > 30 || !strings.HasSuffix(ts, "Z") || l[30] != ' ' ||
			!strings.HasPrefix(strings.TrimLeft(rest, " "), "stderr: "):
			t.Errorf("line %q is not \"<time, 30 columns> stderr: text\" (%v)", l, err)
		case stamp.Sub(before) < -time.Second || stamp.Sub(before) > 10*time.Second:
			t.Errorf("line stamped %v, %v after the /run was sent", stamp, stamp.Sub(before))
		}
		if !strings.Contains(l, "activation failed") || !strings.Contains(l, "activation="+id) || strings.Contains(l, action.LogSentinel) {
			t.Errorf("logs of %s: %q", id, l)
		}
	}
	return src
}
