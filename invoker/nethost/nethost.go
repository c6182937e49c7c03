// Package nethost makes network "hosts" for tests: Linux network
// namespaces, each with an address that exists only inside it, joined by a
// bridge that lives in a namespace of its own (the switch). Containers of
// the local runtime placed on these hosts (local.Config.Hosts) reach each
// other and the test process only across veth links, which a test can cut.
//
// The package does not import the runtimes, so their own tests can use it.
//
// Keeping the bridge out of the test's own namespace keeps the machine's
// firewall (Docker sets FORWARD to DROP and sends bridged traffic through
// iptables) out of the way. It needs root and iproute2's `ip`; Make skips
// the test, saying why, when either is missing.
package nethost

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// Host is one network host made by Make.
type Host struct {
	// Netns is the namespace's name.
	Netns string
	// Addr is the host's only address, on the switch's subnet.
	Addr string
	// Link is the name, inside Netns, of the host's veth end.
	Link string
}

// SetLink brings the host's link up or down: down cuts the host off from
// the switch (a partition), up heals it.
func (h Host) SetLink(up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	if out, err := exec.Command("ip", "-n", h.Netns, "link", "set", h.Link, state).CombinedOutput(); err != nil {
		return fmt.Errorf("host %s: link %s %s: %v: %s", h.Netns, h.Link, state, err, out)
	}
	return nil
}

var calls atomic.Int32

// Make builds n hosts on a fresh subnet 10.77.x.0/24: host i has address
// 10.77.x.(10+i), and the test's own namespace reaches the switch at
// gateway, 10.77.x.1 (bind the launcher's membership there). Everything is
// removed when the test ends.
func Make(t testing.TB, n int) (gateway string, hosts []Host) {
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
	id := (os.Getpid()*7 + int(calls.Add(1))) % 10000
	subnet := fmt.Sprintf("10.77.%d", id%250)
	sw := fmt.Sprintf("vsw%d", id)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", fmt.Sprintf("vl%d", id)).Run()
		for i := range n {
			_ = exec.Command("ip", "netns", "del", fmt.Sprintf("vns%d-%d", id, i)).Run()
		}
		_ = exec.Command("ip", "netns", "del", sw).Run() // takes the bridge and the switch ends along
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
		link := fmt.Sprintf("vh%d-%d", id, i)
		addr := fmt.Sprintf("%s.%d", subnet, 10+i)
		run("netns", "add", ns)
		plug(ns, link, addr)
		hosts = append(hosts, Host{Netns: ns, Addr: addr, Link: link})
	}
	return subnet + ".1", hosts
}
