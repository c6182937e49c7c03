package membership

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrClosed is returned by the methods of a Node that has been closed.
var ErrClosed = errors.New("membership: node closed")

// ErrForeignGroup is returned (wrapped) by Start when the seeds belong to
// another group: such a join is refused and retrying cannot help.
var ErrForeignGroup = errors.New("membership: peer belongs to another group")

// ErrPreempted is given (wrapped) to Config.OnStop: the node's replica
// lost its race or was preempted, and should stop.
var ErrPreempted = errors.New("membership: replica preempted")

// FailureKind says how a pack was found to have failed.
type FailureKind string

const (
	// Left: the pack's node left the group before it was done.
	Left FailureKind = "left"
	// Dead: the pack's node stopped answering probes before it was done
	// (killed, crashed or cut off).
	Dead FailureKind = "dead"
	// Announced: a member (usually the launcher) announced the failure
	// with Node.AnnounceFailed.
	Announced FailureKind = "announced"
)

// PackFailedError is the error given to Config.OnPackFailed and returned by
// Node.WaitReady once a pack has failed.
type PackFailedError struct {
	Group  string      // group id
	Pack   int         // the failed pack
	Node   string      // the node that held the pack (for Announced: the announcer)
	Kind   FailureKind // left, dead or announced
	Reason string      // extra detail, such as the announced reason
}

// Error says which pack of which group failed, how, and why.
func (e *PackFailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "group %s: pack %d %s", e.Group, e.Pack, e.Kind)
	switch e.Kind {
	case Announced:
		fmt.Fprintf(&b, " by %s", e.Node)
	default:
		fmt.Fprintf(&b, " (node %s)", e.Node)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	return b.String()
}

// NotReadyError is returned by Node.WaitReady when its context ends before
// every pack was seen alive.
type NotReadyError struct {
	Group   string
	Missing []int // packs never seen alive, ascending
	Err     error // the context's error
}

// Error names the group and the packs that were never seen alive.
func (e *NotReadyError) Error() string {
	return fmt.Sprintf("group %s: not ready: %d pack(s) missing: %s: %v",
		e.Group, len(e.Missing), formatPacks(e.Missing), e.Err)
}

// Unwrap returns the context's error.
func (e *NotReadyError) Unwrap() error { return e.Err }

// formatPacks writes ascending pack numbers compactly: "0-3,7,9-10".
func formatPacks(ps []int) string {
	var b strings.Builder
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && ps[j+1] == ps[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ps[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(ps[j]))
		}
		i = j + 1
	}
	return b.String()
}
