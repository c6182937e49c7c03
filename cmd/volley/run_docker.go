package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/volley-run/volley/invoker/docker"
)

// startDocker makes the Docker runtime: an engine must answer and have
// the worker image.
func startDocker(ctx context.Context, g *globalFlags, f *runFlags, log *slog.Logger) (*docker.Runtime, error) {
	if f.memoryMB < 4 {
		return nil, usageErr(fmt.Errorf("--memory %d: a container needs at least 4 MB", f.memoryMB))
	}
	rt, err := docker.New(ctx, docker.Config{
		Image: f.image, MemoryMB: f.memoryMB, StartTimeout: f.readyTimeout, Volumes: f.volumes,
		Env: workerEnv(g, f), Logger: log,
	})
	if err != nil {
		if errors.Is(err, docker.ErrNoEngine) || errors.Is(err, docker.ErrNoImage) {
			return nil, failedErr(fmt.Errorf("--backend docker: %w", err))
		}
		return nil, failedErr(err)
	}
	return rt, nil
}
