package group

import "errors"

// Errors callers branch on. They are wrapped with detail.
var (
	// ErrBadSpec marks an invalid group specification or parameter.
	ErrBadSpec = errors.New("invalid group spec")
	// ErrUnknownApp marks an app name that is not registered.
	ErrUnknownApp = errors.New("unknown app")
	// ErrPackFailed marks a pack whose container failed (died, timed out,
	// or could not start); its ranks have no results.
	ErrPackFailed = errors.New("pack failed")
	// ErrPreempted is the cause given to the context of a speculative
	// replica that lost its race; runtimes stop such a container gently
	// (the local one: SIGTERM, then SIGKILL after a grace period).
	ErrPreempted = errors.New("replica preempted")
)
