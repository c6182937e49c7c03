package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/sandbox"
)

// ErrClosed is returned by RunPack once the pool is closed.
var ErrClosed = errors.New("container pool is closed")

// Config configures a Pool.
type Config struct {
	// Factory starts the containers. Required.
	Factory sandbox.Factory
	// Spec is what every new container is started with; the pool adds
	// the label "volley.group" naming the group it is started for.
	Spec sandbox.Spec
	// StartTimeout bounds one cold start: Factory.Start plus /init.
	// Default 15 s.
	StartTimeout time.Duration
	// MaxIdle caps the warm pool; containers beyond it are destroyed when
	// their pack ends. Default 1024. A negative value disables the pool.
	MaxIdle int
	// PauseGrace is how long an idle container keeps running before it is
	// paused (OpenWhisk's pause grace); a pack that comes sooner gets a
	// warm start, a later one an unpause. Zero never pauses. The grace
	// starts once no container of the same group is busy: a finished
	// pack's membership node lingers until its group ends.
	PauseGrace time.Duration
	// StopGrace is how long a preempted container (a speculative replica
	// that lost its race, whose pack context ends with group.ErrPreempted)
	// is given to exit after SIGTERM before it is killed (Sandbox.Stop).
	// Default 2 s.
	StopGrace time.Duration
	// Logger receives pool events. Default: discard.
	Logger *slog.Logger
}

// Stats counts what a Pool did.
type Stats struct {
	// ColdStarts is the number of containers started for a pack.
	ColdStarts int
	// WarmStarts is the number of packs served by a pooled container,
	// running or paused.
	WarmStarts int
	// Unpauses is how many of the warm starts resumed a paused container.
	Unpauses int
	// Idle is the number of containers in the pool now, Paused how many
	// of them are paused.
	Idle   int
	Paused int
}

// Pool runs packs in containers from a Factory, keeping those whose pack
// ended cleanly for the next packs. It implements group.Runtime and is
// safe for concurrent use.
type Pool struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	idle    []*entry // newest last
	busy    map[*entry]bool
	closed  bool
	stats   Stats
	pausing sync.WaitGroup // pause timers scheduled or running
}

// entry is one pooled container.
type entry struct {
	sb     sandbox.Sandbox
	client *action.Client
	// Guarded by Pool.mu:
	lastGroup string      // the group whose pack it ran last
	paused    bool        // frozen while idle
	timer     *time.Timer // the pending pause while idle and running
	// pauseLater: idle, and its pause waits until no container of
	// lastGroup is busy (see release).
	pauseLater bool
}

var _ group.Runtime = (*Pool)(nil)

// New returns an empty pool.
func New(cfg Config) *Pool {
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 15 * time.Second
	}
	if cfg.MaxIdle == 0 {
		cfg.MaxIdle = 1024
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pool{cfg: cfg, log: cfg.Logger, busy: map[*entry]bool{}}
}

// RunPack runs one pack in an idle container if there is one (resuming
// it if it was paused), else in a new one. The container goes back to the
// pool only if the pack ended cleanly and did not lose a race (a
// preempted replica's container is stopped, even if it answered).
func (p *Pool) RunPack(ctx context.Context, task group.PackTask) (group.PackResult, error) {
	t0 := time.Now()
	e, kind, err := p.acquire(ctx, task.Group)
	if err != nil {
		return group.PackResult{}, err
	}
	info := group.ContainerInfo{ID: e.sb.ID(), Cold: kind == group.StartCold, Start: kind, StartMs: ms(time.Since(t0))}
	value, err := json.Marshal(task)
	if err != nil {
		p.release(e, false)
		return group.PackResult{Container: info}, fmt.Errorf("encode task: %w", err)
	}
	raw, err := e.client.Run(ctx, action.RunRequest{
		Value: value, ActionName: "/volley/" + task.App,
		ActivationID: fmt.Sprintf("%s-%d", task.Group, task.Pack.Index),
		Deadline:     action.MillisOf(task.Deadline),
	})
	if err != nil {
		if errors.Is(context.Cause(ctx), group.ErrPreempted) {
			p.preempt(e)
			return group.PackResult{Container: info}, fmt.Errorf("container %s: %w", e.sb.ID(), context.Cause(ctx))
		}
		healthy := errors.Is(err, action.ErrApplication) && ctx.Err() == nil
		if !healthy {
			err = exitedErr(e.sb, err)
		}
		p.release(e, healthy)
		return group.PackResult{Container: info}, fmt.Errorf("container %s: %w", e.sb.ID(), err)
	}
	var res group.PackResult
	if err := json.Unmarshal(raw, &res); err != nil {
		p.release(e, false)
		return group.PackResult{Container: info}, fmt.Errorf("container %s: answer is not a pack result: %w", e.sb.ID(), err)
	}
	if errors.Is(context.Cause(ctx), group.ErrPreempted) {
		// It answered just as it lost its race (its HTTP answer beat the
		// cancellation): a loser never goes back to the pool.
		p.preempt(e)
	} else {
		p.release(e, true)
	}
	res.Container = info
	return res, nil
}

// acquire takes a live idle container, resuming it if paused, or starts
// one. A container serves at most one pack of a group: the packs of a
// group run side by side, so one that finished early must not take a
// sibling's place.
func (p *Pool) acquire(ctx context.Context, groupID string) (*entry, string, error) {
	for {
		e, err := p.takeIdle(groupID)
		if err != nil {
			return nil, "", err
		}
		if e == nil {
			break
		}
		if !e.paused {
			return e, group.StartWarm, nil
		}
		if err := e.sb.Resume(ctx); err != nil {
			p.log.Warn("resume of a paused container failed; destroying it", "container", e.sb.ID(), "err", err)
			p.release(e, false)
			if ctx.Err() != nil {
				return nil, "", err
			}
			continue
		}
		p.mu.Lock()
		e.paused = false
		p.stats.Unpauses++
		p.mu.Unlock()
		return e, group.StartPaused, nil
	}
	e, err := p.start(ctx, groupID)
	if err != nil {
		return nil, "", err
	}
	return e, group.StartCold, nil
}

// takeIdle removes a live idle container not last used by groupID from
// the pool and marks it busy; nil when there is none.
func (p *Pool) takeIdle(groupID string) (*entry, error) {
	var dead []*entry
	defer func() {
		for _, e := range dead {
			e.sb.Destroy()
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	for i := len(p.idle) - 1; i >= 0; i-- {
		e := p.idle[i]
		if alive(e.sb) && e.lastGroup == groupID {
			continue
		}
		p.idle = append(p.idle[:i], p.idle[i+1:]...)
		p.stopTimer(e)
		e.pauseLater = false
		if !alive(e.sb) {
			dead = append(dead, e)
			continue
		}
		p.stats.WarmStarts++
		e.lastGroup = groupID
		p.busy[e] = true
		return e, nil
	}
	return nil, nil
}

// start starts and initializes a new container for groupID.
func (p *Pool) start(ctx context.Context, groupID string) (*entry, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.StartTimeout)
	defer cancel()
	spec := p.cfg.Spec
	spec.Labels = maps.Clone(spec.Labels)
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels["volley.group"] = groupID
	sb, err := p.cfg.Factory.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	e := &entry{sb: sb, client: action.NewClient(sb.Addr()), lastGroup: groupID}
	if err := e.client.Init(ctx, action.InitValue{Name: "volley", Main: "main"}); err != nil {
		err = exitedErr(sb, err)
		sb.Destroy()
		return nil, fmt.Errorf("container %s: %w", sb.ID(), err)
	}
	p.mu.Lock()
	p.stats.ColdStarts++
	closed := p.closed
	if !closed {
		p.busy[e] = true
	}
	p.mu.Unlock()
	if closed {
		sb.Destroy()
		return nil, ErrClosed
	}
	return e, nil
}

// release returns e to the pool when it is healthy and there is room,
// scheduling its pause; otherwise it is destroyed.
func (p *Pool) release(e *entry, healthy bool) {
	p.mu.Lock()
	delete(p.busy, e)
	keep := healthy && !p.closed && alive(e.sb) && len(p.idle) < p.cfg.MaxIdle
	if keep {
		p.idle = append(p.idle, e)
		if p.cfg.PauseGrace > 0 {
			// A finished pack's membership node lingers in its container
			// until the group ends, so that no running pack takes its
			// going for a failure: freezing it while its siblings still
			// run would defeat that. Its pause waits for the last busy
			// container of its group.
			e.pauseLater = true
		}
	}
	p.groupReleasedLocked(e.lastGroup)
	p.mu.Unlock()
	if !keep {
		e.sb.Destroy()
	}
}

// groupReleasedLocked schedules the pauses that wait for group g once no
// container of g is busy any more; the caller holds p.mu.
func (p *Pool) groupReleasedLocked(g string) {
	for x := range p.busy {
		if x.lastGroup == g {
			return
		}
	}
	for _, x := range p.idle {
		if x.pauseLater && x.lastGroup == g {
			x.pauseLater = false
			p.pausing.Add(1)
			x.timer = time.AfterFunc(p.cfg.PauseGrace, func() { p.pause(x) })
		}
	}
}

// preempt stops the container of a replica that lost its race: SIGTERM,
// then SIGKILL if it is still there after StopGrace. It returns once the
// container is gone.
func (p *Pool) preempt(e *entry) {
	p.mu.Lock()
	delete(p.busy, e)
	p.groupReleasedLocked(e.lastGroup)
	p.mu.Unlock()
	if how := e.sb.Stop(p.cfg.StopGrace); how != "" {
		p.log.Debug("preempted container stopped", "container", e.sb.ID(), "by", how)
	}
}

// pause freezes e if it is still idle. It takes e out of the pool while
// the runtime pauses it, so no pack gets a container halfway frozen.
func (p *Pool) pause(e *entry) {
	defer p.pausing.Done()
	p.mu.Lock()
	i := indexOf(p.idle, e)
	if i < 0 || e.timer == nil {
		p.mu.Unlock()
		return // taken, or the pool closed, meanwhile
	}
	e.timer = nil
	p.idle = append(p.idle[:i], p.idle[i+1:]...)
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.StartTimeout)
	err := e.sb.Pause(ctx)
	cancel()

	p.mu.Lock()
	keep := err == nil && !p.closed && alive(e.sb)
	if keep {
		e.paused = true
		p.idle = append(p.idle, e)
	}
	p.mu.Unlock()
	if !keep {
		if err != nil {
			p.log.Warn("pause of an idle container failed; destroying it", "container", e.sb.ID(), "err", err)
		}
		e.sb.Destroy()
	}
}

// stopTimer cancels e's pending pause; the caller holds p.mu.
func (p *Pool) stopTimer(e *entry) {
	if e.timer == nil {
		return
	}
	if e.timer.Stop() {
		p.pausing.Done()
	}
	e.timer = nil
}

// Stats returns what the pool has done so far.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Idle = len(p.idle)
	s.Paused = 0
	for _, e := range p.idle {
		if e.paused {
			s.Paused++
		}
	}
	return s
}

// Close destroys every container, idle or busy, and waits until all are
// gone. RunPack fails afterwards.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	all := p.idle
	for _, e := range all {
		p.stopTimer(e)
	}
	for e := range p.busy {
		all = append(all, e)
	}
	p.idle = nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range all {
		wg.Go(e.sb.Destroy)
	}
	wg.Wait()
	p.pausing.Wait()
}

// exitedErr prefers the container's exit status over a protocol error
// when the container died: "container exited: signal: killed" says more
// than "connection reset by peer".
func exitedErr(sb sandbox.Sandbox, err error) error {
	select {
	case <-sb.Exited():
		return fmt.Errorf("container exited (%v): %w", sb.ExitErr(), err)
	case <-time.After(200 * time.Millisecond):
		return err
	}
}

func alive(sb sandbox.Sandbox) bool {
	select {
	case <-sb.Exited():
		return false
	default:
		return true
	}
}

func indexOf(es []*entry, e *entry) int {
	for i, x := range es {
		if x == e {
			return i
		}
	}
	return -1
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
