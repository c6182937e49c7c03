// Package proctest holds what the tests of the process runtimes share: a
// test binary that doubles as the worker process, and a look at the test
// process's children through /proc (Linux).
package proctest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/volley-run/volley/invoker/action"
)

// ServeIfWorker makes the test binary a worker when the environment
// variable env is "1": it serves the action protocol with run until
// SIGTERM, its activations' output going to stdout and stderr, and exits.
// Otherwise it returns at once. TestMain calls it first; the tests then
// start their own binary with env=1 as the worker binary.
func ServeIfWorker(env string, run action.RunFunc, log *slog.Logger, stdout, stderr io.Writer) {
	if os.Getenv(env) != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	err := action.Serve(ctx, action.NewServer(run, log, stdout, stderr), log)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Process is one process as /proc shows it.
type Process struct {
	PID     int
	PPID    int
	State   string // R, S, T (stopped), Z (zombie), ...
	Cmdline string // its arguments, joined by spaces
}

// String is the pid and the command line.
func (p Process) String() string { return fmt.Sprintf("%d %s", p.PID, p.Cmdline) }

// Stat reads process pid from /proc; ok is false once it is gone.
func Stat(pid int) (p Process, ok bool) {
	if p, ok = stat(pid); ok {
		p.Cmdline = cmdline(pid)
	}
	return p, ok
}

// stat reads a process's state and parent, not its command line.
func stat(pid int) (Process, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Process{}, false
	}
	// The fields after the ")" that ends the command name: state, ppid.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 2 {
		return Process{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return Process{PID: pid, PPID: ppid, State: f[0]}, true
}

// cmdline is a process's arguments joined by spaces.
func cmdline(pid int) string {
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
}

// Children lists the live (not zombie) child processes of this process.
// The test is skipped where there is no /proc.
func Children(t testing.TB) []Process {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("skipped: no /proc to list child processes: %v", err)
	}
	var kids []Process
	me := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// Only children's command lines are read: a test polls this.
		if p, ok := stat(pid); ok && p.PPID == me && p.State != "Z" {
			p.Cmdline = cmdline(pid)
			kids = append(kids, p)
		}
	}
	return kids
}
