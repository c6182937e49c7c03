// Package sandbox names what every container runtime of Volley provides: a
// container that serves the OpenWhisk action protocol (POST /init, POST
// /run), and a Factory that starts them. The process runtime
// (invoker/local) and the Docker runtime (invoker/docker) implement it;
// what sits above (a warm pool, the embedded controller behind `volley
// serve`) is written once against these interfaces, the way OpenWhisk's
// invoker drives its containers without knowing how they are made.
package sandbox

import (
	"context"
	"errors"
	"time"
)

// ErrPaused is returned by operations that need a running sandbox when the
// sandbox is paused.
var ErrPaused = errors.New("sandbox is paused")

// Spec says what to start.
type Spec struct {
	// Image is what the container runs: the worker executable for the
	// process runtime (empty: the runtime's default binary), the image
	// name for Docker (empty: the runtime's default image).
	Image string
	// MemoryMB is the container's memory limit (OpenWhisk's action memory
	// limit); 0 means no limit. Runtimes that cannot enforce it say so in
	// their documentation.
	MemoryMB int
	// Env is added to the container's environment ("KEY=value").
	Env []string
	// Labels are attached to the container where the runtime supports
	// them (Docker labels); "volley.group" marks what a group made.
	Labels map[string]string
	// LogLimit is how many bytes of each activation's output a sandbox
	// that is a LogSource keeps (OpenWhisk's limits.logs, in bytes). 0,
	// the default, collects nothing, and the runtime need not read the
	// container's output for it (a group launch has no use for it).
	LogLimit int
}

// LogSource is implemented by sandboxes that keep what their container
// prints on stdout and stderr, cut into activations at OpenWhisk's log
// sentinels (invoker/actlog), when started with a Spec.LogLimit. An
// embedded controller calls ActivationLogs once after every activation
// (each /run, and a failed /init), before the container's next one, as
// OpenWhisk's invoker reads an action container's log.
type LogSource interface {
	// ActivationLogs returns the next activation's log lines, formatted
	// as OpenWhisk stores them ("<time> stdout: text"), sentinels
	// removed. With wait it waits for both streams' sentinels, within
	// OpenWhisk's deadlines (2 s without output; max(limit MB, 5) x 2 s
	// in all); without, it returns what has come so far, as OpenWhisk
	// does after a developer error. On a destroyed sandbox it returns
	// what the container printed before it ended. Logs cut at the limit
	// or given up on end with OpenWhisk's notice, and the error says so
	// (actlog.ErrTruncated, actlog.ErrIncomplete): where the container's
	// next activation starts is then unsure, and OpenWhisk removes such
	// a container. With no LogLimit it returns nil, nil.
	ActivationLogs(ctx context.Context, wait bool) ([]string, error)
}

// Sandbox is one started container. Its action-protocol endpoint is ready
// when Start returns; /init has not been sent yet.
type Sandbox interface {
	// ID names the container within its runtime (a pid, a container id).
	ID() string
	// Addr is the action protocol's "host:port".
	Addr() string
	// Pause freezes the container (OpenWhisk pauses idle warm
	// containers); Resume thaws it.
	Pause(ctx context.Context) error
	// Resume thaws a paused container.
	Resume(ctx context.Context) error
	// Exited is closed once the container has stopped.
	Exited() <-chan struct{}
	// ExitErr says how the container ended; valid once Exited is closed.
	ExitErr() error
	// Stop asks the container to end (SIGTERM), gives it grace to do so,
	// then destroys it, and returns once it is gone, saying what ended it:
	// "SIGTERM", "SIGKILL", or "" when it had ended already. Preempted
	// speculative replicas are stopped this way.
	Stop(grace time.Duration) string
	// Destroy stops the container at once and releases everything it
	// holds, waiting until it is gone. It is safe to call more than once.
	Destroy()
}

// Factory starts sandboxes.
type Factory interface {
	// Start starts one container and waits until its action protocol
	// accepts requests, or ctx ends.
	Start(ctx context.Context, spec Spec) (Sandbox, error)
}
