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
)
