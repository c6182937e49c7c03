package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/volley-run/volley/invoker/docker"
	"github.com/volley-run/volley/invoker/sandbox"
)

func init() { sandboxRuntimes["docker"] = newDockerServeRuntime }

// dockerSetupTimeout bounds the engine check, the sweep and the network
// creation when `volley serve --runtime docker` or `volley run --backend
// docker` starts.
const dockerSetupTimeout = time.Minute

// newDockerServeRuntime runs activations as Docker containers of the
// action's image on a bridge network of the server's own; the launcher of
// a group (`volley run --backend openwhisk`) must then bind its membership
// on that network's gateway (--bind-addr), which the server prints.
func newDockerServeRuntime(f *serveFlags, g *globalFlags, log *slog.Logger) (sandbox.Factory, func() error, func(string) string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerSetupTimeout)
	defer cancel()
	rt, err := docker.New(ctx, docker.Config{Image: f.image, Env: []string{"VOLLEY_LOG_LEVEL=" + g.logLevel}, Logger: log})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--runtime docker: %w", err)
	}
	fmt.Fprintf(os.Stderr, "volley serve: containers on docker network %s; launchers bind their membership on %s (--bind-addr)\n",
		rt.Network(), rt.BindAddr())
	return rt, rt.Close, dockerImage, nil
}

// dockerImage maps an action's image for the Docker runtime: an image name
// is used as is; a path (a worker executable, for the process runtime)
// means the default worker image.
func dockerImage(image string) string {
	if strings.HasPrefix(image, "/") {
		return ""
	}
	return image
}
