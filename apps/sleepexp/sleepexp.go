// Package sleepexp is Volley's straggler injector: each rank sleeps for a
// time drawn from a seeded exponential distribution, and a fraction of
// containers can be made slow to start. Tests and benchmarks of
// speculation use it: the draws depend on the seed, the rank (or pack) and
// the replica, so speculative replicas of one pack race with independent
// times, as in the model behind Raptor (k replicas of Exp(lambda) tasks
// give a mean of 1/(k*lambda)).
package sleepexp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/volley-run/volley/group"
)

// Result is what each rank returns.
type Result struct {
	Rank    int     `json:"rank"`
	Replica int     `json:"replica"`
	DrawnMs float64 `json:"drawn_ms"` // the run time drawn
	SleptMs float64 `json:"slept_ms"` // the time actually slept
	// StartedAt is when the rank started (the container's clock), so
	// that benchmarks can tell when its result was ready.
	StartedAt time.Time `json:"started_at"`
}

// step is the sleep granularity: a cancelled rank stops within it.
const step = 2 * time.Millisecond

func init() {
	group.Register(group.App{
		Name:    "sleepexp",
		Summary: "every rank sleeps an Exp(1/mean_ms) time (seeded); some containers start late (straggler injection)",
		Params: map[string]string{
			"mean_ms":          "mean run time of a rank in ms (default 100)",
			"seed":             "seed of the draws (default 1); run time depends on seed, rank and replica",
			"start_delay_ms":   "extra start-up time in ms of a delayed container, spent before it registers (default 0)",
			"start_delay_frac": "probability that a container (pack, replica) is delayed (default 0)",
		},
		Independent: true,
		Run:         Run,
		Startup:     Startup,
	})
}

// Run sleeps the rank's drawn time, in small steps, and returns early with
// an error when ctx is cancelled.
func Run(ctx context.Context, w *group.Worker) (any, error) {
	p := w.Params()
	mean, err := p.Float("mean_ms", 100)
	if err != nil {
		return nil, err
	}
	seed, err := p.Int("seed", 1)
	if err != nil {
		return nil, err
	}
	if mean < 0 {
		return nil, fmt.Errorf("mean_ms must be >= 0, got %v", mean)
	}
	drawn := RunTime(uint64(seed), w.Rank(), w.Replica(), mean)
	t0 := time.Now()
	if err := sleep(ctx, drawn); err != nil {
		return nil, err
	}
	return Result{Rank: w.Rank(), Replica: w.Replica(), DrawnMs: ms(drawn), SleptMs: ms(time.Since(t0)), StartedAt: t0}, nil
}

// Startup delays a container, chosen with probability start_delay_frac
// from the seed, the pack and the replica, by start_delay_ms.
func Startup(ctx context.Context, task group.PackTask) error {
	p := task.Params
	delay, err := p.Float("start_delay_ms", 0)
	if err != nil {
		return err
	}
	frac, err := p.Float("start_delay_frac", 0)
	if err != nil {
		return err
	}
	seed, err := p.Int("seed", 1)
	if err != nil {
		return err
	}
	if frac < 0 || frac > 1 || delay < 0 {
		return fmt.Errorf("start_delay_frac must be in [0, 1] and start_delay_ms >= 0, got %v and %v", frac, delay)
	}
	if !Delayed(uint64(seed), task.Pack.Index, task.Replica, frac) {
		return nil
	}
	return sleep(ctx, time.Duration(delay*float64(time.Millisecond)))
}

// RunTime is the run time of rank's replica: Exp with the given mean in
// ms, drawn from a stream of its own.
func RunTime(seed uint64, rank, replica int, meanMs float64) time.Duration {
	r := rand.New(rand.NewPCG(seed, uint64(rank)<<16|uint64(replica)))
	return time.Duration(r.ExpFloat64() * meanMs * float64(time.Millisecond))
}

// Delayed reports whether container (pack, replica) starts late.
func Delayed(seed uint64, pack, replica int, frac float64) bool {
	r := rand.New(rand.NewPCG(seed^0x5eed5eed5eed5eed, uint64(pack)<<16|uint64(replica)))
	return r.Float64() < frac
}

// sleep waits d in steps of at most step, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	end := time.Now().Add(d)
	t := time.NewTimer(min(step, d))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("sleep interrupted: %w", context.Cause(ctx))
		case <-t.C:
		}
		left := time.Until(end)
		if left <= 0 {
			return nil
		}
		t.Reset(min(step, left))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
