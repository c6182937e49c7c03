package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/action"
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
	// their pack ends. Default 1024. A negative value disables the pool.
	MaxIdle int
	// Logger receives runtime events and, at debug level, every line the
	// containers print. Default: discard.
	Logger *slog.Logger
	// StopGrace is how long a preempted container (a speculative replica
	// that lost its race) is given to exit after SIGTERM before it gets
	// SIGKILL. Default 2 s.
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

// Stats counts what a Runtime did.
type Stats struct {
	// ColdStarts is the number of processes started.
	ColdStarts int
	// WarmStarts is the number of packs served by a pooled container.
	WarmStarts int
	// Idle is the number of containers in the warm pool now.
	Idle int
}

// Runtime runs packs as local worker processes. It implements
// group.Runtime and is safe for concurrent use.
type Runtime struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	nextHost int
	idle     []*container
	busy     map[*container]bool
	owned    map[*processSandbox]bool // handed out by Start
	closed   bool
	stats    Stats
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
		if cfg.Args == nil {
			cfg.Args = []string{"worker"}
		}
	}
	if cfg.Args == nil {
		cfg.Args = []string{"worker"}
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 15 * time.Second
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 2 * time.Second
	}
	if cfg.MaxIdle == 0 {
		cfg.MaxIdle = 1024
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
	return &Runtime{cfg: cfg, log: cfg.Logger, busy: map[*container]bool{}, owned: map[*processSandbox]bool{}}, nil
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
	t0 := time.Now()
	c, cold, err := r.acquire(ctx, task.Group)
	if err != nil {
		return group.PackResult{}, err
	}
	info := group.ContainerInfo{ID: c.id, Cold: cold, StartMs: float64(time.Since(t0).Microseconds()) / 1000}
	value, err := json.Marshal(task)
	if err != nil {
		r.release(c, false)
		return group.PackResult{Container: info}, fmt.Errorf("encode task: %w", err)
	}
	raw, err := c.client.Run(ctx, action.RunRequest{
		Value: value, ActionName: "/volley/" + task.App,
		ActivationID: fmt.Sprintf("%s-%d", task.Group, task.Pack.Index),
		Deadline:     action.MillisOf(task.Deadline),
	})
	if err != nil {
		if errors.Is(context.Cause(ctx), group.ErrPreempted) {
			r.preempt(c)
			return group.PackResult{Container: info}, fmt.Errorf("container %s: %w", c.id, context.Cause(ctx))
		}
		healthy := errors.Is(err, action.ErrApplication) && ctx.Err() == nil
		if !healthy {
			err = c.exitedErr(err)
		}
		r.release(c, healthy)
		return group.PackResult{Container: info}, fmt.Errorf("container %s: %w", c.id, err)
	}
	var res group.PackResult
	if err := json.Unmarshal(raw, &res); err != nil {
		r.release(c, false)
		return group.PackResult{Container: info}, fmt.Errorf("container %s: answer is not a pack result: %w", c.id, err)
	}
	r.release(c, true)
	res.Container = info
	return res, nil
}

// acquire takes a live idle container or starts one. A container serves at
// most one pack of a group: the packs of a group run side by side, so one
// that finished early must not take a sibling's place.
func (r *Runtime) acquire(ctx context.Context, groupID string) (*container, bool, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, false, errors.New("local runtime is closed")
	}
	for i := len(r.idle) - 1; i >= 0; i-- {
		c := r.idle[i]
		if c.alive() && c.lastGroup == groupID {
			continue
		}
		r.idle = append(r.idle[:i], r.idle[i+1:]...)
		if !c.alive() {
			continue
		}
		r.stats.WarmStarts++
		c.lastGroup = groupID
		r.busy[c] = true
		r.mu.Unlock()
		return c, false, nil
	}
	r.mu.Unlock()

	c, err := startContainer(ctx, r.cfg, r.pickHost(), r.log)
	if err != nil {
		return nil, false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.ColdStarts++
	c.lastGroup = groupID
	if r.closed {
		go c.destroy()
		return nil, false, errors.New("local runtime is closed")
	}
	r.busy[c] = true
	return c, true, nil
}

// release returns c to the pool when it is healthy and there is room;
// otherwise it is destroyed.
func (r *Runtime) release(c *container, healthy bool) {
	r.mu.Lock()
	delete(r.busy, c)
	keep := healthy && !r.closed && c.alive() && len(r.idle) < r.cfg.MaxIdle
	if keep {
		r.idle = append(r.idle, c)
	}
	r.mu.Unlock()
	if !keep {
		c.destroy()
	}
}

// preempt stops a container whose replica lost its race: SIGTERM, then
// SIGKILL if it is still there after StopGrace. It returns once the
// process is reaped.
func (r *Runtime) preempt(c *container) {
	r.mu.Lock()
	delete(r.busy, c)
	r.mu.Unlock()
	if how := c.terminate(r.cfg.StopGrace); how != "" {
		r.log.Debug("preempted container stopped", "container", c.id, "by", how)
	}
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
func (r *Runtime) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Idle = len(r.idle)
	return s
}

// Close stops every container, idle or busy, and waits until all are
// reaped. The Runtime cannot be used afterwards.
func (r *Runtime) Close() error {
	r.mu.Lock()
	r.closed = true
	all := append([]*container(nil), r.idle...)
	for c := range r.busy {
		all = append(all, c)
	}
	var owned []*processSandbox
	for s := range r.owned {
		owned = append(owned, s)
	}
	r.idle = nil
	r.mu.Unlock()
	for _, c := range all {
		c.destroy()
	}
	for _, s := range owned {
		s.Destroy()
	}
	return nil
}
