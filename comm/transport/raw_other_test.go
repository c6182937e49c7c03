//go:build !linux

package transport

import (
	"io"
	"net"
	"testing"

	"github.com/volley-run/volley/comm/wire"
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

// sendLimit is the largest payload c can send.
func sendLimit(Conn) int { return wire.MaxPayload }
