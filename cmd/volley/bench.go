package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/local"
)

// benchSuites maps a suite name to its runner.
var benchSuites = map[string]func(ctx context.Context, w io.Writer, o benchOptions) error{
	"startup":     benchStartup,
	"comm":        benchComm,
	"speculation": benchSpeculation,
	"serve":       benchServe,
	"docker":      benchDocker,
}

type benchOptions struct {
	workers   int
	sizes     []int // every -n given; workers is the first
	grains    []int
	reps      int
	transport string
	plot      string // --plot FILE.svg|png
	meanMs    int    // speculation: mean run time of the tasks
}

// plottable lists the suites that draw a figure with --plot.
var plottable = map[string]bool{"startup": true}

func newBenchCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench [SUITE]",
		Short: "Run a benchmark suite and print its figures (suites: startup, comm, serve, speculation, docker)",
		Long: `bench runs one of Volley's benchmark suites on this machine and prints a
table. Figures are ratios against a baseline measured in the same run.

  startup   time to all-ready of N workers for several granularities g,
            cold (new processes) and warm (pooled containers)
  comm      point-to-point: local latency, 64 MiB zero-copy handoff vs memcpy,
            remote ping-pong and bandwidth vs raw loopback TCP
  serve     volley serve with worker processes: sandboxes/s, invocations/s,
            group endpoint vs single activations (time to all-ready)
  speculation  speculative replicas: run-time tails and cold-start stragglers
            against the model, for K = 1, 2, 3
  docker    Docker backend: cold/warm/hot container start, time to all-ready`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			suite := "startup"
			if len(args) == 1 {
				suite = args[0]
			}
			run, ok := benchSuites[suite]
			if !ok {
				return usageErr(fmt.Errorf("unknown bench suite %q (have: %s)", suite, strings.Join(suiteNames(), ", ")))
			}
			if len(o.sizes) == 0 || slices.Min(o.sizes) < 1 || o.reps < 1 || len(o.grains) == 0 || o.meanMs < 1 {
				return usageErr(fmt.Errorf("bench needs -n >= 1, --reps >= 1, --mean-ms >= 1 and at least one -g"))
			}
			o.workers = o.sizes[0]
			if len(o.sizes) > 1 && suite != "startup" {
				return usageErr(fmt.Errorf("-n: only the startup suite takes several worker counts"))
			}
			if o.plot != "" {
				if !plottable[suite] {
					return usageErr(fmt.Errorf("--plot: suite %s draws no figure (suites with one: startup)", suite))
				}
				if err := checkPlotFile(o.plot); err != nil {
					return usageErr(err)
				}
			}
			for _, g := range o.grains {
				if g < 1 {
					return usageErr(fmt.Errorf("-g %d: granularity must be >= 1", g))
				}
			}
			if err := run(cmd.Context(), cmd.OutOrStdout(), o); err != nil {
				return failedErr(err)
			}
			return nil
		},
	}
	cmd.Flags().IntSliceVarP(&o.sizes, "workers", "n", []int{256}, "workers per group (startup: several, e.g. -n 16,64,256)")
	cmd.Flags().IntSliceVarP(&o.grains, "granularity", "g", []int{1, 4, 16, 64}, "granularities to compare")
	cmd.Flags().IntVar(&o.reps, "reps", 3, "repetitions per cell (the median is printed)")
	cmd.Flags().StringVar(&o.transport, "transport", "auto", "data transport for the comm suite: auto, tcp, sctp")
	cmd.Flags().IntVar(&o.meanMs, "mean-ms", 400, "speculation: mean run time 1/lambda of the Exp-distributed tasks, in ms")
	cmd.Flags().StringVar(&o.plot, "plot", "", "also draw the suite's figure into FILE.svg or FILE.png (startup: time to all-ready against N, or g, per g)")
	return cmd
}

func suiteNames() []string {
	names := make([]string, 0, len(benchSuites))
	for n := range benchSuites {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// benchStartup measures time to all-ready of a hello group for each N and
// g: cold (a fresh runtime, every container a new process) and warm (the
// same group again on the now-warm pool). It prints one table per N and,
// with --plot, draws them.
func benchStartup(ctx context.Context, w io.Writer, o benchOptions) error {
	var cells []startupCell
	for i, n := range o.sizes {
		if i > 0 {
			fmt.Fprintln(w)
		}
		rows, err := benchStartupN(ctx, w, n, o)
		if err != nil {
			return err
		}
		cells = append(cells, rows...)
	}
	if o.plot == "" {
		return nil
	}
	if err := plotStartup(o.plot, cells); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nfigure: %s\n", o.plot)
	return nil
}

// benchStartupN measures and prints the startup table of n workers.
func benchStartupN(ctx context.Context, w io.Writer, n int, o benchOptions) ([]startupCell, error) {
	var rows []startupCell
	for _, g := range o.grains {
		var colds, warms []time.Duration
		containers := 0
		for range o.reps {
			cold, warm, c, err := startupOnce(ctx, n, g)
			if err != nil {
				return nil, fmt.Errorf("startup N=%d g=%d: %w", n, g, err)
			}
			colds, warms, containers = append(colds, cold), append(warms, warm), c
		}
		rows = append(rows, startupCell{n: n, g: g, containers: containers, coldMs: msf(median(colds)), warmMs: msf(median(warms))})
	}
	fmt.Fprintf(w, "time to all-ready, N=%d workers, hello app, local backend, median of %d\n\n", n, o.reps)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "g\tcontainers\tcold ms\twarm ms\tcold/warm\t")
	byG := map[int]startupCell{}
	for _, r := range rows {
		byG[r.g] = r
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.1f\t%.1fx\t\n", r.g, r.containers, r.coldMs, r.warmMs, ratioF(r.coldMs, r.warmMs))
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	if a, ok := byG[1]; ok {
		if b, ok := byG[16]; ok {
			fmt.Fprintf(w, "\ng=1 / g=16: cold %.1fx, warm %.1fx\n", ratioF(a.coldMs, b.coldMs), ratioF(a.warmMs, b.warmMs))
		}
	}
	return rows, nil
}

// startupOnce runs one cold and one warm group of n hello workers at g,
// with the worker processes sized as `volley run` sizes them.
func startupOnce(ctx context.Context, n, g int) (cold, warm time.Duration, containers int, err error) {
	rt, err := local.New(local.Config{Env: coreShareEnv((n + g - 1) / g)})
	if err != nil {
		return 0, 0, 0, err
	}
	defer rt.Close()
	spec := group.Spec{App: "hello", Workers: n, Granularity: g, Timeout: 2 * time.Minute}
	for i, out := range []*time.Duration{&cold, &warm} {
		kind := []string{"cold", "warm"}[i]
		res, err := group.Launch(ctx, spec, rt)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("%s run: %w", kind, err)
		}
		if err := res.Err(); err != nil {
			return 0, 0, 0, fmt.Errorf("%s run: %w", kind, err)
		}
		if (i == 0 && res.Cold != res.Containers) || (i == 1 && res.Warm != res.Containers) {
			return 0, 0, 0, fmt.Errorf("run %d: cold %d warm %d of %d containers", i, res.Cold, res.Warm, res.Containers)
		}
		*out, containers = res.Ready, res.Containers
	}
	return cold, warm, containers, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ratioF(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// ratio is a/b for durations, 0 when b is not positive.
func ratio(a, b time.Duration) float64 { return ratioF(float64(a), float64(b)) }
