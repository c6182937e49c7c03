package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/actlog"
)

// ErrNotWorker marks a binary that started but did not behave as a Volley
// worker (it exited or stayed silent instead of reporting its address).
var ErrNotWorker = errors.New("not a Volley worker")

// container is one worker process.
type container struct {
	id     string
	cmd    *exec.Cmd
	addr   string // the action protocol's host:port
	client *action.Client
	exited chan struct{}     // closed when the process has been reaped
	err    error             // the process's exit status; read after exited
	logs   *actlog.Collector // its output by activation; nil when not collected
}

// startContainer starts one process of cfg.Binary, waits for it to report
// its address, and sends /init.
func startContainer(ctx context.Context, cfg Config, host *Host, log *slog.Logger) (*container, error) {
	c, err := startProcess(ctx, cfg, cfg.Binary, nil, 0, host, log)
	if err != nil {
		return nil, err
	}
	initCtx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	if err := c.client.Init(initCtx, action.InitValue{Name: "volley", Main: "main"}); err != nil {
		c.kill()
		return nil, fmt.Errorf("container %s: %w", c.id, c.exitedErr(err))
	}
	return c, nil
}

// startProcess starts one process of binary with cfg's arguments and
// environment plus env, and waits for it to report the address its action
// protocol listens on. It sends nothing to it. Its stdout and stderr go,
// line by line, to log at debug level and, with a logLimit, to the
// container's log collector, each stream on its own.
func startProcess(ctx context.Context, cfg Config, binary string, env []string, logLimit int, host *Host, log *slog.Logger) (*container, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("address pipe: %w", err)
	}
	defer pr.Close()
	cmd := exec.Command(binary, cfg.Args...)
	addr := "127.0.0.1"
	if host != nil {
		// ip execs the binary inside the namespace: same process.
		cmd = exec.Command("ip", append([]string{"netns", "exec", host.Netns, binary}, cfg.Args...)...)
		addr = host.Addr
	}
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Env = append(cmd.Env, action.EnvListen+"="+net.JoinHostPort(addr, "0"), action.EnvAddrFD+"=3",
		action.EnvBindAddr+"="+addr)
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	outLog, errLog := newLineLogger(log), newLineLogger(log)
	cmd.Stdout, cmd.Stderr = outLog, errLog
	var logs *actlog.Collector
	if logLimit > 0 {
		logs = actlog.New(actlog.Config{Limit: logLimit})
		cmd.Stdout = io.MultiWriter(outLog, logs.Writer(actlog.Stdout))
		cmd.Stderr = io.MultiWriter(errLog, logs.Writer(actlog.Stderr))
	}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, fmt.Errorf("start worker binary %s: %w", binary, err)
	}
	pw.Close()
	c := &container{id: fmt.Sprint(cmd.Process.Pid), cmd: cmd, exited: make(chan struct{}), logs: logs}
	outLog.setID(c.id)
	errLog.setID(c.id)
	go func() {
		// Wait returns once the process has exited and its output has
		// been copied to the writers, so the collector has it all.
		c.err = cmd.Wait()
		if logs != nil {
			logs.Close()
		}
		close(c.exited)
	}()

	actionAddr, err := readAddr(ctx, pr, addr, cfg.StartTimeout)
	if err != nil {
		c.kill()
		<-c.exited
		if c.err != nil {
			err = fmt.Errorf("%w (process ended: %v)", err, c.err)
		}
		return nil, fmt.Errorf("container %s from %s: %w", c.id, binary, err)
	}
	c.addr = actionAddr
	c.client = action.NewClient(actionAddr)
	return c, nil
}

// readAddr reads the address line a worker writes once it listens, which
// must be on host.
func readAddr(ctx context.Context, pr *os.File, host string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := pr.SetReadDeadline(deadline); err != nil {
		return "", fmt.Errorf("address pipe deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = pr.SetReadDeadline(time.Now()) })
	defer stop()
	line, err := bufio.NewReader(pr).ReadString('\n')
	switch {
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil:
		return "", ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "", fmt.Errorf("%w: no address reported within %v", ErrNotWorker, timeout)
	default:
		return "", fmt.Errorf("%w: it closed its address pipe without reporting an address", ErrNotWorker)
	}
	addr := strings.TrimSpace(line)
	if h, _, err := net.SplitHostPort(addr); err != nil || h != host {
		return "", fmt.Errorf("%w: it reported %q, not an address on %s", ErrNotWorker, addr, host)
	}
	return addr, nil
}

// alive reports whether the process is still running.
func (c *container) alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// exitedErr prefers the process's exit status over a protocol error when
// the process died: "container exited: signal: killed" says more than
// "connection reset by peer".
func (c *container) exitedErr(err error) error {
	select {
	case <-c.exited:
		return fmt.Errorf("container process exited (%v): %w", c.err, err)
	case <-time.After(200 * time.Millisecond):
		return err
	}
}

// kill stops the process group at once.
func (c *container) kill() {
	if c.cmd.Process != nil && c.alive() {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// signal sends sig to the container's process group.
func (c *container) signal(sig syscall.Signal) error {
	if !c.alive() {
		return fmt.Errorf("container %s has exited: %v", c.id, c.err)
	}
	if err := syscall.Kill(-c.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("container %s: %v: %w", c.id, sig, err)
	}
	return nil
}

// pauseTimeout bounds waitStopped when its context has no deadline.
const pauseTimeout = 5 * time.Second

// waitStopped waits until every thread of the process is stopped (state T
// in /proc/PID/task/TID/stat), the process exits, or ctx or pauseTimeout
// ends.
func (c *container) waitStopped(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pauseTimeout)
	defer cancel()
	pid := c.cmd.Process.Pid
	for {
		stopped, err := allThreadsStopped(pid)
		switch {
		case err != nil && !c.alive():
			return fmt.Errorf("container %s has exited: %v", c.id, c.err)
		case err != nil:
			return fmt.Errorf("container %s: pause: %w", c.id, err)
		case stopped:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("container %s: pause: not stopped yet: %w", c.id, ctx.Err())
		case <-c.exited:
			return fmt.Errorf("container %s has exited: %v", c.id, c.err)
		case <-time.After(time.Millisecond):
		}
	}
}

// allThreadsStopped reports whether every thread of process pid is in
// the stopped state.
func allThreadsStopped(pid int) (bool, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tids, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, t := range tids {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/stat")
		if errors.Is(err, fs.ErrNotExist) {
			continue // the thread has ended
		}
		if err != nil {
			return false, err
		}
		// pid (comm) S ...: the state follows the last ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) {
			return false, fmt.Errorf("%s/%s/stat: unexpected format", dir, t.Name())
		}
		if st := b[i+2]; st != 'T' && st != 't' {
			return false, nil
		}
	}
	return true, nil
}

// terminate sends SIGTERM to the process group, waits up to grace for the
// process to exit, then kills it; it returns once the process is reaped,
// saying which signal ended it ("" if it had exited already).
func (c *container) terminate(grace time.Duration) string {
	if c.cmd.Process == nil || !c.alive() {
		<-c.exited
		return ""
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.exited:
		return "SIGTERM"
	case <-t.C:
		c.destroy()
		return "SIGKILL"
	}
}

// destroy kills the process and waits until it is reaped.
func (c *container) destroy() {
	c.kill()
	<-c.exited
}
