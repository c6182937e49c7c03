// Package group is Volley's group invocation primitive: one call starts N
// workers together, packed g to a container, and returns every rank's result.
//
// The pieces:
//
//   - Spec says what to run: the app, N, g, params and deadlines.
//   - Plan (PlanPacks) splits ranks 0..N-1 into ceil(N/g) packs of contiguous
//     rank blocks; the last pack is smaller when g does not divide N.
//   - The registry (Register, Lookup, Apps) maps app names to worker
//     functions. A worker is plain Go: func(ctx, *Worker) (result, error).
//   - Launch runs a group on a Runtime (one container per pack, see package
//     invoker) and gathers a Result with one RankResult per rank.
//   - ExecPack is the container side: it runs one pack's workers as
//     goroutines and turns errors and panics into per-rank errors.
//   - Record (a LaunchOption) asks the containers to record when each rank
//     ran and how long its collective calls took (through a
//     collectives.Observer in the worker's context, so apps need no
//     change); the figures come back in RankResult.Timing and feed
//     package metrics (Prometheus) and package trace (Chrome traces).
//   - Speculation (Spec.Speculation) runs up to K replicas of each pack,
//     Raptor-style. racePolicy (speculate.go) is the pure core that decides
//     when a replica starts, which one wins and which are preempted; the
//     speculator (speculate_run.go) acts on it: it starts replicas on the
//     Runtime, hears registrations from the launcher's membership observer
//     (the arbiter), declares winners and cancels losers with ErrPreempted.
//     Start-up mode: the first replica to register its ranks wins, and
//     losers never join the communicator. Exec mode (App.Independent
//     apps only): the first result wins. Result.Replicas lists every
//     replica, winner or loser.
//
// A small example, launching hello with 64 workers, 8 per container:
//
//	res, err := group.Launch(ctx, group.Spec{App: "hello", Workers: 64, Granularity: 8}, rt)
//	if err != nil { ... }      // the group could not run at all
//	if err := res.Err(); err != nil { ... } // some rank failed
package group
