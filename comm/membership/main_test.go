package membership

import (
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
	os.Exit(leakcheck.Run(m, 10*time.Second))
}
