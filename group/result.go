package group

import (
	"fmt"
	"time"

	"github.com/volley-run/volley/comm"
)

// Result is the outcome of a group: one RankResult per rank, in rank order,
// and how the start went.
type Result struct {
	Group       string `json:"group"`
	App         string `json:"app"`
	Workers     int    `json:"workers"`
	Granularity int    `json:"granularity"`
	Containers  int    `json:"containers"`
	Cold        int    `json:"cold"`
	Warm        int    `json:"warm"`
	// Start is when Launch began (the launcher's clock).
	Start time.Time `json:"start"`
	// Ready is the time from launch until every pack's workers were
	// running; zero when some pack never got there.
	Ready time.Duration `json:"-"`
	// Total is the time from launch until the last result.
	Total   time.Duration `json:"-"`
	ReadyMs float64       `json:"ready_ms"`
	TotalMs float64       `json:"total_ms"`
	// Transport is the data transport the containers used.
	Transport string `json:"transport"`
	// Comm sums every rank's message and byte counters.
	Comm comm.Stats `json:"comm"`
	// Speculation counts speculative replicas (zero without speculation).
	Speculation SpeculationStats `json:"speculation"`
	Packs       []PackSummary    `json:"packs"`
	Ranks       []RankResult     `json:"ranks"`
	// Replicas lists every speculative replica, winner or loser, when
	// the group ran with speculation.
	Replicas []ReplicaSummary `json:"replicas,omitempty"`
}

// PackSummary is how one pack's container started and ended.
type PackSummary struct {
	Pack      int           `json:"pack"`
	Lo        int           `json:"lo"`
	Hi        int           `json:"hi"`
	Container ContainerInfo `json:"container"`
	Error     string        `json:"error,omitempty"`
	// Timing is the container's PackResult.Timing (nil when it failed).
	Timing *PackTiming `json:"timing,omitempty"`
}

// Failed returns the ranks that have an error.
func (r *Result) Failed() []RankResult {
	var failed []RankResult
	for _, rr := range r.Ranks {
		if rr.Error != "" {
			failed = append(failed, rr)
		}
	}
	return failed
}

// Err is nil when every rank succeeded; otherwise it says how many failed
// and names the first failed rank, its pack and the cause.
func (r *Result) Err() error {
	failed := r.Failed()
	if len(failed) == 0 {
		return nil
	}
	first := failed[0]
	return fmt.Errorf("group %s: %d of %d ranks failed; first: rank %d (pack %d): %s",
		r.Group, len(failed), r.Workers, first.Rank, first.Pack, first.Error)
}
