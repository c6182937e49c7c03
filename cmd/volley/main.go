// Command volley runs burst-parallel jobs: a group of N workers, packed g
// to a container, started together. See `volley --help`.
package main

import (
	"errors"
	"fmt"
	"os"

	_ "github.com/volley-run/volley/apps/all" // registers the built-in apps
)

// Exit statuses, as the CLI contract fixes them.
const (
	exitOK     = 0
	exitFailed = 1 // a rank or the group failed
	exitUsage  = 2 // bad usage or input
)

// exitError carries the exit status an error should end the process with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error  { return &exitError{code: exitUsage, err: err} }
func failedErr(err error) error { return &exitError{code: exitFailed, err: err} }

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI with args and returns the exit status.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(os.Stderr, "volley: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Errors cobra itself returns: unknown command or flag, wrong number
	// of arguments. All are usage errors.
	return exitUsage
}
