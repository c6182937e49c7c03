package collectives

import "errors"

var (
	// ErrInvalid marks a bad argument detected locally: a root out of
	// range, a buffer of the wrong length, the wrong number of per-rank
	// slices, an unusable communicator. The call fails at once on the rank
	// that detects it; the other ranks fail at their deadline.
	ErrInvalid = errors.New("collectives: invalid argument")

	// ErrMismatch marks ranks that disagree: a message of a length other
	// than this rank expects, because counts, buffer sizes or thresholds
	// differ across ranks. The rank that notices fails at once; the ranks
	// waiting on it fail at their deadline with the context's error.
	ErrMismatch = errors.New("collectives: ranks disagree")
)
