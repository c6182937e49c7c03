package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// LaunchOption adjusts one Launch call.
type LaunchOption func(*launchConfig)

type launchConfig struct {
	onPackDone func(done, total, ranksDone int)
}

// OnPackDone registers a callback run (serially) each time a pack ends,
// with the number of packs done, the total, and the ranks done so far.
func OnPackDone(fn func(done, total, ranksDone int)) LaunchOption {
	return func(c *launchConfig) { c.onPackDone = fn }
}

// Launch runs a group on rt: it plans the packs, asks the runtime for one
// container per pack, all at once, and gathers every rank's result. When a
// pack's container fails, the others are cancelled, and every rank of the
// group gets an error naming the failed pack. Launch returns an error only
// when the group could not be attempted (bad spec, unknown app); rank
// failures are in Result.Err.
func Launch(ctx context.Context, spec Spec, rt Runtime, opts ...LaunchOption) (*Result, error) {
	var cfg launchConfig
	for _, o := range opts {
		o(&cfg)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = spec.withDefaults()
	if _, err := Lookup(spec.App); err != nil {
		return nil, err
	}
	packs, err := PlanPacks(spec.Workers, spec.Granularity)
	if err != nil {
		return nil, err
	}
	id, err := newGroupID()
	if err != nil {
		return nil, err
	}

	start := time.Now()
	ctx, cancelTimeout := context.WithDeadline(ctx, start.Add(spec.Timeout))
	defer cancelTimeout()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	type outcome struct {
		pack Pack
		res  PackResult
		err  error
	}
	outcomes := make(chan outcome, len(packs))
	var wg sync.WaitGroup
	for _, p := range packs {
		task := PackTask{
			Group: id, App: spec.App, Workers: spec.Workers, Granularity: spec.Granularity,
			Pack: p, Params: spec.Params, Deadline: start.Add(spec.Timeout),
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := rt.RunPack(ctx, task)
			if err == nil {
				err = checkPackResult(p, res)
			}
			if err != nil {
				err = fmt.Errorf("%w: pack %d (ranks %d-%d): %w", ErrPackFailed, p.Index, p.Lo, p.Hi-1, err)
				cancel(err)
			}
			outcomes <- outcome{pack: p, res: res, err: err}
		}()
	}
	go func() { wg.Wait(); close(outcomes) }()

	res := &Result{
		Group: id, App: spec.App, Workers: spec.Workers, Granularity: spec.Granularity,
		Containers: len(packs), Packs: make([]PackSummary, len(packs)), Ranks: make([]RankResult, spec.Workers),
	}
	var lastReady time.Time
	allReady := true
	done, ranksDone := 0, 0
	for o := range outcomes {
		done++
		ranksDone += o.pack.Size()
		sum := PackSummary{Pack: o.pack.Index, Lo: o.pack.Lo, Hi: o.pack.Hi, Container: o.res.Container}
		if o.err != nil {
			sum.Error = packErrorFor(o.err, context.Cause(ctx))
			for r := o.pack.Lo; r < o.pack.Hi; r++ {
				res.Ranks[r] = RankResult{Rank: r, Pack: o.pack.Index, Error: sum.Error}
			}
			allReady = false
		} else {
			copy(res.Ranks[o.pack.Lo:o.pack.Hi], o.res.Ranks)
			annotateCancelled(res.Ranks[o.pack.Lo:o.pack.Hi], context.Cause(ctx))
			if o.res.ReadyAt.After(lastReady) {
				lastReady = o.res.ReadyAt
			}
		}
		if sum.Container.ID != "" {
			if sum.Container.Cold {
				res.Cold++
			} else {
				res.Warm++
			}
		}
		res.Packs[o.pack.Index] = sum
		if cfg.onPackDone != nil {
			cfg.onPackDone(done, len(packs), ranksDone)
		}
	}
	res.Total = time.Since(start)
	if allReady && !lastReady.IsZero() {
		res.Ready = lastReady.Sub(start)
	}
	res.ReadyMs = ms(res.Ready)
	res.TotalMs = ms(res.Total)
	return res, nil
}

// packErrorFor words a pack's failure. A pack cancelled because another
// pack failed says so, naming the pack that failed first.
func packErrorFor(err, cause error) string {
	if cause != nil && !errors.Is(err, cause) && errors.Is(err, context.Canceled) {
		return fmt.Sprintf("cancelled: %v", cause)
	}
	if cause != nil && errors.Is(cause, context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("%v (group deadline passed)", err)
	}
	return err.Error()
}

// annotateCancelled adds the group's failure to the errors of ranks that
// ended because the group was cancelled, so "context canceled" never stands
// alone without naming the pack that failed.
func annotateCancelled(ranks []RankResult, cause error) {
	if cause == nil || !errors.Is(cause, ErrPackFailed) {
		return
	}
	for i := range ranks {
		if ranks[i].Error != "" {
			ranks[i].Error = fmt.Sprintf("%s (group cancelled: %v)", ranks[i].Error, cause)
		}
	}
}

// checkPackResult makes sure a container answered for exactly its ranks.
func checkPackResult(p Pack, res PackResult) error {
	if res.Pack != p.Index || len(res.Ranks) != p.Size() {
		return fmt.Errorf("container answered for pack %d with %d ranks, want pack %d with %d", res.Pack, len(res.Ranks), p.Index, p.Size())
	}
	for i, rr := range res.Ranks {
		if rr.Rank != p.Lo+i {
			return fmt.Errorf("container answered rank %d at position %d, want rank %d", rr.Rank, i, p.Lo+i)
		}
	}
	return nil
}

func newGroupID() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("group id: %w", err)
	}
	return "g-" + hex.EncodeToString(b[:]), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
