package group

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Speculation modes (Speculation.Mode).
const (
	// SpeculateStartup races replicas of a pack to register: the first
	// whose ranks register in the membership wins, the others are
	// preempted before they join the communicator. It works for any app.
	SpeculateStartup = "startup"
	// SpeculateExec races replicas of a pack to finish: the first result
	// wins and the others are preempted. Only for apps whose workers do
	// not communicate (App.Independent).
	SpeculateExec = "exec"
)

// MaxReplicas bounds Speculation.Replicas.
const MaxReplicas = 8

// DefaultSlack is the Speculation.Slack used when it is zero.
const DefaultSlack = 1.5

// Speculation configures Raptor-style speculative replicas of the packs of
// a group. The zero value turns speculation off.
type Speculation struct {
	// Replicas is K, the most containers that run one pack (the first
	// included). 0 or 1: no speculation. At most MaxReplicas.
	Replicas int
	// Mode is SpeculateStartup (default) or SpeculateExec.
	Mode string
	// After is when the extra replicas start. 0 (default): all K replicas
	// of every pack start at once. A quantile q in (0, 1): a pack's extra
	// replicas start once it is late, that is once at least ceil(q*P) of
	// the P packs have registered (startup) or finished (exec) and the
	// time since launch exceeds Slack times the latest of those first
	// ceil(q*P) times (the q-quantile of the packs' times).
	After float64
	// Slack scales the quantile time for After > 0; at least 1; zero
	// means DefaultSlack.
	Slack float64
}

// Enabled reports whether s asks for more than one replica per pack.
func (s Speculation) Enabled() bool { return s.Replicas > 1 }

// validate reports the first thing wrong with s.
func (s Speculation) validate() error {
	switch {
	case s.Replicas < 0 || s.Replicas > MaxReplicas:
		return fmt.Errorf("%w: speculation replicas (--speculate) must be in [0, %d], got %d", ErrBadSpec, MaxReplicas, s.Replicas)
	case s.Mode != "" && s.Mode != SpeculateStartup && s.Mode != SpeculateExec:
		return fmt.Errorf("%w: speculation mode %q: want %s or %s", ErrBadSpec, s.Mode, SpeculateStartup, SpeculateExec)
	case s.After < 0 || s.After >= 1 || math.IsNaN(s.After):
		return fmt.Errorf("%w: speculation quantile (--speculate-after) must be 0 or in (0, 1), got %v", ErrBadSpec, s.After)
	case s.Slack != 0 && !(s.Slack >= 1):
		return fmt.Errorf("%w: speculation slack (--speculate-slack) must be >= 1, got %v", ErrBadSpec, s.Slack)
	}
	return nil
}

func (s Speculation) withDefaults() Speculation {
	if s.Mode == "" {
		s.Mode = SpeculateStartup
	}
	if s.Slack == 0 {
		s.Slack = DefaultSlack
	}
	return s
}

// CheckSpeculation reports whether spec's speculation suits its app:
// execution speculation runs a pack's workers more than once, which only
// an app whose workers do not communicate (App.Independent) allows. The
// error wraps ErrBadSpec (or ErrUnknownApp).
func CheckSpeculation(spec Spec) error {
	if err := spec.Speculation.validate(); err != nil {
		return err
	}
	if !spec.Speculation.Enabled() || spec.Speculation.Mode != SpeculateExec {
		return nil
	}
	app, err := Lookup(spec.App)
	if err != nil {
		return err
	}
	if !app.Independent {
		return fmt.Errorf("%w: execution speculation needs an app whose workers do not communicate; app %q does not declare that (use --speculate-mode startup)", ErrBadSpec, spec.App)
	}
	return nil
}

// The speculation policy is a plain state machine, racePolicy: replica
// events go in (launched, registered, finished; the clock as a duration
// since launch), actions come out. It does no I/O and reads no clock; the
// speculator (speculate_run.go) acts on its actions.

// actionKind is what the policy asks the speculator to do.
type actionKind int

const (
	actLaunch  actionKind = iota // start replica Replica of Pack
	actDeclare                   // tell the group Replica won Pack's start-up race
	actAccept                    // Replica's result is Pack's result
	actPreempt                   // stop Replica of Pack: it lost
	actFail                      // Pack failed, with Replica's error
)

func (k actionKind) String() string {
	return [...]string{"launch", "declare", "accept", "preempt", "fail"}[k]
}

// specAction is one thing to do about one replica.
type specAction struct {
	kind          actionKind
	pack, replica int
}

func (a specAction) String() string { return fmt.Sprintf("%v %d/%d", a.kind, a.pack, a.replica) }

// replicaState is where one replica stands.
type replicaState int

const (
	repRunning   replicaState = iota // launched, not yet registered
	repClaimed                       // registered its ranks (exec mode)
	repWon                           // won its pack's race
	repPreempted                     // told to stop
	repFailed                        // its container failed before winning
	repEnded                         // finished without winning or after being preempted
)

// packRace is one pack's race.
type packRace struct {
	replicas []replicaState
	winner   int  // -1 until a replica wins
	decided  bool // accept or fail was emitted
}

// racePolicy decides, for every pack, when a replica starts, which one
// wins and which are preempted.
type racePolicy struct {
	spec   Speculation
	exec   bool
	packs  []packRace
	events []time.Duration // when packs were won (startup) or finished (exec), sorted
}

func newRacePolicy(s Speculation, packs int) *racePolicy {
	s = s.withDefaults()
	p := &racePolicy{spec: s, exec: s.Mode == SpeculateExec, packs: make([]packRace, packs)}
	for i := range p.packs {
		p.packs[i].winner = -1
	}
	return p
}

// startPack launches pack p's first replica, or all K when After is 0.
func (p *racePolicy) startPack(pack int) []specAction {
	n := 1
	if p.spec.After == 0 {
		n = max(1, p.spec.Replicas)
	}
	return p.launch(pack, n)
}

// launch starts up to n more replicas of pack.
func (p *racePolicy) launch(pack, n int) []specAction {
	pr := &p.packs[pack]
	var out []specAction
	for ; n > 0 && len(pr.replicas) < max(1, p.spec.Replicas); n-- {
		out = append(out, specAction{actLaunch, pack, len(pr.replicas)})
		pr.replicas = append(pr.replicas, repRunning)
	}
	return out
}

// live reports whether replica r of pack may still win.
func (pr *packRace) live(r int) bool {
	return pr.replicas[r] == repRunning || pr.replicas[r] == repClaimed || pr.replicas[r] == repWon
}

// preemptOthers preempts every live replica of pack but keep.
func (p *racePolicy) preemptOthers(pack, keep int) []specAction {
	pr := &p.packs[pack]
	var out []specAction
	for r := range pr.replicas {
		if r != keep && pr.live(r) {
			pr.replicas[r] = repPreempted
			out = append(out, specAction{actPreempt, pack, r})
		}
	}
	return out
}

func (p *racePolicy) known(pack, r int) bool {
	return pack >= 0 && pack < len(p.packs) && r >= 0 && r < len(p.packs[pack].replicas)
}

// registered records that replica r of pack registered its ranks at now.
// In start-up mode the first to register wins; one that registers later
// is preempted (again, in case the first word did not reach it).
func (p *racePolicy) registered(pack, r int, now time.Duration) []specAction {
	if !p.known(pack, r) {
		return nil
	}
	pr := &p.packs[pack]
	if p.exec {
		if pr.replicas[r] == repRunning {
			pr.replicas[r] = repClaimed
		}
		return nil
	}
	switch {
	case pr.winner < 0 && pr.live(r):
		pr.winner = r
		pr.replicas[r] = repWon
		p.event(now)
		return append([]specAction{{actDeclare, pack, r}}, p.preemptOthers(pack, r)...)
	case pr.winner >= 0 && r != pr.winner:
		if pr.live(r) {
			pr.replicas[r] = repPreempted
		}
		return []specAction{{actPreempt, pack, r}}
	}
	return nil
}

// finished records that replica r of pack ended at now: with a result
// (ok) or with its container failed.
func (p *racePolicy) finished(pack, r int, ok bool, now time.Duration) []specAction {
	if !p.known(pack, r) {
		return nil
	}
	pr := &p.packs[pack]
	state := pr.replicas[r]
	if state == repPreempted || pr.decided {
		pr.replicas[r] = repEnded
		return nil
	}
	if state == repWon || (p.exec && ok) {
		// The start-up winner's outcome is the pack's, good or bad; in
		// exec mode the first result wins.
		pr.decided = true
		if !ok {
			pr.replicas[r] = repFailed
			return []specAction{{actFail, pack, r}}
		}
		pr.replicas[r] = repWon
		out := []specAction{{actAccept, pack, r}}
		if p.exec {
			pr.winner = r
			p.event(now)
			out = append(out, p.preemptOthers(pack, r)...)
		}
		return out
	}
	if ok {
		// A start-up replica that was never declared the winner cannot
		// have run; count it as ended.
		pr.replicas[r] = repEnded
	} else {
		pr.replicas[r] = repFailed
	}
	for i := range pr.replicas {
		if pr.live(i) {
			return nil // another replica may still win
		}
	}
	if more := p.launch(pack, 1); len(more) > 0 {
		return more // replace the failed replica while K allows
	}
	pr.decided = true
	return []specAction{{actFail, pack, r}}
}

func (p *racePolicy) event(now time.Duration) {
	i, _ := slices.BinarySearch(p.events, now)
	p.events = slices.Insert(p.events, i, now)
}

// lateAfter returns the time since launch after which a pack still in its
// race is late, and whether it is known yet (enough packs done, and After
// > 0). It is Slack times the time of the ceil(After*P)-th pack.
func (p *racePolicy) lateAfter() (time.Duration, bool) {
	if p.spec.After == 0 || p.spec.Replicas <= 1 {
		return 0, false
	}
	need := max(1, int(math.Ceil(p.spec.After*float64(len(p.packs)))))
	if len(p.events) < need {
		return 0, false
	}
	return time.Duration(p.spec.Slack * float64(p.events[need-1])), true
}

// waiting reports whether pack is still in its race and may get replicas.
func (p *racePolicy) waiting(pack int) bool {
	pr := &p.packs[pack]
	return !pr.decided && pr.winner < 0 && len(pr.replicas) > 0 && len(pr.replicas) < p.spec.Replicas
}

// deadline returns when tick should next be called: the time a waiting
// pack becomes late. ok is false when no such time is known.
func (p *racePolicy) deadline() (time.Duration, bool) {
	late, ok := p.lateAfter()
	if !ok {
		return 0, false
	}
	for i := range p.packs {
		if p.waiting(i) {
			return late, true
		}
	}
	return 0, false
}

// tick launches the remaining replicas of every pack that is late at now.
func (p *racePolicy) tick(now time.Duration) []specAction {
	late, ok := p.lateAfter()
	if !ok || now < late {
		return nil
	}
	var out []specAction
	for i := range p.packs {
		if p.waiting(i) {
			out = append(out, p.launch(i, p.spec.Replicas)...)
		}
	}
	return out
}
