//go:build !linux

package transport

import (
	"context"
	"errors"
)

// SCTPAvailable reports whether SCTP sockets can be used. The SCTP transport
// is implemented for Linux only, so elsewhere it is always false.
func SCTPAvailable() (ok bool, reason string) {
	return false, "the SCTP transport is implemented on Linux only"
}

func newSCTP(Config) Transport { return unavailable{} }

// unavailable is never returned by New (SCTPAvailable is false); it exists
// so the package builds everywhere.
type unavailable struct{}

func (unavailable) Name() string { return "sctp" }
func (unavailable) Listen(string) (Listener, error) {
	return nil, errors.ErrUnsupported
}
func (unavailable) Dial(ctx context.Context, addr string) (Conn, error) {
	return nil, errors.ErrUnsupported
}
