package docker

import (
	"errors"
	"net/netip"
	"testing"
)

func TestRandomSubnetInBlock(t *testing.T) {
	for range 100 {
		p, err := randomSubnet()
		if err != nil {
			t.Fatal(err)
		}
		if p.Bits() != netBits || !netBlock.Contains(p.Addr()) || p.Masked() != p {
			t.Fatalf("subnet %s is not a /%d of %s", p, netBits, netBlock)
		}
	}
}

func TestAllocateSkipsGatewayAndBroadcast(t *testing.T) {
	subnet := netip.MustParsePrefix("10.213.4.0/22")
	gw := subnet.Addr().Next()
	n := &network{name: "n", subnet: subnet, gateway: gw, used: map[netip.Addr]bool{}, next: gw.Next()}
	seen := map[netip.Addr]bool{}
	for range 1021 {
		a, err := n.allocate()
		if err != nil {
			t.Fatal(err)
		}
		if a == gw || a == subnet.Addr() || a == netip.MustParseAddr("10.213.7.255") || !subnet.Contains(a) || seen[a] {
			t.Fatalf("allocated %s", a)
		}
		seen[a] = true
	}
	if _, err := n.allocate(); !errors.Is(err, errNoAddress) {
		t.Fatalf("a full subnet gave %v, want errNoAddress", err)
	}
	n.release(netip.MustParseAddr("10.213.5.9"))
	if a, err := n.allocate(); err != nil || a != netip.MustParseAddr("10.213.5.9") {
		t.Fatalf("after a release got %s, %v", a, err)
	}
}

func TestOnlyGone(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		gone bool
	}{
		{"docker rm: exit status 1: Error response from daemon: No such container: abc", true},
		{"docker rm: exit status 1: Error response from daemon: No such container: a\nError response from daemon: removal of container b is already in progress", true},
		{"docker network: exit status 1: Error response from daemon: network volley-1 not found", true},
		{"docker rm: exit status 1: Error response from daemon: No such container: a\nError response from daemon: driver failed", false},
		{"docker rm: signal: killed", false},
	} {
		if got := onlyGone(errors.New(tc.msg)); got != tc.gone {
			t.Errorf("onlyGone(%q) = %v, want %v", tc.msg, got, tc.gone)
		}
	}
}
