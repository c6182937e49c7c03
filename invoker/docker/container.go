package docker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/volley-run/volley/invoker/actlog"
)

// container is one Docker container of the worker image; it implements
// sandbox.Sandbox.
type container struct {
	rt   *Runtime
	name string
	id   string // the engine's id, once created
	ip   netip.Addr
	addr string // ip:8080

	exitOnce sync.Once
	exited   chan struct{}
	err      error // how it ended; read after exited

	destroyOnce sync.Once

	logs *actlog.Collector // nil without a LogLimit

	mu        sync.Mutex
	follow    *follower // feeds logs
	destroyed bool
}

func (c *container) ID() string              { return c.name }
func (c *container) Addr() string            { return c.addr }
func (c *container) Exited() <-chan struct{} { return c.exited }

// ExitErr says how the container ended (its exit code); nil while it runs.
func (c *container) ExitErr() error {
	select {
	case <-c.exited:
		return c.err
	default:
		return nil
	}
}

// markExited records the container's end; the first report wins.
func (c *container) markExited(err error) {
	c.exitOnce.Do(func() {
		c.err = err
		close(c.exited)
	})
}

// Pause freezes the container (`docker pause`, the cgroup freezer), as
// OpenWhisk pauses an idle warm container.
func (c *container) Pause(ctx context.Context) error {
	if _, err := c.rt.eng.run(ctx, "pause", c.name); err != nil {
		return fmt.Errorf("container %s: %w", c.name, err)
	}
	return nil
}

// Resume thaws it (`docker unpause`).
func (c *container) Resume(ctx context.Context) error {
	if _, err := c.rt.eng.run(ctx, "unpause", c.name); err != nil {
		return fmt.Errorf("container %s: %w", c.name, err)
	}
	return nil
}

// Destroy removes the container at once (`docker rm -f`, paused or not)
// and gives its address back. It is safe to call more than once.
func (c *container) Destroy() {
	c.destroyOnce.Do(func() {
		if err := c.rt.rm.remove(c.name); err != nil {
			c.rt.log.Warn("remove container", "container", c.name, "err", err)
		}
		c.mu.Lock()
		c.destroyed = true
		f := c.follow
		c.mu.Unlock()
		f.stop() // the log's last lines are in once it ends
		c.rt.events.unsubscribe(c.name)
		c.markExited(fmt.Errorf("container %s removed", c.name))
		c.rt.forget(c)
	})
}

// Stop is `docker stop -t`: SIGTERM, then SIGKILL once grace has passed;
// then the container is removed. Docker does not say which signal ended
// it, so a container still running just before the grace ran out counts
// as killed.
func (c *container) Stop(grace time.Duration) string {
	select {
	case <-c.exited:
		c.Destroy()
		return ""
	default:
	}
	secs := max(1, int((grace+time.Second-1)/time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), grace+destroyTimeout)
	defer cancel()
	t0 := time.Now()
	how := "SIGTERM"
	if _, err := c.rt.eng.run(ctx, "stop", "-t", fmt.Sprint(secs), c.name); err != nil {
		c.rt.log.Warn("stop container", "container", c.name, "err", err)
	}
	if time.Since(t0) >= time.Duration(secs)*time.Second {
		how = "SIGKILL"
	}
	c.Destroy()
	return how
}

// destroyTimeout bounds one `docker rm -f` of one container, and is the
// base of a batch's deadline (batchTimeout).
const destroyTimeout = 30 * time.Second

// waitListening waits until the container accepts TCP connections on
// addr, it exits, or ctx ends.
func (c *container) waitListening(ctx context.Context) error {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("container %s exited before it listened on %s: %v", c.name, c.addr, c.err)
		case <-ctx.Done():
			return fmt.Errorf("container %s: not listening on %s: %w", c.name, c.addr, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
