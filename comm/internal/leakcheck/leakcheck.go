// Package leakcheck finds goroutines that outlive a package's tests, for
// the TestMain of comm's packages. memberlist's Shutdown does not wait for
// a probe in flight (one to a node that has just left can take seconds),
// so it polls goleak for a while before it reports a leak.
package leakcheck

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Find polls goleak until no unexpected goroutine is left or timeout
// passes, and returns the last error (nil when none is left).
func Find(timeout time.Duration, opts ...goleak.Option) error {
	deadline := time.Now().Add(timeout)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Run runs a package's tests and, if they pass, fails the run (exit code
// 1) when Find still sees a leaked goroutine after timeout. A TestMain
// calls os.Exit(leakcheck.Run(m, timeout)).
func Run(m *testing.M, timeout time.Duration) int {
	code := m.Run()
	if code == 0 {
		if err := Find(timeout); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	return code
}
