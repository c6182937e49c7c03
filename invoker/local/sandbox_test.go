package local

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/proctest"
	"github.com/volley-run/volley/invoker/sandbox"
	"github.com/volley-run/volley/invoker/sandbox/sandboxtest"
)

func TestSandboxPauseResumeDestroy(t *testing.T) {
	rt := newTestRuntime(t)
	ctx := context.Background()
	sb, err := rt.Start(ctx, sandbox.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	client := action.NewClient(sb.Addr())

	if err := sb.Pause(ctx); err != nil {
		t.Fatalf("pause: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = client.Init(short, action.InitValue{Name: "volley", Main: "main"})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("init of a paused sandbox: got %v, want a deadline error", err)
	}
	if err := sb.Resume(ctx); err != nil {
		t.Fatalf("resume: %v", err)
	}
	initCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// The request sent while paused is answered first; a second /init is
	// then refused as OpenWhisk's runtimes do, which proves the sandbox
	// runs again.
	err = client.Init(initCtx, action.InitValue{Name: "volley", Main: "main"})
	if err != nil && !strings.Contains(err.Error(), "status 403") {
		t.Fatalf("init after resume: %v", err)
	}

	sb.Destroy()
	select {
	case <-sb.Exited():
	default:
		t.Fatal("Destroy returned before the process was gone")
	}
	if kids := proctest.Children(t); len(kids) != 0 {
		t.Fatalf("processes left after Destroy: %v", kids)
	}
	sb.Destroy() // a second call is harmless
}

func TestCloseDestroysStartedSandboxes(t *testing.T) {
	rt := newTestRuntime(t)
	sb, err := rt.Start(context.Background(), sandbox.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	rt.Close()
	select {
	case <-sb.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("sandbox still running after Close")
	}
	if _, err := rt.Start(context.Background(), sandbox.Spec{}); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

func TestSandboxMissingImage(t *testing.T) {
	rt := newTestRuntime(t)
	_, err := rt.Start(context.Background(), sandbox.Spec{Image: "/nonexistent/volley"})
	if err == nil {
		t.Fatal("start of a missing binary succeeded")
	}
}

// TestSandboxActivationLogs: with a log limit, the process sandbox cuts
// the worker's output at the sentinels it writes after each /run: each of
// two activations on the same process gets only its own lines, each on
// its stream, with no sentinel.
func TestSandboxActivationLogs(t *testing.T) {
	rt := newTestRuntime(t)
	ctx := context.Background()
	sb, err := rt.Start(ctx, sandbox.Spec{LogLimit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy()
	src := sandboxtest.CheckActivationLogs(t, ctx, sb)
	// Killed mid-activation: no sentinels come, and the logs say so at
	// once rather than after the idle deadline.
	sb.Destroy()
	start := time.Now()
	lines, err := src.ActivationLogs(ctx, true)
	if err == nil || len(lines) != 1 || !strings.Contains(lines[0], "Data might be missing") || time.Since(start) > time.Second {
		t.Errorf("logs after Destroy: %q %v (%v)", lines, err, time.Since(start))
	}
}

func TestSandboxWithoutLogLimitCollectsNothing(t *testing.T) {
	rt := newTestRuntime(t)
	sb, err := rt.Start(context.Background(), sandbox.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Destroy()
	lines, err := sb.(sandbox.LogSource).ActivationLogs(context.Background(), true)
	if lines != nil || err != nil {
		t.Fatalf("got %q %v, want nothing at once", lines, err)
	}
}
