package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/volley-run/volley/invoker/actlog"
	"github.com/volley-run/volley/invoker/sandbox"
)

var (
	_ sandbox.Factory   = (*Runtime)(nil)
	_ sandbox.LogSource = (*processSandbox)(nil)
)

// Start implements sandbox.Factory: it starts one worker process (of
// spec.Image when set, else the runtime's binary) with spec.Env added, and
// returns once the process has reported its action-protocol address. The
// caller sends /init and owns the sandbox; Close still destroys it if the
// caller has not. With spec.LogLimit the sandbox is a sandbox.LogSource
// fed from the process's stdout and stderr pipes. A process runtime has no
// memory limit: spec.MemoryMB and spec.Labels are ignored.
func (r *Runtime) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	binary := r.cfg.Binary
	if spec.Image != "" {
		binary = spec.Image
		if _, err := os.Stat(binary); err != nil {
			return nil, fmt.Errorf("worker binary: %w", err)
		}
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errors.New("local runtime is closed")
	}
	r.mu.Unlock()
	c, err := startProcess(ctx, r.cfg, binary, spec.Env, spec.LogLimit, r.pickHost(), r.log)
	if err != nil {
		return nil, err
	}
	s := &processSandbox{c: c}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		go c.destroy()
		return nil, errors.New("local runtime is closed")
	}
	r.owned[s] = true
	s.forget = func() {
		r.mu.Lock()
		delete(r.owned, s)
		r.mu.Unlock()
	}
	return s, nil
}

// processSandbox is a worker process handed out through Start.
type processSandbox struct {
	c      *container
	once   sync.Once
	forget func() // drops it from the runtime's owned set
}

func (s *processSandbox) ID() string              { return s.c.id }
func (s *processSandbox) Addr() string            { return s.c.addr }
func (s *processSandbox) Exited() <-chan struct{} { return s.c.exited }

// ExitErr is the process's exit status.
func (s *processSandbox) ExitErr() error {
	select {
	case <-s.c.exited:
		return s.c.err
	default:
		return nil
	}
}

// ActivationLogs implements sandbox.LogSource. Once the process has
// exited (Destroy waits for that) its pipes have been read to the end.
func (s *processSandbox) ActivationLogs(ctx context.Context, wait bool) ([]string, error) {
	return actlog.ContainerLogs(ctx, s.c.logs, s.c.id, wait)
}

// Pause stops the process group with SIGSTOP, as the cgroup freezer stops
// a paused Docker container, and returns once every thread of the process
// has stopped (kill returns before that), or ctx ends.
func (s *processSandbox) Pause(ctx context.Context) error {
	if err := s.c.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	return s.c.waitStopped(ctx)
}

// Resume continues the process group with SIGCONT.
func (s *processSandbox) Resume(context.Context) error { return s.c.signal(syscall.SIGCONT) }

// Stop sends SIGTERM to the process group, then SIGKILL once grace has
// passed, and waits until the process is reaped.
func (s *processSandbox) Stop(grace time.Duration) string {
	how := ""
	s.once.Do(func() {
		how = s.c.terminate(grace)
		s.forget()
	})
	return how
}

// Destroy kills the process and waits until it is reaped.
func (s *processSandbox) Destroy() {
	s.once.Do(func() {
		s.c.destroy()
		s.forget()
	})
}
