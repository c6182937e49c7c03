package collectives

import "fmt"

// Topology is the packing of a group: which ranks share a container. Packs
// are contiguous blocks of ranks, numbered 0..Packs()-1 in rank order; the
// leader of a pack is its lowest rank. The zero Topology has no ranks.
type Topology struct {
	packOf []int // dense pack index of each rank
	starts []int // starts[p] is the first rank of pack p; starts[Packs()] = Size()
}

// NewTopology returns the uniform packing of n ranks, g per pack: pack p
// holds ranks [p*g, min((p+1)*g, n)), so the last pack may be smaller.
func NewTopology(n, g int) (Topology, error) {
	if n < 1 {
		return Topology{}, fmt.Errorf("topology: size %d < 1: %w", n, ErrInvalid)
	}
	if g < 1 {
		return Topology{}, fmt.Errorf("topology: granularity %d < 1: %w", g, ErrInvalid)
	}
	return topologyFrom(n, func(r int) int { return r / g })
}

// TopologyOf reads the packing of comm from comm.Size and comm.Pack. It
// fails (ErrInvalid) when a pack's ranks are not contiguous.
func TopologyOf(comm Comm) (Topology, error) {
	n := comm.Size()
	if n < 1 {
		return Topology{}, fmt.Errorf("topology: size %d < 1: %w", n, ErrInvalid)
	}
	return topologyFrom(n, comm.Pack)
}

func topologyFrom(n int, pack func(int) int) (Topology, error) {
	t := Topology{packOf: make([]int, n)}
	seen := make(map[int]bool)
	prev := 0
	for r := 0; r < n; r++ {
		id := pack(r)
		if r == 0 || id != prev {
			if seen[id] {
				return Topology{}, fmt.Errorf("topology: pack %d is not contiguous (rank %d): %w", id, r, ErrInvalid)
			}
			seen[id] = true
			t.starts = append(t.starts, r)
			prev = id
		}
		t.packOf[r] = len(t.starts) - 1
	}
	t.starts = append(t.starts, n)
	return t, nil
}

// Size is the number of ranks.
func (t Topology) Size() int { return len(t.packOf) }

// Packs is the number of packs (containers).
func (t Topology) Packs() int {
	if len(t.starts) == 0 {
		return 0
	}
	return len(t.starts) - 1
}

// PackOf is the pack index of rank r.
func (t Topology) PackOf(r int) int { return t.packOf[r] }

// Leader is the lowest rank of pack p, the one that talks to other packs.
func (t Topology) Leader(p int) int { return t.starts[p] }

// IsLeader reports whether rank r leads its pack.
func (t Topology) IsLeader(r int) bool { return t.starts[t.packOf[r]] == r }

// PackRange is the rank range [lo, hi) of pack p.
func (t Topology) PackRange(p int) (lo, hi int) { return t.starts[p], t.starts[p+1] }

// PackSize is the number of ranks in pack p.
func (t Topology) PackSize(p int) int { return t.starts[p+1] - t.starts[p] }

// SamePack reports whether ranks a and b share a container.
func (t Topology) SamePack(a, b int) bool { return t.packOf[a] == t.packOf[b] }
