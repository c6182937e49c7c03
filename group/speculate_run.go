package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/volley-run/volley/comm/membership"
)

// ReplicaSummary is one speculative replica of a pack: its container, how
// its race went, and when (milliseconds since launch).
type ReplicaSummary struct {
	Pack      int           `json:"pack"`
	Replica   int           `json:"replica"`
	Container ContainerInfo `json:"container"`
	// Outcome is "won" (it won its race and its result is the pack's),
	// "lost" (preempted, or beaten), "failed" (its container failed,
	// before or after winning) or "cancelled" (the group ended first).
	Outcome string `json:"outcome"`
	// LaunchedMs, RegisteredMs (0 if it never registered its ranks),
	// ReadyMs (when its workers started, 0 if they never did) and EndedMs.
	LaunchedMs   float64 `json:"launched_ms"`
	RegisteredMs float64 `json:"registered_ms,omitempty"`
	ReadyMs      float64 `json:"ready_ms,omitempty"`
	EndedMs      float64 `json:"ended_ms"`
	Error        string  `json:"error,omitempty"`
}

// replicaRun is the speculator's record of one replica.
type replicaRun struct {
	sum    ReplicaSummary
	node   string // membership node name, once registered
	cancel context.CancelCauseFunc
	res    PackResult
	err    error
	lost   bool // preempted
}

type packOutcome struct {
	res PackResult
	err error
}

// speculator acts for racePolicy on a Launch: it starts replicas on the
// runtime, hears their registrations from the launcher's membership
// observer and their ends from the runtime, and carries out the policy's
// verdicts. A nil *speculator runs each pack once, as without speculation.
type speculator struct {
	rt    Runtime
	log   *slog.Logger
	start time.Time
	exec  bool

	ctx context.Context
	obs *membership.Node

	mu       sync.Mutex
	pol      *racePolicy
	tasks    []PackTask
	runs     map[[2]int]*replicaRun
	outcomes []chan packOutcome
	timer    *time.Timer
	changed  chan struct{} // closed and replaced when a replica registers or ends
	closed   bool          // finish has begun: nothing more starts
	wg       sync.WaitGroup
}

// newSpeculator returns nil when spec asks for no speculation.
func newSpeculator(spec Spec, rt Runtime, packs int, start time.Time, log *slog.Logger) *speculator {
	if !spec.Speculation.Enabled() {
		return nil
	}
	s := &speculator{
		rt: rt, log: log, start: start, pol: newRacePolicy(spec.Speculation, packs),
		tasks: make([]PackTask, packs), runs: map[[2]int]*replicaRun{}, outcomes: make([]chan packOutcome, packs),
		changed: make(chan struct{}),
	}
	s.exec = s.pol.exec
	for i := range s.outcomes {
		s.outcomes[i] = make(chan packOutcome, 1)
	}
	return s
}

// arbitrated says whether the group's membership waits for the launcher's
// verdict on each pack (start-up speculation).
func (s *speculator) arbitrated() bool { return s != nil && !s.exec }

// attach gives the speculator the group's context and membership
// observer, before any pack runs.
func (s *speculator) attach(ctx context.Context, obs *membership.Node) {
	if s != nil {
		s.ctx, s.obs = ctx, obs
	}
}

// runPack runs one pack: once, or as a race of replicas whose winner's
// result it returns.
func (s *speculator) runPack(ctx context.Context, rt Runtime, task PackTask) (PackResult, error) {
	if s == nil {
		return rt.RunPack(ctx, task)
	}
	p := task.Pack.Index
	s.mu.Lock()
	s.tasks[p] = task
	s.apply(s.pol.startPack(p))
	s.mu.Unlock()
	select {
	case o := <-s.outcomes[p]:
		return o.res, o.err
	case <-ctx.Done():
		return PackResult{}, context.Cause(ctx)
	}
}

// onClaim is the observer's OnClaim: a replica registered its ranks.
func (s *speculator) onClaim(c membership.Claim) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.runs[[2]int{c.Pack, c.Replica}]
	if run == nil {
		return
	}
	run.node = c.Node
	run.sum.RegisteredMs = s.since()
	s.apply(s.pol.registered(c.Pack, c.Replica, time.Since(s.start)))
	s.signal()
	if s.exec && s.pol.spec.After > 0 {
		// A replica started late learns the packs (some perhaps done and
		// gone) from the observer at once. Before the barrier this
		// fails, and the launcher's own announcement covers it.
		s.background(func(ctx context.Context) {
			if err := s.obs.AnnounceReady(ctx); err != nil {
				s.log.Debug("speculation: ready announcement for a late replica", "err", err)
			}
		})
	}
}

// signal wakes waitFlight. s.mu must be held.
func (s *speculator) signal() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFlight returns once every replica launched so far has registered
// or ended, when the group's workers wait for the launcher's word to
// start (execution speculation with all replicas at once: the flight
// starts its race together). Otherwise it returns at once.
func (s *speculator) waitFlight(ctx context.Context) error {
	if s == nil || !s.exec || s.pol.spec.After != 0 {
		return nil
	}
	for {
		s.mu.Lock()
		ch, waiting := s.changed, 0
		for _, run := range s.runs {
			if run.node == "" && run.sum.EndedMs == 0 {
				waiting++
			}
		}
		launched := len(s.runs)
		s.mu.Unlock()
		if waiting == 0 && launched == len(s.tasks)*s.pol.spec.Replicas {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("speculation: %d replica(s) never registered: %w", waiting, context.Cause(ctx))
		}
	}
}

// finished records a replica's end.
func (s *speculator) finished(pack, r int, res PackResult, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.runs[[2]int{pack, r}]
	run.res, run.err = res, err
	defer s.signal()
	run.sum.Container = res.Container
	run.sum.EndedMs = s.since()
	if err == nil && !res.ReadyAt.IsZero() {
		run.sum.ReadyMs = ms(res.ReadyAt.Sub(s.start))
	}
	s.apply(s.pol.finished(pack, r, err == nil, time.Since(s.start)))
}

func (s *speculator) since() float64 { return ms(time.Since(s.start)) }

// apply carries out the policy's actions and re-arms the timer. s.mu must
// be held; nothing here blocks (messages go from goroutines).
func (s *speculator) apply(acts []specAction) {
	for _, a := range acts {
		s.log.Debug("speculation", "action", a.String())
		key := [2]int{a.pack, a.replica}
		run := s.runs[key]
		switch a.kind {
		case actLaunch:
			s.launch(a.pack, a.replica)
		case actDeclare:
			node := run.node
			s.background(func(ctx context.Context) {
				if err := s.obs.DeclareWinner(ctx, a.pack, node); err != nil {
					s.log.Warn("speculation: winner declaration not delivered to all", "pack", a.pack, "err", err)
				}
			})
		case actPreempt:
			run.lost = true
			run.cancel(fmt.Errorf("%w: pack %d replica %d lost its race", ErrPreempted, a.pack, a.replica))
			if node := run.node; node != "" {
				s.background(func(ctx context.Context) {
					if err := s.obs.Preempt(ctx, node, fmt.Sprintf("pack %d: replica %d lost its race", a.pack, a.replica)); err != nil {
						s.log.Debug("speculation: preemption message", "err", err)
					}
				})
			}
		case actAccept:
			s.outcomes[a.pack] <- packOutcome{res: run.res}
		case actFail:
			s.outcomes[a.pack] <- packOutcome{res: run.res, err: fmt.Errorf("replica %d: %w", a.replica, run.err)}
		}
	}
	s.arm()
}

// launch starts replica r of pack on the runtime.
func (s *speculator) launch(pack, r int) {
	if s.closed {
		return
	}
	ctx, cancel := context.WithCancelCause(s.ctx)
	run := &replicaRun{cancel: cancel, sum: ReplicaSummary{Pack: pack, Replica: r, LaunchedMs: s.since()}}
	s.runs[[2]int{pack, r}] = run
	task := s.tasks[pack]
	task.Replica, task.Arbitrated = r, !s.exec
	task.AwaitReady = s.exec && s.pol.spec.After == 0
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel(nil)
		res, err := s.rt.RunPack(ctx, task)
		if err == nil {
			err = checkPackResult(task.Pack, res)
		}
		s.finished(pack, r, res, err)
	}()
}

// background runs fn in a tracked goroutine with a short deadline.
func (s *speculator) background(fn func(ctx context.Context)) {
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		fn(ctx)
	}()
}

// arm sets the timer for the policy's next deadline. s.mu must be held.
func (s *speculator) arm() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	at, ok := s.pol.deadline()
	if !ok || s.closed || s.ctx.Err() != nil {
		return
	}
	s.timer = time.AfterFunc(time.Until(s.start.Add(at)), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.apply(s.pol.tick(time.Since(s.start)))
	})
}

// finish waits until every replica has ended (losers reaped) and returns
// their summaries, by pack and replica.
func (s *speculator) finish() []ReplicaSummary {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ReplicaSummary, 0, len(s.runs))
	cause := context.Cause(s.ctx)
	for key, run := range s.runs {
		sum := run.sum
		sum.Outcome = outcomeOf(run, s.pol.packs[key[0]].winner == key[1], cause)
		if run.err != nil && !run.lost {
			sum.Error = run.err.Error()
		}
		out = append(out, sum)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pack != out[j].Pack {
			return out[i].Pack < out[j].Pack
		}
		return out[i].Replica < out[j].Replica
	})
	return out
}

// outcomeOf words how a replica's race went: won only when it won and its
// run succeeded; a run that ended with an error is cancelled when the
// group ended first (its deadline, an interrupt, or another pack's
// failure, the group's cause), else failed, winner or not.
func outcomeOf(run *replicaRun, winner bool, cause error) string {
	switch {
	case winner && run.err == nil:
		return "won"
	case run.lost:
		return "lost"
	case run.err == nil:
		return "lost" // registered after the winner, or never ran
	case errors.Is(run.err, context.Canceled) || errors.Is(run.err, context.DeadlineExceeded) ||
		cause != nil && errors.Is(run.err, cause):
		return "cancelled"
	}
	return "failed"
}
