package group

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/volley-run/volley/comm"
)

// ExecOptions are the container's own settings for ExecPack.
type ExecOptions struct {
	// BindAddr is the address the container listens on for membership and
	// data; default "127.0.0.1".
	BindAddr string
	// AdvertiseAddr is the address peers use to reach it, when it differs.
	AdvertiseAddr string
	// Logger receives the pack's logs. Default: discard.
	Logger *slog.Logger
	// Linger is how long a finished pack stays in the group's membership,
	// marked done, after ExecPack returns, so every member learns it
	// finished before it disappears (a pack that vanishes unannounced
	// fails the group); it leaves sooner when the launcher announces that
	// the group ended. Zero means the failure-detection bound of the
	// group's timings; negative means leave at once (for tests that run
	// packs in-process and check for leaked goroutines).
	Linger time.Duration
}

// closeTimeout bounds a pack's goodbyes once its workers are done.
const closeTimeout = 5 * time.Second

// ExecPack runs one pack inside a container: it joins the group (comm
// node, membership), waits until every pack is ready, runs the pack's
// workers as goroutines, and returns one RankResult per rank. A worker's
// error or panic becomes its rank's error; the others go on. When the
// group fails (another pack died), the workers' context is cancelled with
// the cause. ExecPack returns an error only when the pack could not run
// at all: a bad task, an unknown app, or a ready barrier that failed.
func ExecPack(ctx context.Context, task PackTask, opts ExecOptions) (PackResult, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	epoch := time.Now()
	if err := validateTask(task); err != nil {
		return PackResult{}, err
	}
	app, err := Lookup(task.App)
	if err != nil {
		return PackResult{}, fmt.Errorf("pack %d: %w", task.Pack.Index, err)
	}
	if !task.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, task.Deadline)
		defer cancel()
	}
	readyCtx := ctx
	if !task.ReadyDeadline.IsZero() {
		var cancel context.CancelFunc
		readyCtx, cancel = context.WithDeadline(ctx, task.ReadyDeadline)
		defer cancel()
	}
	if app.Startup != nil {
		if err := app.Startup(readyCtx, task); err != nil {
			return PackResult{}, fmt.Errorf("pack %d: app start-up: %w", task.Pack.Index, err)
		}
	}
	node, err := comm.Start(readyCtx, comm.Config{
		Group: task.Group, Secret: task.Secret, Workers: task.Workers, Granularity: task.Granularity,
		Pack: task.Pack.Index, Transport: task.Transport, Compression: task.Compression,
		BindAddr: opts.BindAddr, AdvertiseAddr: opts.AdvertiseAddr, Seeds: task.Seeds, Logger: log,
		Membership: membershipTiming(task.MembershipTiming), Replica: task.Replica, Arbitrated: task.Arbitrated, AwaitReady: task.AwaitReady,
	})
	if err != nil {
		return PackResult{}, fmt.Errorf("pack %d: join group: %w", task.Pack.Index, err)
	}
	linger := opts.Linger
	if linger == 0 {
		linger = membershipTiming(task.MembershipTiming).FailureBound(task.Workers/task.Granularity + 2)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		node.Finish(cctx)
		if linger < 0 {
			node.Close(cctx)
			return
		}
		// The container answers now; its membership node stays, marked
		// done, for the linger period or until the launcher says the
		// group ended, then leaves.
		go func() {
			t := time.NewTimer(linger)
			select {
			case <-t.C:
			case <-node.GroupEnded():
				t.Stop()
			}
			cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			defer cancel()
			node.Close(cctx)
			log.Debug("pack left the group", "lingered", linger)
		}()
	}()
	if err := node.WaitReady(readyCtx); err != nil {
		return PackResult{}, fmt.Errorf("pack %d: %w", task.Pack.Index, err)
	}

	// Workers stop when the request ends or the group fails.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(node.Context(), func() { cancel(context.Cause(node.Context())) })
	defer stop()

	res := PackResult{Pack: task.Pack.Index, ReadyAt: time.Now(), Transport: node.TransportName(), Ranks: make([]RankResult, task.Pack.Size())}
	res.Timing = &PackTiming{Start: epoch, ReadyUs: usSince(epoch, res.ReadyAt)}
	var wg sync.WaitGroup
	for i := range res.Ranks {
		rank := task.Pack.Lo + i
		c, err := node.Comm(rank)
		if err != nil {
			return PackResult{}, err
		}
		w := &Worker{group: task.Group, rank: rank, size: task.Workers, pack: task.Pack, replica: task.Replica, params: task.Params, comm: c}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.Ranks[i] = runRecorded(ctx, app.Run, w, log, epoch, task.Record)
			res.Ranks[i].Comm = c.Stats()
		}()
	}
	wg.Wait()
	return res, nil
}

// runWorker runs fn for one rank and turns its outcome into a RankResult.
func runWorker(ctx context.Context, fn WorkerFunc, w *Worker, log *slog.Logger) (rr RankResult) {
	rr = RankResult{Rank: w.rank, Pack: w.pack.Index}
	defer func() {
		if p := recover(); p != nil {
			log.Error("worker panicked", "rank", w.rank, "pack", w.pack.Index, "panic", p, "stack", string(debug.Stack()))
			rr.Result, rr.Error = nil, fmt.Sprintf("panic: %v", p)
		}
	}()
	out, err := fn(ctx, w)
	if err != nil {
		rr.Error = err.Error()
		return rr
	}
	b, err := json.Marshal(out)
	if err != nil {
		rr.Error = fmt.Sprintf("result does not encode to JSON: %v", err)
		return rr
	}
	rr.Result = b
	return rr
}

func validateTask(t PackTask) error {
	switch {
	case t.Workers < 1 || t.Granularity < 1:
		return fmt.Errorf("%w: task has %d workers, granularity %d", ErrBadSpec, t.Workers, t.Granularity)
	case t.Pack.Lo < 0 || t.Pack.Hi > t.Workers || t.Pack.Lo >= t.Pack.Hi:
		return fmt.Errorf("%w: pack %d has ranks [%d,%d) outside [0,%d)", ErrBadSpec, t.Pack.Index, t.Pack.Lo, t.Pack.Hi, t.Workers)
	case t.Pack.Lo != t.Pack.Index*t.Granularity:
		return fmt.Errorf("%w: pack %d starts at rank %d, want %d", ErrBadSpec, t.Pack.Index, t.Pack.Lo, t.Pack.Index*t.Granularity)
	}
	return nil
}
