package docker

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
)

// A runtime's bridge network is a /22 (1021 containers) out of this
// block. Docker's --ip needs a subnet the user configured, and the
// runtime gives each container its address before it starts so the
// container knows what to bind (VOLLEY_BIND_ADDR).
var netBlock = netip.MustParsePrefix("10.213.0.0/16")

const netBits = 22

// network is a user-defined bridge network and the addresses handed out
// on it.
type network struct {
	name    string
	subnet  netip.Prefix
	gateway netip.Addr

	mu   sync.Mutex
	used map[netip.Addr]bool
	next netip.Addr
}

// createNetwork makes the runtime's bridge network on a free /22 of
// netBlock, retrying on subnets another network already holds.
func createNetwork(ctx context.Context, e engine, name string, labels []string) (*network, error) {
	var lastErr error
	for range 16 {
		subnet, err := randomSubnet()
		if err != nil {
			return nil, err
		}
		gw := subnet.Addr().Next()
		args := []string{"network", "create", "--driver", "bridge", "--subnet", subnet.String(), "--gateway", gw.String()}
		for _, l := range labels {
			args = append(args, "--label", l)
		}
		if _, err := e.run(ctx, append(args, name)...); err != nil {
			if strings.Contains(err.Error(), "overlap") {
				lastErr = err
				continue
			}
			return nil, fmt.Errorf("create network %s: %w", name, err)
		}
		return &network{name: name, subnet: subnet, gateway: gw, used: map[netip.Addr]bool{}, next: gw.Next()}, nil
	}
	return nil, fmt.Errorf("create network %s: no free subnet in %s: %w", name, netBlock, lastErr)
}

// randomSubnet picks one /22 of netBlock.
func randomSubnet() (netip.Prefix, error) {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return netip.Prefix{}, fmt.Errorf("pick subnet: %w", err)
	}
	n := uint32(binary.BigEndian.Uint16(b[:])) % (1 << (netBits - netBlock.Bits()))
	base := netBlock.Addr().As4()
	v := binary.BigEndian.Uint32(base[:]) | n<<(32-netBits)
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return netip.PrefixFrom(netip.AddrFrom4(a), netBits), nil
}

// errNoAddress means every address of the subnet is in use.
var errNoAddress = errors.New("no free address on the network")

// allocate hands out a free host address, round-robin so a released
// address is not reused at once.
func (n *network) allocate() (netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.next
	for range 1 << (32 - netBits) {
		if !n.subnet.Contains(a) || isBroadcast(n.subnet, a) {
			a = n.gateway.Next()
		}
		if !n.used[a] {
			n.used[a] = true
			n.next = a.Next()
			return a, nil
		}
		a = a.Next()
	}
	return netip.Addr{}, fmt.Errorf("network %s: %w", n.name, errNoAddress)
}

// release gives an address back.
func (n *network) release(a netip.Addr) {
	n.mu.Lock()
	delete(n.used, a)
	n.mu.Unlock()
}

func isBroadcast(p netip.Prefix, a netip.Addr) bool {
	return !p.Contains(a.Next())
}
