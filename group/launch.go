package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/volley-run/volley/comm/membership"
)

// LaunchOption adjusts one Launch call.
type LaunchOption func(*launchConfig)

type launchConfig struct {
	onPackDone func(done, total, ranksDone int)
	bindAddr   string
	log        *slog.Logger
	record     Recording
}

// BindAddr sets the address the launcher's membership node listens on
// (the group's first seed); default "127.0.0.1". Containers on other hosts
// must be able to reach it.
func BindAddr(addr string) LaunchOption {
	return func(c *launchConfig) { c.bindAddr = addr }
}

// Logger sets where the launcher logs; default: discard.
func Logger(l *slog.Logger) LaunchOption {
	return func(c *launchConfig) { c.log = l }
}

// OnPackDone registers a callback run (serially) each time a pack ends,
// with the number of packs done, the total, and the ranks done so far.
func OnPackDone(fn func(done, total, ranksDone int)) LaunchOption {
	return func(c *launchConfig) { c.onPackDone = fn }
}

// Launch runs a group on rt: it plans the packs, makes the group's id and
// secret, starts a membership observer that is the group's first seed,
// asks the runtime for one container per pack, all at once, and gathers
// every rank's result. The group is ready when the observer has seen every
// pack. When a pack fails (its container dies, or it leaves the
// membership), the others are told and cancelled, and every rank of the
// group gets an error naming the failed pack. Launch returns an error only
// when the group could not be attempted (bad spec, unknown app, no
// observer, or the app's Check rejected the parameters); rank failures are
// in Result.Err.
func Launch(ctx context.Context, spec Spec, rt Runtime, opts ...LaunchOption) (*Result, error) {
	cfg := launchConfig{bindAddr: "127.0.0.1", log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = spec.withDefaults()
	app, err := Lookup(spec.App)
	if err != nil {
		return nil, err
	}
	if err := app.checkKeys(spec.Params); err != nil {
		return nil, err
	}
	if app.Check != nil {
		if err := app.Check(spec.Params); err != nil {
			if errors.Is(err, ErrBadSpec) {
				return nil, fmt.Errorf("%s: %w", spec.App, err)
			}
			return nil, fmt.Errorf("%w: %s: %w", ErrBadSpec, spec.App, err)
		}
	}
	if err := CheckSpeculation(spec); err != nil {
		return nil, err
	}
	packs, err := PlanPacks(spec.Workers, spec.Granularity)
	if err != nil {
		return nil, err
	}
	id, secret, err := newGroupIdentity()
	if err != nil {
		return nil, err
	}

	start := time.Now()
	ctx, cancelTimeout := context.WithDeadline(ctx, start.Add(spec.Timeout))
	defer cancelTimeout()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	racer := newSpeculator(spec, rt, len(packs), start, cfg.log)

	obs, err := membership.Start(ctx, membership.Config{
		Group: id, Secret: secret, Packs: len(packs), BindAddr: cfg.bindAddr,
		Self: membership.Meta{Pack: membership.ObserverPack}, Logger: cfg.log, Timing: membershipTiming(spec.MembershipTiming),
		OnPackFailed: func(pack int, err error) {
			cancel(fmt.Errorf("%w: pack %d: %w", ErrPackFailed, pack, err))
		},
		Arbitrated: racer.arbitrated(), OnClaim: racer.onClaim,
	})
	if err != nil {
		return nil, fmt.Errorf("group %s: launcher membership: %w", id, err)
	}
	defer obs.Close(time.Second)
	racer.attach(ctx, obs)
	readyc := make(chan time.Time, 1)
	readyDeadline := start.Add(spec.ReadyTimeout)
	go func() {
		rctx, rcancel := context.WithDeadline(ctx, readyDeadline)
		defer rcancel()
		_, err := obs.WaitReady(rctx)
		if err == nil {
			err = racer.waitFlight(rctx)
		}
		if err != nil {
			if ctx.Err() == nil {
				cancel(fmt.Errorf("%w: ready barrier: %w", ErrPackFailed, err))
			}
			close(readyc)
			return
		}
		readyc <- time.Now()
		// Packs still waiting for gossip about the last packs can go now.
		announced := time.Now()
		if err := obs.AnnounceReady(rctx); err != nil {
			cfg.log.Debug("ready announcement not delivered to all", "err", err)
		}
		cfg.log.Debug("ready announced", "took", time.Since(announced))
	}()

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
			Pack: p, Params: spec.Params, Deadline: start.Add(spec.Timeout), ReadyDeadline: readyDeadline,
			Secret: secret, Seeds: []string{obs.Addr()}, Transport: spec.Transport, Compression: spec.Compression,
			MembershipTiming: spec.MembershipTiming, Record: cfg.record,
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := racer.runPack(ctx, rt, task)
			if err == nil {
				err = checkPackResult(p, res)
			}
			if err != nil {
				err = fmt.Errorf("%w: pack %d (ranks %d-%d): %w", ErrPackFailed, p.Index, p.Lo, p.Hi-1, err)
				if ctx.Err() == nil {
					// Tell the other packs now rather than when failure
					// detection notices.
					actx, acancel := context.WithTimeout(context.Background(), time.Second)
					_ = obs.AnnounceFailed(actx, p.Index, err.Error())
					acancel()
				}
				cancel(err)
			}
			outcomes <- outcome{pack: p, res: res, err: err}
		}()
	}
	go func() { wg.Wait(); close(outcomes) }()

	res := &Result{
		Group: id, App: spec.App, Workers: spec.Workers, Granularity: spec.Granularity, Start: start,
		Containers: len(packs), Packs: make([]PackSummary, len(packs)), Ranks: make([]RankResult, spec.Workers),
	}
	var lastReadyAt time.Time // the latest time a pack passed the barrier
	done, ranksDone := 0, 0
	for o := range outcomes {
		done++
		ranksDone += o.pack.Size()
		sum := PackSummary{Pack: o.pack.Index, Lo: o.pack.Lo, Hi: o.pack.Hi, Container: o.res.Container, Timing: o.res.Timing}
		if o.err != nil {
			sum.Error = packErrorFor(o.err, context.Cause(ctx))
			for r := o.pack.Lo; r < o.pack.Hi; r++ {
				res.Ranks[r] = RankResult{Rank: r, Pack: o.pack.Index, Error: sum.Error}
			}
		} else {
			copy(res.Ranks[o.pack.Lo:o.pack.Hi], o.res.Ranks)
			annotateCancelled(res.Ranks[o.pack.Lo:o.pack.Hi], context.Cause(ctx))
			res.Transport = o.res.Transport
			if o.res.ReadyAt.After(lastReadyAt) {
				lastReadyAt = o.res.ReadyAt
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
	// Done packs linger in the membership; let them go now.
	ectx, ecancel := context.WithTimeout(context.Background(), endTimeout)
	if err := obs.AnnounceEnd(ectx); err != nil {
		cfg.log.Debug("group end not announced to all", "err", err)
	}
	ecancel()
	res.Replicas = racer.finish()
	res.Speculation = countReplicas(res.Replicas)
	cancel(nil) // ends the ready wait if it is still going
	// Ready is when the observer saw every pack; a group so short that
	// packs left before the observer saw them all falls back to when the
	// last pack passed its own barrier.
	if readyAt, ok := <-readyc; ok {
		res.Ready = readyAt.Sub(start)
	} else if res.Err() == nil && !lastReadyAt.IsZero() {
		res.Ready = lastReadyAt.Sub(start)
	}
	for _, rr := range res.Ranks {
		res.Comm = res.Comm.Add(rr.Comm)
	}
	res.ReadyMs = ms(res.Ready)
	res.TotalMs = ms(res.Total)
	return res, nil
}

// endTimeout bounds the launcher's announcement that the group ended.
const endTimeout = 2 * time.Second

// packErrorFor words a pack's failure. A pack cancelled because another
// pack failed says so, naming the pack that failed first. A cancelled
// pack's error is context.Canceled or wraps the group's cause (net/http's
// client and the runtimes wrap context.Cause); the failed pack's own
// error is the cause itself or does not wrap it.
func packErrorFor(err, cause error) string {
	switch {
	case cause == nil:
	case errors.Is(cause, context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%v (group deadline passed)", err)
	case err != cause && (errors.Is(err, cause) || errors.Is(err, context.Canceled)):
		return fmt.Sprintf("cancelled: %v", cause)
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

// newGroupIdentity makes a fresh group id and a 32-byte secret.
func newGroupIdentity() (string, []byte, error) {
	var b [6]byte
	secret := make([]byte, 32)
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("group id: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return "", nil, fmt.Errorf("group secret: %w", err)
	}
	return "g-" + hex.EncodeToString(b[:]), secret, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
