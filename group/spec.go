package group

import (
	"fmt"
	"time"
)

// Default deadlines applied by Spec.withDefaults.
const (
	// DefaultTimeout bounds a whole group, from launch to the last result.
	DefaultTimeout = 10 * time.Minute
	// DefaultReadyTimeout bounds the start-up: every pack must be ready
	// (its container started and its workers about to run) within it.
	DefaultReadyTimeout = 60 * time.Second
)

// Spec describes one group invocation.
type Spec struct {
	// App is the registered name of the worker function to run.
	App string
	// Workers is N, the number of ranks (>= 1).
	Workers int
	// Granularity is g, the number of workers per container (>= 1).
	// Values above Workers are clamped to Workers.
	Granularity int
	// Params are the app's key=value parameters, the same for every rank.
	Params Params
	// Timeout bounds the whole group; zero means DefaultTimeout.
	Timeout time.Duration
	// ReadyTimeout bounds start-up; zero means DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Transport is the data transport between containers: "auto"
	// (default: SCTP when the kernel has it, else TCP), "tcp" or "sctp".
	Transport string
	// Compression of payloads between containers: "none" (default),
	// "zstd" or "s2".
	Compression string
	// MembershipTiming picks the failure-detection timings: "default"
	// (membership.DefaultTiming: a container per core, a silent pack is
	// declared dead within about 3-5 s), "dense" (membership.DenseTiming:
	// many containers per core, about 13-19 s including a grace in which
	// a pack that was only starved of CPU can refute its death),
	// "crowded" (membership.CrowdedTiming: hundreds of containers on a
	// few cores, about 50 s), or "" for auto: dense above DenseAbovePacks
	// packs, crowded above CrowdedAbovePacks. Broken connections and
	// containers the runtime sees die are detected at once either way.
	MembershipTiming string
	// Speculation asks for speculative replicas of the packs (off by
	// default); see Speculation and CheckSpeculation.
	Speculation Speculation
}

// DenseAbovePacks is the pack count above which the auto membership timing
// is "dense".
const DenseAbovePacks = 32

// CrowdedAbovePacks is the pack count above which the auto membership
// timing is "crowded".
const CrowdedAbovePacks = 128

// Validate reports the first thing wrong with s, naming the field.
func (s Spec) Validate() error {
	if s.App == "" {
		return fmt.Errorf("%w: app name is empty", ErrBadSpec)
	}
	if s.Workers < 1 {
		return fmt.Errorf("%w: workers (-n) must be >= 1, got %d", ErrBadSpec, s.Workers)
	}
	if s.Granularity < 1 {
		return fmt.Errorf("%w: granularity (-g) must be >= 1, got %d", ErrBadSpec, s.Granularity)
	}
	if s.Timeout < 0 || s.ReadyTimeout < 0 {
		return fmt.Errorf("%w: timeouts must not be negative", ErrBadSpec)
	}
	switch s.Transport {
	case "", "auto", "tcp", "sctp":
	default:
		return fmt.Errorf("%w: transport %q: want auto, tcp or sctp", ErrBadSpec, s.Transport)
	}
	switch s.MembershipTiming {
	case "", "default", "dense", "crowded":
	default:
		return fmt.Errorf("%w: membership timing %q: want default, dense or crowded", ErrBadSpec, s.MembershipTiming)
	}
	if err := s.Speculation.validate(); err != nil {
		return err
	}
	switch s.Compression {
	case "", "none", "zstd", "s2":
	default:
		return fmt.Errorf("%w: compression %q: want none, zstd or s2", ErrBadSpec, s.Compression)
	}
	return nil
}

// ReadyBound is the start-up bound a group of this spec gets:
// ReadyTimeout, 0 meaning DefaultReadyTimeout, at most Timeout (0 meaning
// DefaultTimeout).
func (s Spec) ReadyBound() time.Duration {
	d, total := s.ReadyTimeout, s.Timeout
	if d == 0 {
		d = DefaultReadyTimeout
	}
	if total == 0 {
		total = DefaultTimeout
	}
	return min(d, total)
}

// withDefaults returns s with zero fields filled in and g clamped to N.
func (s Spec) withDefaults() Spec {
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	s.ReadyTimeout = s.ReadyBound()
	if s.Granularity > s.Workers {
		s.Granularity = s.Workers
	}
	if s.Params == nil {
		s.Params = Params{}
	}
	if s.MembershipTiming == "" {
		packs := (s.Workers + s.Granularity - 1) / s.Granularity
		switch {
		case packs > CrowdedAbovePacks:
			s.MembershipTiming = "crowded"
		case packs > DenseAbovePacks:
			s.MembershipTiming = "dense"
		default:
			s.MembershipTiming = "default"
		}
	}
	return s
}
