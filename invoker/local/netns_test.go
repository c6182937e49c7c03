package local

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volley-run/volley/group"
)

func init() {
	group.Register(group.App{Name: "test-ring", Summary: "passes a token around the ring of ranks", Run: func(ctx context.Context, w *group.Worker) (any, error) {
		c := w.Comm()
		next, prev := (c.Rank()+1)%c.Size(), (c.Rank()+c.Size()-1)%c.Size()
		m, err := c.SendRecv(ctx, next, 0, []byte(fmt.Sprintf("from %d", c.Rank())), prev, 0)
		if err != nil {
			return nil, err
		}
		host, _ := os.Hostname()
		return map[string]any{"got": string(m.Data), "pid": os.Getpid(), "host": host}, nil
	}})
}

var netHostsCalls atomic.Int32

// netHosts makes n network namespaces ("hosts"), each with an address that
// exists only inside it (10.77.x.10+i), joined by a bridge that lives in a
// namespace of its own, the switch; this namespace reaches the switch at
// 10.77.x.1. Keeping the bridge out of this namespace keeps the machine's
// firewall (Docker sets FORWARD to DROP and bridged traffic through
// iptables) out of the way. Everything is removed when the test ends.
func netHosts(t *testing.T, n int) (bridgeAddr string, hosts []Host) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root; run the tests as root to cover containers on separate hosts")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no `ip` command (iproute2); cannot make network namespaces")
	}
	// Names are unique per call (and short: interface names have at most
	// 15 bytes), so runs with -count do not trip over a previous run's
	// links, which the kernel removes asynchronously.
	id := (os.Getpid()*7 + int(netHostsCalls.Add(1))) % 10000
	subnet := fmt.Sprintf("10.77.%d", id%250)
	sw := fmt.Sprintf("vsw%d", id)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", fmt.Sprintf("vl%d", id)).Run()
		for i := range n {
			exec.Command("ip", "netns", "del", fmt.Sprintf("vns%d-%d", id, i)).Run()
		}
		exec.Command("ip", "netns", "del", sw).Run() // takes the bridge and the switch ends along
	})
	run("netns", "add", sw)
	run("-n", sw, "link", "add", "br0", "type", "bridge")
	run("-n", sw, "link", "set", "br0", "up")
	// plug connects a veth end in namespace ns (or this one, for "") to
	// the switch and gives it addr.
	plug := func(ns, name, addr string) {
		port := name + "p"
		run("link", "add", name, "type", "veth", "peer", "name", port)
		run("link", "set", port, "netns", sw)
		run("-n", sw, "link", "set", port, "master", "br0", "up")
		if ns != "" {
			run("link", "set", name, "netns", ns)
			run("-n", ns, "addr", "add", addr+"/24", "dev", name)
			run("-n", ns, "link", "set", name, "up")
			run("-n", ns, "link", "set", "lo", "up")
			return
		}
		run("addr", "add", addr+"/24", "dev", name)
		run("link", "set", name, "up")
	}
	plug("", fmt.Sprintf("vl%d", id), subnet+".1")
	for i := range n {
		ns := fmt.Sprintf("vns%d-%d", id, i)
		addr := fmt.Sprintf("%s.%d", subnet, 10+i)
		run("netns", "add", ns)
		plug(ns, fmt.Sprintf("vh%d-%d", id, i), addr)
		hosts = append(hosts, Host{Netns: ns, Addr: addr})
	}
	return subnet + ".1", hosts
}

// TestContainersOnSeparateHosts runs a group whose containers live in
// separate network namespaces, with addresses that exist only there: they
// must find each other through membership and exchange messages.
func TestContainersOnSeparateHosts(t *testing.T) {
	bridge, hosts := netHosts(t, 3)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(Config{Binary: exe, Args: []string{}, Env: []string{envTestWorker + "=1"}, Hosts: hosts, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := group.Launch(ctx, group.Spec{App: "test-ring", Workers: 6, Granularity: 2, Transport: "tcp", ReadyTimeout: 8 * time.Second}, rt, group.BindAddr(bridge))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	for _, rr := range res.Ranks {
		var v struct{ Got string }
		if err := json.Unmarshal(rr.Result, &v); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("from %d", (rr.Rank+5)%6); v.Got != want {
			t.Errorf("rank %d got %q, want %q", rr.Rank, v.Got, want)
		}
	}
	if res.Comm.SentRemoteMsgs == 0 {
		t.Error("no message crossed between hosts")
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("VOLLEY_TEST_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
