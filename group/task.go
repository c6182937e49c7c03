package group

import (
	"context"
	"encoding/json"
	"time"

	"github.com/volley-run/volley/comm"
	"github.com/volley-run/volley/comm/membership"
)

// PackTask is everything a container needs to run one pack. It travels as
// the JSON "value" of an action-protocol /run request.
type PackTask struct {
	Group       string `json:"group"`
	App         string `json:"app"`
	Workers     int    `json:"workers"`
	Granularity int    `json:"granularity"`
	Pack        Pack   `json:"pack"`
	Params      Params `json:"params,omitempty"`
	// Deadline ends the pack's work; ReadyDeadline ends its wait for the
	// other packs (the ready barrier).
	Deadline      time.Time `json:"deadline"`
	ReadyDeadline time.Time `json:"ready_deadline"`
	// Secret is the group's fresh secret: membership gossip is encrypted
	// with it and data connections prove they know it.
	Secret []byte `json:"secret"`
	// Seeds are membership addresses to join (the launcher's first).
	Seeds []string `json:"seeds"`
	// Transport ("tcp", "sctp", "auto") and Compression ("none", "zstd",
	// "s2") configure the data plane between containers.
	Transport   string `json:"transport,omitempty"`
	Compression string `json:"compression,omitempty"`
	// MembershipTiming is "default", "dense" or "crowded" (see Spec).
	MembershipTiming string `json:"membership_timing,omitempty"`
	// Record is what the container records about each rank (see Record).
	Record Recording `json:"record,omitempty"`
	// Replica numbers this container among the speculative replicas of
	// the pack (0 for the first). Arbitrated: the replicas race to
	// register and only the one the launcher declares the winner runs.
	Replica    int  `json:"replica,omitempty"`
	Arbitrated bool `json:"arbitrated,omitempty"`
	// AwaitReady: the pack's workers start only when the launcher
	// announces the group ready, together with every replica (a flight).
	AwaitReady bool `json:"await_ready,omitempty"`
}

// membershipTiming maps a timing profile name to its timings.
func membershipTiming(name string) membership.Timing {
	switch name {
	case "dense":
		return membership.DenseTiming()
	case "crowded":
		return membership.CrowdedTiming()
	}
	return membership.DefaultTiming()
}

// ContainerInfo says which container ran a pack and how it started. The
// runtime fills it in.
type ContainerInfo struct {
	// ID names the container within its runtime (a pid, a container id, an
	// activation id).
	ID string `json:"id"`
	// Cold is true when the container was started for this pack, false when
	// it came from the warm pool.
	Cold bool `json:"cold"`
	// StartMs is how long it took to get the container ready to run
	// (process start plus /init for a cold one; near zero for a warm one).
	StartMs float64 `json:"start_ms"`
	// Start is how the container started: StartCold, StartWarm or
	// StartPaused; empty when the runtime does not say.
	Start string `json:"start,omitempty"`
}

// The kinds of container start in ContainerInfo.Start, as OpenWhisk
// counts them.
const (
	// StartCold is a container started for this pack (create, /init).
	StartCold = "cold"
	// StartWarm is an idle container that was still running.
	StartWarm = "warm"
	// StartPaused is an idle container that was paused and is resumed.
	StartPaused = "paused"
)

// PackResult is what a container returns for one pack.
type PackResult struct {
	Pack      int           `json:"pack"`
	Container ContainerInfo `json:"container"`
	// ReadyAt is when the pack's workers started running.
	ReadyAt time.Time `json:"ready_at"`
	// Transport is the data transport the container used.
	Transport string       `json:"transport"`
	Ranks     []RankResult `json:"ranks"`
	// Timing is when the pack joined and passed the ready barrier.
	Timing *PackTiming `json:"timing,omitempty"`
}

// RankResult is one rank's outcome: a JSON result or an error message.
type RankResult struct {
	Rank   int             `json:"rank"`
	Pack   int             `json:"pack"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
	// Comm counts the rank's messages and bytes, local and remote.
	Comm comm.Stats `json:"comm"`
	// Timing is what the container recorded about the rank, when asked
	// (see Record); nil otherwise.
	Timing *RankTiming `json:"timing,omitempty"`
}

// Runtime runs packs in containers. The invoker packages implement it
// (local processes, Docker, OpenWhisk); group never depends on them.
type Runtime interface {
	// RunPack runs one pack to completion in a container and returns its
	// per-rank results. It returns an error when the container itself
	// failed: it could not start, died, broke the protocol or ran past ctx.
	// Rank errors are not container failures: they come back in the result.
	RunPack(ctx context.Context, task PackTask) (PackResult, error)
}
