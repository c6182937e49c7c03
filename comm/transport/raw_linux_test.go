//go:build linux

package transport

import (
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

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

// signalStorm sends this process SIGURG every 20 µs until stop is called.
func signalStorm(t testing.TB) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		tick := time.NewTicker(20 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = syscall.Kill(os.Getpid(), syscall.SIGURG)
			}
		}
	}()
	return func() { close(done); <-ended }
}
