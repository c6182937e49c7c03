package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// exercise drives a progress display on out through a whole group.
func exercise(out *os.File) {
	p := newProgress(out, false, 10)
	p.update(1, 5, 2)
	time.Sleep(2 * progressTick)
	p.update(5, 5, 10)
	p.finish()
}

// TestProgressSilentOffTerminal checks that the progress display writes
// nothing at all to a pipe or a file.
func TestProgressSilentOffTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	exercise(w)
	w.Close()
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil || len(b) != 0 {
		t.Errorf("progress wrote %q to a pipe (%v)", b, err)
	}

	f, err := os.Create(t.TempDir() + "/stderr")
	if err != nil {
		t.Fatal(err)
	}
	exercise(f)
	f.Close()
	if b, _ := os.ReadFile(f.Name()); len(b) != 0 {
		t.Errorf("progress wrote %q to a file", b)
	}
}

// TestProgressOnTerminal checks, on a pseudo-terminal, that the display
// does draw there (so the test above can fail), and that quiet silences it.
func TestProgressOnTerminal(t *testing.T) {
	ptmx, pts := openPTY(t)
	exercise(pts)
	out := readAvailable(t, ptmx)
	if !strings.Contains(out, "volley: 10/10 ranks done (5/5 containers)") || !strings.Contains(out, "volley: 2/10 ranks done") {
		t.Errorf("progress on a terminal drew %q", out)
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress did not erase its line: %q", out)
	}
	p := newProgress(pts, true, 10)
	p.update(1, 1, 10)
	p.finish()
	if out := readAvailable(t, ptmx); out != "" {
		t.Errorf("quiet progress drew %q", out)
	}
}

func TestProgressLine(t *testing.T) {
	cases := []struct {
		ranksDone, ranks, packsDone, packs int
		elapsed                            time.Duration
		want                               string
	}{
		{0, 64, 0, 0, 1500 * time.Millisecond, "volley: 0/64 ranks done, 1.5s elapsed, ETA ?"},
		{16, 64, 2, 8, 4 * time.Second, "volley: 16/64 ranks done (2/8 containers), 4s elapsed, ETA 12s"},
		{63, 64, 7, 8, 90 * time.Second, "volley: 63/64 ranks done (7/8 containers), 1m30s elapsed, ETA 1.4s"},
		{64, 64, 8, 8, 200 * time.Millisecond, "volley: 64/64 ranks done (8/8 containers), 200ms elapsed, ETA 0s"},
	}
	for _, c := range cases {
		if got := progressLine(c.ranksDone, c.ranks, c.packsDone, c.packs, c.elapsed); got != c.want {
			t.Errorf("progressLine(%d, %d, %d, %d, %v) = %q, want %q", c.ranksDone, c.ranks, c.packsDone, c.packs, c.elapsed, got, c.want)
		}
	}
}

// openPTY opens a pseudo-terminal pair; the test skips where there is none.
func openPTY(t *testing.T) (ptmx, pts *os.File) {
	t.Helper()
	// Non-blocking, so that reads honour deadlines.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here (/dev/ptmx: %v), so a terminal cannot be tested", err)
	}
	ptmx = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlock pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("pseudo-terminal number: %v", err)
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open /dev/pts/%d: %v", n, err)
	}
	t.Cleanup(func() { pts.Close() })
	// Raw output: the line discipline must not turn "\n" into "\r\n".
	if tio, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS); err == nil {
		tio.Oflag &^= unix.OPOST
		unix.IoctlSetTermios(int(pts.Fd()), unix.TCSETS, tio)
	}
	return ptmx, pts
}

// readAvailable reads what the terminal has written so far.
func readAvailable(t *testing.T, ptmx *os.File) string {
	t.Helper()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		if err := ptmx.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			t.Skipf("pseudo-terminal has no deadlines: %v", err)
		}
		n, err := ptmx.Read(buf)
		sb.Write(buf[:n])
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return sb.String()
		}
		if err != nil {
			t.Fatalf("read pseudo-terminal: %v", err)
		}
	}
}
