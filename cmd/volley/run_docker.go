package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/volley-run/volley/invoker/docker"
)

// startDocker makes the Docker runtime: an engine must answer and have
// the worker image. The engine check, the sweep and the network creation
// are bounded by dockerSetupTimeout, as for `volley serve`, so a stuck
// engine fails the run instead of hanging it.
func startDocker(ctx context.Context, g *globalFlags, f *runFlags, log *slog.Logger) (*docker.Runtime, error) {
	if f.memoryMB < 4 {
		return nil, usageErr(fmt.Errorf("--memory %d: a container needs at least 4 MB", f.memoryMB))
	}
	setupCtx, cancel := context.WithTimeout(ctx, dockerSetupTimeout)
	defer cancel()
	rt, err := docker.New(setupCtx, docker.Config{
		Image: f.image, MemoryMB: f.memoryMB, StartTimeout: f.readyTimeout, Volumes: f.volumes,
		Env: workerEnv(g, f), Logger: log,
	})
	if err != nil {
		if setupCtx.Err() != nil && ctx.Err() == nil {
			return nil, failedErr(fmt.Errorf("--backend docker: the engine did not finish setting up within %v: %w", dockerSetupTimeout, err))
		}
		if errors.Is(err, docker.ErrNoEngine) || errors.Is(err, docker.ErrNoImage) {
			return nil, failedErr(fmt.Errorf("--backend docker: %w", err))
		}
		return nil, failedErr(err)
	}
	return rt, nil
}
