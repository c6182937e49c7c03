//go:build !linux

package transport

import (
	"io"
	"net"
	"testing"
)

func rawDial(t testing.TB, name, addr string) io.WriteCloser {
	t.Helper()
	if name != "tcp" {
		t.Fatalf("no raw dialer for %q", name)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signalStorm is Linux-only; elsewhere the test that needs it is skipped.
func signalStorm(t testing.TB) (stop func()) {
	t.Skip("the signal storm is Linux-only")
	return nil
}
