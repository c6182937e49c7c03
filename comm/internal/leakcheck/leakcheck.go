// Package leakcheck finds goroutines that outlive a package's tests, for
// the TestMain of comm's packages. memberlist's Shutdown does not wait for
// a probe in flight (one to a node that has just left can take seconds),
// so it polls goleak for a while before it reports a leak.
package leakcheck

import (
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
