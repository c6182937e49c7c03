package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// ErrNoEngine marks a machine where no Docker Engine answers.
var ErrNoEngine = errors.New("no Docker engine answers")

// engine runs the docker CLI, as OpenWhisk's invoker does.
type engine struct {
	bin string
}

// run runs `docker args...` and returns its trimmed stdout; a failure
// carries the command and what it printed on stderr.
func (e engine) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return "", fmt.Errorf("docker %s: %w", args[0], err)
		}
		return "", fmt.Errorf("docker %s: %w: %s", args[0], err, msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// lines splits CLI output into its non-empty lines.
func lines(out string) []string {
	var ls []string
	for l := range strings.SplitSeq(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	return ls
}

// Ping checks that a Docker engine answers through the CLI bin (default
// "docker") and returns the engine's version.
func Ping(ctx context.Context, bin string) (string, error) {
	if bin == "" {
		bin = "docker"
	}
	if _, err := exec.LookPath(bin); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	v, err := engine{bin}.run(ctx, "version", "--format", "{{.Server.Version}}")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	return v, nil
}
