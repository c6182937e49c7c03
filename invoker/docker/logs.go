package docker

import (
	"context"
	"os/exec"
	"time"

	"github.com/volley-run/volley/invoker/actlog"
	"github.com/volley-run/volley/invoker/sandbox"
)

var _ sandbox.LogSource = (*container)(nil)

// followTimeout is how long a destroyed container's log follower is given
// to deliver the last lines and end on its own before it is killed.
const followTimeout = 5 * time.Second

// follower feeds a container's output to its log collector: a `docker
// logs --follow --timestamps` child, whose stdout and stderr are the
// container's two streams, each line stamped by the engine when it was
// printed. It ends by itself when the container is removed.
//
// Why this way: OpenWhisk's invoker reads the json-file log under
// /var/lib/docker/containers, which needs the engine on this machine and
// root, and a file format that is not an interface. `docker attach` sees
// only what is printed after it attaches and ties itself to the
// container's signals. The Engine API's Go client would add the moby
// module tree for one call. The follower replays the log from the
// container's start, so nothing printed before it runs is lost, keeps
// the streams apart, carries the engine's timestamps, and works wherever
// the CLI does (DOCKER_HOST, contexts), at the cost of one CLI process
// per container, and only for containers started with a LogLimit (those
// of `volley serve`; a group launch starts none).
type follower struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the child is reaped and the collector closed
}

// startFollower starts the follower of container name, feeding logs.
// If it cannot start, logs is closed: collecting then reports the logs
// as incomplete.
func (r *Runtime) startFollower(name string, logs *actlog.Collector) *follower {
	cmd := exec.Command(r.eng.bin, "logs", "--follow", "--timestamps", name)
	cmd.Stdout, cmd.Stderr = logs.StampedWriter(actlog.Stdout), logs.StampedWriter(actlog.Stderr)
	f := &follower{cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		r.log.Warn("cannot follow the container's log; its activations get no logs", "container", name, "err", err)
		logs.Close()
		close(f.done)
		return f
	}
	go func() {
		if err := cmd.Wait(); err != nil {
			r.log.Debug("log follower ended", "container", name, "err", err)
		}
		logs.Close()
		close(f.done)
	}()
	return f
}

// stop waits for the follower of a removed container to end, killing it
// after followTimeout.
func (f *follower) stop() {
	if f == nil {
		return
	}
	select {
	case <-f.done:
		return
	case <-time.After(followTimeout):
	}
	if f.cmd.Process != nil {
		_ = f.cmd.Process.Kill()
	}
	<-f.done
}

// ActivationLogs implements sandbox.LogSource from the container's log
// follower. After Destroy the follower has read the log to its end.
func (c *container) ActivationLogs(ctx context.Context, wait bool) ([]string, error) {
	return actlog.ContainerLogs(ctx, c.logs, c.name, wait)
}
