package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/docker"
	"github.com/volley-run/volley/invoker/local"
)

// runFlags are the flags of `volley run`.
type runFlags struct {
	workers      int
	granularity  int
	params       []string
	backend      string
	jsonOut      bool
	quiet        bool
	timeout      time.Duration
	readyTimeout time.Duration
	workerBinary string
	transport    string
	compression  string
	speculation  group.Speculation

	metricsAddr   string
	metricsLinger time.Duration
	traceFile     string
	ow            openwhiskFlags
	image         string
	memoryMB      int
	volumes       []string
}

func newRunCmd(g *globalFlags) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run APP [-n N] [-g G] [-p key=value]...",
		Short: "Run a group of N workers of APP, G per container",
		Example: `  volley run hello -n 64 -g 8
  volley run hello -n 10 -g 4 -p sleep=1s --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr(fmt.Errorf("run takes exactly one APP, got %d arguments (see `volley apps`)", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGroup(cmd, g, &f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.IntVarP(&f.workers, "workers", "n", 1, "number of workers (ranks) N")
	fl.IntVarP(&f.granularity, "granularity", "g", 1, "workers per container G")
	fl.StringArrayVarP(&f.params, "param", "p", nil, "app parameter key=value (repeatable)")
	fl.StringVar(&f.backend, "backend", "local", "where containers run: local (processes), docker (containers of --image), openwhisk")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object on stdout")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress line on stderr")
	fl.DurationVar(&f.timeout, "timeout", group.DefaultTimeout, "deadline for the whole group")
	fl.DurationVar(&f.readyTimeout, "ready-timeout", group.DefaultReadyTimeout, "deadline for every container to be ready")
	fl.StringVar(&f.transport, "transport", "auto", "data transport between containers: auto (SCTP if the kernel has it, else TCP), tcp, sctp")
	fl.StringVar(&f.compression, "compress", "none", "compression of payloads between containers: none, zstd, s2")
	fl.IntVar(&f.speculation.Replicas, "speculate", 0, "speculative replicas per pack, K (0 or 1: none); the first to register (or finish) wins")
	fl.StringVar(&f.speculation.Mode, "speculate-mode", group.SpeculateStartup, "what replicas race for: startup (to register; any app) or exec (to finish; apps whose workers do not communicate)")
	fl.Float64Var(&f.speculation.After, "speculate-after", 0, "0: start all K replicas at once; q in (0,1): start a pack's replicas once it is later than slack x the q-quantile of its peers")
	fl.Float64Var(&f.speculation.Slack, "speculate-slack", group.DefaultSlack, "with --speculate-after: how much later than the quantile a pack must be (>= 1)")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on http://ADDR/metrics while the group runs (e.g. 127.0.0.1:9100, or :0 for any port)")
	fl.DurationVar(&f.metricsLinger, "metrics-linger", 0, "keep serving metrics this long after the group ends (default: stop at exit)")
	fl.StringVar(&f.traceFile, "trace", "", "write a Chrome trace-event JSON file of the group (open in Perfetto or chrome://tracing)")
	fl.StringVar(&f.workerBinary, "worker-binary", "", "worker executable for the local backend (default: this volley binary)")
	f.ow.register(fl)
	fl.StringVar(&f.image, "image", docker.DefaultImage, "worker image for the docker and openwhisk backends (deploy/build-image.sh builds it)")
	fl.IntVar(&f.memoryMB, "memory", 256, "memory limit per container in MB (docker: the container's limit; openwhisk: the action's)")
	fl.StringArrayVar(&f.volumes, "volume", nil, "bind mount host-path:container-path[:ro] into every container (docker backend, repeatable)")
	return cmd
}

func runGroup(cmd *cobra.Command, g *globalFlags, f *runFlags, app string) error {
	log, err := g.stderrLogger()
	if err != nil {
		return err
	}
	params, err := group.ParseParams(f.params)
	if err != nil {
		return usageErr(fmt.Errorf("-p: %w", err))
	}
	spec := group.Spec{
		App: app, Workers: f.workers, Granularity: f.granularity, Params: params,
		Timeout: f.timeout, ReadyTimeout: f.readyTimeout, Transport: f.transport, Compression: f.compression,
		Speculation: f.speculation,
	}
	if err := spec.Validate(); err != nil {
		return usageErr(err)
	}
	if _, err := group.Lookup(app); err != nil {
		return usageErr(err)
	}
	if err := group.CheckSpeculation(spec); err != nil {
		return usageErr(err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var rt group.Runtime
	var launchOpts []group.LaunchOption
	switch f.backend {
	case "local":
		lrt, err := newLocalRuntime(ctx, g, f, log)
		if err != nil {
			return err
		}
		defer lrt.Close()
		rt = lrt
	case "openwhisk":
		if rt, launchOpts, err = newOpenWhiskRuntime(ctx, &f.ow, f.image, f.memoryMB, f.timeout, log); err != nil {
			return err
		}
	case "docker":
		drt, err := startDocker(ctx, g, f, log)
		if err != nil {
			return err
		}
		defer drt.Close()
		rt, launchOpts = drt, append(launchOpts, group.BindAddr(drt.BindAddr()))
	default:
		return usageErr(fmt.Errorf("--backend %q: want local, docker or openwhisk", f.backend))
	}

	obs, err := startObserving(f, log, os.Stderr)
	if err != nil {
		return err
	}
	defer obs.close(ctx)
	prog := newProgress(os.Stderr, f.quiet, spec.Workers)
	obs.started(app)
	res, err := group.Launch(ctx, spec, rt, append(append(obs.launchOptions(), launchOpts...), group.OnPackDone(prog.update), group.Logger(log))...)
	prog.finish()
	if oerr := obs.ended(app, res, err); oerr != nil {
		return failedErr(oerr)
	}
	if err != nil {
		if errors.Is(err, group.ErrBadSpec) || errors.Is(err, group.ErrUnknownApp) {
			return usageErr(err)
		}
		return failedErr(err)
	}
	out := cmd.OutOrStdout()
	if f.jsonOut {
		enc := json.NewEncoder(out)
		if err := enc.Encode(res); err != nil {
			return failedErr(fmt.Errorf("write JSON: %w", err))
		}
	} else if err := printResult(out, res); err != nil {
		return failedErr(err)
	}
	if err := res.Err(); err != nil {
		if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
			return failedErr(fmt.Errorf("interrupted: %w", err))
		}
		return failedErr(err)
	}
	return nil
}

// workerEnv is the environment of the worker containers that run on this
// machine (local and docker backends): the log settings and, unless the
// user set GOMAXPROCS, each container's share of the machine's cores
// (coreShare), as a CPU limit gives a Go program in an OpenWhisk
// container. Without it every pack runs NumCPU schedulers and garbage
// collectors and 16 packs on 2 cores starve each other.
func workerEnv(g *globalFlags, f *runFlags) []string {
	env := []string{"VOLLEY_LOG_LEVEL=" + g.logLevel, "VOLLEY_LOG_FORMAT=" + g.logFormat}
	if f.workers > 0 && f.granularity > 0 {
		env = append(env, coreShareEnv((f.workers+f.granularity-1)/f.granularity)...)
	}
	return env
}

// coreShareEnv sets GOMAXPROCS for a local worker process to coreShare,
// unless the user set GOMAXPROCS.
func coreShareEnv(packs int) []string {
	if _, set := os.LookupEnv("GOMAXPROCS"); set || packs < 1 {
		return nil
	}
	return []string{fmt.Sprintf("GOMAXPROCS=%d", coreShare(packs))}
}

// coreShare is the GOMAXPROCS of each of packs containers that run at
// once on this machine: twice their share of the cores (2 * NumCPU /
// packs), at least 1 and at most NumCPU. Twice, so that the machine stays
// busy when some containers wait for others: with exactly their share, 2
// containers on 2 cores left a core idle whenever one waited for the
// other (TeraSort of 10M records, 16 workers in 2 containers: 12% faster
// with 2 schedulers each than with 1).
func coreShare(packs int) int {
	return max(1, min(runtime.NumCPU(), 2*runtime.NumCPU()/packs))
}

// newLocalRuntime starts the local backend and checks its worker binary.
func newLocalRuntime(ctx context.Context, g *globalFlags, f *runFlags, log *slog.Logger) (*local.Runtime, error) {
	rt, err := local.New(local.Config{
		Binary: f.workerBinary,
		Env:    workerEnv(g, f),
		Logger: log,
	})
	if err != nil {
		return nil, usageErr(err)
	}
	bound := group.Spec{Timeout: f.timeout, ReadyTimeout: f.readyTimeout}.ReadyBound()
	probeCtx, cancel := context.WithTimeout(ctx, bound)
	err = rt.Probe(probeCtx)
	timedOut := probeCtx.Err() != nil && ctx.Err() == nil
	cancel()
	if err != nil {
		rt.Close()
		return nil, probeErr(err, timedOut, bound)
	}
	return rt, nil
}

// probeErr words a failed probe of the worker binary: a binary that cannot
// be run or is not a Volley worker is bad usage; one that did not start
// within the start-up bound, or a probe cut short, is a failure.
func probeErr(err error, timedOut bool, bound time.Duration) error {
	var pathErr *fs.PathError
	var execErr *exec.Error
	switch {
	case timedOut:
		return failedErr(fmt.Errorf("worker binary did not start within %v (raise --ready-timeout): %w", bound, err))
	case errors.Is(err, local.ErrNotWorker) || errors.As(err, &pathErr) || errors.As(err, &execErr):
		return usageErr(fmt.Errorf("worker binary: %w", err))
	}
	return failedErr(fmt.Errorf("worker binary check: %w", err))
}
