package membership

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/volley-run/volley/comm/internal/leakcheck"
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
		if err := leakcheck.Find(10 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
