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

// remove removes containers at once (`docker rm -f -v`), paused or not.
// Containers already gone, or being removed by another sweep, are not an
// error.
func (e engine) remove(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	if _, err := e.run(ctx, append([]string{"rm", "-f", "-v"}, names...)...); err != nil && !onlyGone(err) {
		return err
	}
	return nil
}

// onlyGone reports whether every complaint in a CLI error is about
// something that is gone already or on its way out.
func onlyGone(err error) bool {
	_, msg, ok := strings.Cut(err.Error(), ": Error response from daemon: ")
	if !ok {
		return false
	}
	for _, l := range lines("Error response from daemon: " + msg) {
		l = strings.TrimPrefix(l, "Error response from daemon: ")
		if !strings.HasPrefix(l, "No such container") && !strings.HasPrefix(l, "No such network") &&
			!strings.Contains(l, "is already in progress") && !strings.HasPrefix(l, "network") {
			return false
		}
		if strings.HasPrefix(l, "network") && !strings.HasSuffix(l, "not found") {
			return false
		}
	}
	return true
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
