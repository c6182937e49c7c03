//go:build linux

package transport

import (
	"io"
	"net"
	"testing"

	"github.com/ishidawataru/sctp"
)

// rawDial opens a plain socket of the named transport to addr, for writing
// bytes that bypass the frame encoder. On SCTP each Write is one message.
func rawDial(t testing.TB, name, addr string) io.WriteCloser {
	t.Helper()
	switch name {
	case "tcp":
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	case "sctp":
		raddr, err := sctp.ResolveSCTPAddr("sctp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c, err := sctp.DialSCTP("sctp", nil, raddr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Fatalf("no raw dialer for %q", name)
	return nil
}
