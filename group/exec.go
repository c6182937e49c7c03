package group

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// ExecPack runs one pack's workers inside a container, each as a goroutine,
// and returns one RankResult per rank. A worker's error or panic becomes its
// rank's error; the others go on. It returns an error only when the task
// itself is unusable (bad pack, unknown app), before any worker starts.
func ExecPack(ctx context.Context, task PackTask, log *slog.Logger) (PackResult, error) {
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
	res := PackResult{Pack: task.Pack.Index, ReadyAt: time.Now(), Ranks: make([]RankResult, task.Pack.Size())}
	var wg sync.WaitGroup
	for i := range res.Ranks {
		w := &Worker{group: task.Group, rank: task.Pack.Lo + i, size: task.Workers, pack: task.Pack, params: task.Params}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.Ranks[i] = runWorker(ctx, app.Run, w, log)
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
	case t.Workers < 1:
		return fmt.Errorf("%w: task has %d workers", ErrBadSpec, t.Workers)
	case t.Pack.Lo < 0 || t.Pack.Hi > t.Workers || t.Pack.Lo >= t.Pack.Hi:
		return fmt.Errorf("%w: pack %d has ranks [%d,%d) outside [0,%d)", ErrBadSpec, t.Pack.Index, t.Pack.Lo, t.Pack.Hi, t.Workers)
	}
	return nil
}
