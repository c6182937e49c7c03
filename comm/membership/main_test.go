package membership

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests. memberlist's
// Shutdown does not wait for a probe in flight, which ends within
// ProbeInterval*AwarenessMaxMultiplier, so leaks are polled for a while.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChildNode())
	}
	code := m.Run()
	if code == 0 {
		if err := findLeaks(10 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// findLeaks polls goleak until no unexpected goroutine is left or
// timeout passes, and returns the last error.
func findLeaks(timeout time.Duration, opts ...goleak.Option) error {
	deadline := time.Now().Add(timeout)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
