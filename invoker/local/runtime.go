package local

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/pool"
)

// Config configures a local Runtime. The zero value is usable.
type Config struct {
	// Binary is the worker executable; default: this process's own
	// executable (the volley binary).
	Binary string
	// Args are the arguments that make Binary serve the action protocol;
	// default: ["worker"].
	Args []string
	// Env is added to each container's environment.
	Env []string
	// StartTimeout bounds one cold start: process start, address report and
	// /init. Default 15 s.
	StartTimeout time.Duration
	// MaxIdle caps the warm pool; containers beyond it are stopped when
	// their pack ends. Default 1024 (pool.Config). A negative value
	// disables the pool.
	MaxIdle int
	// Logger receives runtime events and, at debug level, every line the
	// containers print. Default: discard.
	Logger *slog.Logger
	// StopGrace is how long a preempted container (a speculative replica
	// that lost its race) is given to exit after SIGTERM before it gets
	// SIGKILL. Default 2 s (pool.Config).
	StopGrace time.Duration
	// Hosts, when set, places containers round-robin on these network
	// hosts instead of the loopback: each container runs in its host's
	// network namespace (through `ip netns exec`, so it needs root) and
	// listens, for the action protocol, membership and data, on the host's
	// address only. The launcher must then bind its membership where the
	// containers can reach it (group.BindAddr).
	Hosts []Host
}

// Host is a network host for containers: a network namespace and the
// address containers bind inside it.
type Host struct {
	Netns string
	Addr  string
}

// Stats counts what a Runtime did: the warm pool's counters (a process
// runtime never pauses, so Unpauses and Paused stay zero).
type Stats = pool.Stats

// Runtime runs packs as local worker processes, through a warm pool. It
// implements group.Runtime and sandbox.Factory and is safe for concurrent
// use.
type Runtime struct {
	cfg  Config
	log  *slog.Logger
	pool *pool.Pool

	mu       sync.Mutex
	nextHost int
	owned    map[*processSandbox]bool // handed out by Start
	closed   bool
}

var _ group.Runtime = (*Runtime)(nil)

// New checks the worker binary and returns a Runtime with an empty pool.
func New(cfg Config) (*Runtime, error) {
	if cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable: %w", err)
		}
		cfg.Binary = exe
	}
	if cfg.Args == nil {
		cfg.Args = []string{"worker"}
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	fi, err := os.Stat(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("worker binary: %w", err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("worker binary %s is not an executable file", cfg.Binary)
	}
	r := &Runtime{cfg: cfg, log: cfg.Logger, owned: map[*processSandbox]bool{}}
	r.pool = pool.New(pool.Config{Factory: r, StartTimeout: cfg.StartTimeout, MaxIdle: cfg.MaxIdle, StopGrace: cfg.StopGrace, Logger: cfg.Logger})
	return r, nil
}

// Probe starts one container to check that the binary is a Volley worker
// (it reports its address and answers /init), then stops it. It is not
// counted in Stats, so that a group's start-up figures stay honest.
func (r *Runtime) Probe(ctx context.Context) error {
	c, err := startContainer(ctx, r.cfg, r.pickHost(), r.log)
	if err != nil {
		return err
	}
	c.destroy()
	return nil
}

// RunPack runs one pack in a warm container if one is idle, else in a new
// process. The container goes back to the pool only if the pack ended
// cleanly.
func (r *Runtime) RunPack(ctx context.Context, task group.PackTask) (group.PackResult, error) {
	return r.pool.RunPack(ctx, task)
}

// pickHost returns the host for the next container, round-robin, or nil
// for the loopback.
func (r *Runtime) pickHost() *Host {
	if len(r.cfg.Hosts) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h := &r.cfg.Hosts[r.nextHost%len(r.cfg.Hosts)]
	r.nextHost++
	return h
}

// Stats returns what the runtime has done so far.
func (r *Runtime) Stats() Stats { return r.pool.Stats() }

// Close stops every container, pooled or handed out by Start, and waits
// until all are reaped. The Runtime cannot be used afterwards.
func (r *Runtime) Close() error {
	r.pool.Close()
	r.mu.Lock()
	r.closed = true
	var owned []*processSandbox
	for s := range r.owned {
		owned = append(owned, s)
	}
	r.mu.Unlock()
	for _, s := range owned {
		s.Destroy()
	}
	return nil
}
