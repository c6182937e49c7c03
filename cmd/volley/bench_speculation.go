package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/volley-run/volley/apps/sleepexp"
	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/local"
)

// Parameters of the speculation suite.
const (
	specTasks      = 8   // tasks (packs of one worker) in the run-time part
	specStartPacks = 10  // packs in the start-up part
	specDelayMs    = 500 // injected cold-start delay
	specDelayFrac  = 0.1 // fraction of containers delayed
)

// benchSpeculation measures Raptor-style speculation on sleepexp, each
// group on a fresh local runtime (cold containers):
//
//  1. execution speculation, all K replicas at once, Exp run times of
//     mean 1/lambda: per-task latency (from all-ready to when the winning
//     replica's worker finished, as the app reports it) next to the
//     model's 1/(K*lambda) and the mean of the shortest of the K run times
//     actually drawn for each task (sleepexp.RunTime; the gap between the
//     model and the draws is sampling, between the draws and the task
//     latency Volley's own cost), and group latency (launch to last
//     result). The
//     containers are warm (a warm-up group fills the pool first), so that
//     replicas start together and the race is about run times;
//  2. start-up speculation with 10% of containers given a cold-start
//     delay: p99 time to all-ready with and without replicas.
//
// -n caps the tasks of part 1 (default 8); --mean-ms sets its mean run
// time 1/lambda (default 400 ms); --reps scales the trials (10x for part 1,
// 34x for part 2).
func benchSpeculation(ctx context.Context, w io.Writer, o benchOptions) error {
	tasks := min(o.workers, specTasks)
	trials := 10 * o.reps
	fmt.Fprintf(w, "execution speculation: sleepexp, %d tasks (g=1), run time Exp(mean %d ms), all K replicas at once, warm containers, %d groups per K\n\n",
		tasks, o.meanMs, trials)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "K\ttask mean ms\tmodel 1/(K lambda)\ttask/model\tdrawn min ms\ttask/drawn\ttask p99 ms\tgroup mean ms\tgroup p99 ms\trun mean ms\tmodel H_N/(K lambda)\t")
	for k := 1; k <= 3; k++ {
		var task, drawn, total, run []float64
		for i := range trials {
			seed := 1000*k + i
			spec := group.Spec{App: "sleepexp", Workers: tasks, Granularity: 1, Timeout: 2 * time.Minute,
				Params: group.Params{"mean_ms": fmt.Sprint(o.meanMs), "seed": fmt.Sprint(seed)}}
			if k > 1 {
				spec.Speculation = group.Speculation{Replicas: k, Mode: group.SpeculateExec}
			}
			res, start, err := launchTimed(ctx, spec, tasks*k)
			if err != nil {
				return fmt.Errorf("K=%d trial %d: %w", k, i, err)
			}
			ready := start.Add(res.Ready)
			for _, rr := range res.Ranks {
				var out sleepexp.Result
				if err := json.Unmarshal(rr.Result, &out); err != nil {
					return fmt.Errorf("K=%d trial %d: rank %d: %w", k, i, rr.Rank, err)
				}
				done := out.StartedAt.Add(time.Duration(out.SleptMs * float64(time.Millisecond)))
				task = append(task, msf(done.Sub(ready)))
				best := time.Duration(math.MaxInt64)
				for r := range k {
					best = min(best, sleepexp.RunTime(uint64(seed), rr.Rank, r, float64(o.meanMs)))
				}
				drawn = append(drawn, msf(best))
			}
			total = append(total, res.TotalMs)
			run = append(run, res.TotalMs-res.ReadyMs)
		}
		model := float64(o.meanMs) / float64(k)
		fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.2f\t%.1f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", k, mean(task), model, mean(task)/model,
			mean(drawn), mean(task)/mean(drawn), p99(task), mean(total), p99(total), mean(run), harmonic(tasks)*model)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	trials = 34 * o.reps
	fmt.Fprintf(w, "\nstart-up speculation: sleepexp (mean_ms=1), %d packs (g=1), each container delayed %d ms before it registers with probability %.2f, %d groups per row\n\n",
		specStartPacks, specDelayMs, specDelayFrac, trials)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "replicas\tpolicy\tready mean ms\tready p99 ms\tp99 vs none\tgroups delayed\tmodel\tcontainers/group\t")
	var base float64
	for _, row := range []struct {
		policy string
		sp     group.Speculation
	}{
		{"none", group.Speculation{}},
		{"after q=0.5", group.Speculation{Replicas: 2, After: 0.5}},
		{"after q=0.5", group.Speculation{Replicas: 3, After: 0.5}},
		{"at once", group.Speculation{Replicas: 3}},
	} {
		var ready []float64
		delayed, containers := 0, 0
		for i := range trials {
			spec := group.Spec{App: "sleepexp", Workers: specStartPacks, Granularity: 1, Timeout: 2 * time.Minute, Speculation: row.sp,
				Params: group.Params{"mean_ms": "1", "seed": fmt.Sprint(7000 + i),
					"start_delay_ms": fmt.Sprint(specDelayMs), "start_delay_frac": fmt.Sprint(specDelayFrac)}}
			res, _, err := launchTimed(ctx, spec, 0)
			if err != nil {
				return fmt.Errorf("start-up %s K=%d trial %d: %w", row.policy, row.sp.Replicas, i, err)
			}
			ready = append(ready, res.ReadyMs)
			if res.ReadyMs >= specDelayMs {
				delayed++
			}
			containers += max(len(res.Replicas), res.Containers)
		}
		k := max(1, row.sp.Replicas)
		// A group waits out a delay when some pack has all K containers delayed.
		model := 1 - math.Pow(1-math.Pow(specDelayFrac, float64(k)), specStartPacks)
		vs := "-"
		if base == 0 {
			base = p99(ready)
		} else {
			if d := 100 * (1 - p99(ready)/base); d >= 0 {
				vs = fmt.Sprintf("%.0f%% lower", d)
			} else {
				vs = fmt.Sprintf("%.0f%% higher", -d)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.1f\t%s\t%.1f%%\t%.1f%%\t%.1f\t\n", k, row.policy, mean(ready), p99(ready), vs,
			100*float64(delayed)/float64(trials), 100*model, float64(containers)/float64(trials))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\ngroups delayed: all-ready at or past the injected delay; model: 1-(1-frac^K)^packs")
	return nil
}

// launchTimed runs spec on a fresh local runtime, with warm containers
// in its pool (started by a hello group of that many workers) unless warm
// is 0, and returns its result and when it was launched.
func launchTimed(ctx context.Context, spec group.Spec, warm int) (*group.Result, time.Time, error) {
	rt, err := local.New(local.Config{})
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rt.Close()
	if warm > 0 {
		res, err := group.Launch(ctx, group.Spec{App: "hello", Workers: warm, Granularity: 1, Timeout: time.Minute}, rt)
		if err == nil {
			err = res.Err()
		}
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	start := time.Now()
	res, err := group.Launch(ctx, spec, rt)
	if err == nil {
		err = res.Err()
	}
	return res, start, err
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(max(1, len(xs)))
}

// p99 is the nearest-rank 99th percentile.
func p99(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[int(math.Ceil(0.99*float64(len(s))))-1]
}

// harmonic is H_n: the mean of the largest of n Exp(1) draws.
func harmonic(n int) float64 {
	var h float64
	for i := 1; i <= n; i++ {
		h += 1 / float64(i)
	}
	return h
}
