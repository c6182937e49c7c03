package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/volley-run/volley/invoker/action"
)

func newWorkerCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Serve the OpenWhisk action protocol (the container entrypoint)",
		Long: `worker is what runs inside a container: it serves POST /init and POST /run
on :8080 (or $VOLLEY_LISTEN) and runs one pack of a group per /run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lvl := os.Getenv("VOLLEY_LOG_LEVEL"); lvl != "" && !cmd.Flags().Changed("log-level") {
				g.logLevel = lvl
			}
			if f := os.Getenv("VOLLEY_LOG_FORMAT"); f != "" && !cmd.Flags().Changed("log-format") {
				g.logFormat = f
			}
			log, err := g.stderrLogger()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			run := action.PackRunner(log)
			if dir := os.Getenv(envCPUProfile); dir != "" {
				run = profiled(run, dir, log)
			}
			srv := action.NewServer(run, log, os.Stdout, os.Stderr)
			if err := action.Serve(ctx, srv, log); err != nil {
				return failedErr(err)
			}
			return nil
		},
	}
}

// envCPUProfile names a directory; when it is set, a worker writes a CPU
// profile of each activation there (cpu-PID-ACTIVATION.pprof). The local
// backend's containers inherit the environment of `volley run`.
const envCPUProfile = "VOLLEY_CPU_PROFILE"

// profiled wraps run so that each activation runs under the CPU profiler.
// A profile that cannot be written is logged, and the activation runs
// unprofiled.
func profiled(run action.RunFunc, dir string, log *slog.Logger) action.RunFunc {
	return func(ctx context.Context, req action.RunRequest) (any, error) {
		name := filepath.Join(dir, fmt.Sprintf("cpu-%d-%s.pprof", os.Getpid(), req.ActivationID))
		f, err := os.Create(name)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			log.Warn("cpu profile", "file", name, "err", err)
			if f != nil {
				f.Close()
			}
			return run(ctx, req)
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				log.Warn("cpu profile", "file", name, "err", err)
			}
		}()
		return run(ctx, req)
	}
}
