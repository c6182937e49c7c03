package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/docker"
)

// dockerStartSamples is how many starts of each kind the docker suite
// times.
const dockerStartSamples = 30

// benchDocker measures the Docker backend: how long one container takes
// to start cold (docker run to /init answered), warm from paused
// (unpause) and hot (still running), then time to all-ready of whole
// groups for several N and g. By default N is 64 and 256 and g is 1, 8
// and 64; -n and -g (other than the defaults) pick one N and the g's.
func benchDocker(ctx context.Context, w io.Writer, o benchOptions) error {
	if _, err := docker.Ping(ctx, ""); err != nil {
		return err
	}
	ns, grains := []int{64, 256}, []int{1, 8, 64}
	if !slices.Equal(o.grains, []int{1, 4, 16, 64}) {
		ns, grains = []int{o.workers}, o.grains
	}
	if err := benchDockerStarts(ctx, w); err != nil {
		return err
	}
	for _, n := range ns {
		if err := benchDockerReady(ctx, w, n, grains, o.reps); err != nil {
			return err
		}
	}
	return nil
}

// benchDockerStarts times single-container starts through the warm pool
// (ContainerInfo.StartMs of a 1-worker hello group).
func benchDockerStarts(ctx context.Context, w io.Writer) error {
	var cold, paused, hot []time.Duration
	one := group.Spec{App: "hello", Workers: 1, Granularity: 1, Timeout: time.Minute}
	for range dockerStartSamples {
		// Cold then hot on a runtime that never pauses.
		rt, err := docker.New(ctx, docker.Config{PauseGrace: -1})
		if err != nil {
			return err
		}
		for _, out := range []*[]time.Duration{&cold, &hot} {
			info, err := launchOne(ctx, rt, one)
			if err != nil {
				rt.Close()
				return err
			}
			*out = append(*out, time.Duration(info.StartMs*float64(time.Millisecond)))
		}
		rt.Close()
	}
	rt, err := docker.New(ctx, docker.Config{PauseGrace: time.Millisecond})
	if err != nil {
		return err
	}
	defer rt.Close()
	for range dockerStartSamples {
		deadline := time.Now().Add(10 * time.Second)
		for rt.Stats().Paused == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		info, err := launchOne(ctx, rt, one)
		if err != nil {
			return err
		}
		if info.Start == group.StartPaused {
			paused = append(paused, time.Duration(info.StartMs*float64(time.Millisecond)))
		}
	}
	fmt.Fprintf(w, "container start, docker backend, %d starts each (p99 of %d is the slowest)\n\n", dockerStartSamples, dockerStartSamples)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "start\twhat it takes\tmedian ms\tp99 ms\t")
	for _, r := range []struct {
		name, what string
		ds         []time.Duration
	}{
		{"cold", "docker run .. /init answered", cold},
		{"warm", "docker unpause", paused},
		{"hot", "running: nothing", hot},
	} {
		if len(r.ds) == 0 {
			return fmt.Errorf("no %s start measured", r.name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t\n", r.name, r.what, msf(median(r.ds)), msf(quantile(r.ds, 0.99)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "cold/warm: %.0fx (medians)\n\n", ratio(median(cold), median(paused)))
	return nil
}

// launchOne runs spec on rt and returns its one container's start.
func launchOne(ctx context.Context, rt *docker.Runtime, spec group.Spec) (group.ContainerInfo, error) {
	res, err := group.Launch(ctx, spec, rt, group.BindAddr(rt.BindAddr()))
	if err != nil {
		return group.ContainerInfo{}, err
	}
	if err := res.Err(); err != nil {
		return group.ContainerInfo{}, err
	}
	return res.Packs[0].Container, nil
}

// benchDockerReady times all-ready of cold hello groups of n workers for
// each g, a fresh runtime (so fresh containers) per repetition.
func benchDockerReady(ctx context.Context, w io.Writer, n int, grains []int, reps int) error {
	limit, _ := docker.NeighbourLimit()
	fmt.Fprintf(w, "time to all-ready, N=%d, hello app, docker backend, cold containers, median of %d (kernel ARP table cap gc_thresh3=%d)\n\n", n, reps, limit)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "g\tcontainers\tready ms\tfailed runs\t")
	// (a cell whose run failed after more than a minute is not repeated)
	ready := map[int]time.Duration{}
	for _, g := range grains {
		var ds []time.Duration
		failed, containers := 0, (n+g-1)/g
		var lastErr error
		for range reps {
			t0 := time.Now()
			d, err := readyOnce(ctx, n, g)
			if err != nil {
				failed++
				lastErr = err
				if time.Since(t0) > time.Minute {
					break // a slow failure is not worth repeating
				}
				continue
			}
			ds = append(ds, d)
		}
		if len(ds) == 0 {
			fmt.Fprintf(tw, "%d\t%d\t-\t%d\t\n", g, containers, failed)
			fmt.Fprintf(w, "g=%d: every run failed; last: %v\n", g, lastErr)
			continue
		}
		ready[g] = median(ds)
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%d\t\n", g, containers, msf(ready[g]), failed)
		if failed > 0 {
			fmt.Fprintf(w, "g=%d: %d of %d runs failed; last: %v\n", g, failed, reps, lastErr)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if a, ok := ready[1]; ok {
		if b, ok := ready[64]; ok {
			fmt.Fprintf(w, "g=1 / g=64: %.1fx\n", ratio(a, b))
		}
	}
	fmt.Fprintln(w)
	return nil
}

// readyOnce runs one cold group of n hello workers at g on a fresh
// runtime and returns its time to all-ready.
func readyOnce(ctx context.Context, n, g int) (time.Duration, error) {
	// Many containers start at once and the engine creates them one after
	// another (0.6-1.7 s each here), so a container may wait minutes for
	// its turn: the deadlines grow with the number of containers.
	packs := (n + g - 1) / g
	ready := max(3*time.Minute, time.Duration(packs)*2*time.Second)
	rt, err := docker.New(ctx, docker.Config{StartTimeout: ready, Env: coreShareEnv(packs)})
	if err != nil {
		return 0, err
	}
	defer rt.Close()
	spec := group.Spec{App: "hello", Workers: n, Granularity: g, Timeout: ready + time.Minute, ReadyTimeout: ready}
	res, err := group.Launch(ctx, spec, rt, group.BindAddr(rt.BindAddr()))
	if err != nil {
		return 0, err
	}
	if err := res.Err(); err != nil {
		return 0, err
	}
	if res.Cold != res.Containers {
		return 0, fmt.Errorf("%d of %d containers cold", res.Cold, res.Containers)
	}
	return res.Ready, nil
}

// quantile is the q-quantile of ds (nearest rank).
func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
