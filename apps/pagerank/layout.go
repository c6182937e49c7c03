package pagerank

// layout is how vertices are spread over ranks: hashed, vertex v belongs
// to rank v mod N, where it is local vertex v div N. Hashing balances
// the skewed degrees of R-MAT and web graphs without knowing the vertex
// count in advance, so ranks can route edges while they read.
type layout struct {
	ranks       int // N
	granularity int // g: ranks per pack
	vertices    int // V; 0 until the graph is loaded
}

func (l layout) owner(v uint32) int { return int(v) % l.ranks }

func (l layout) local(v uint32) int { return int(v) / l.ranks }

// global is the vertex id of local vertex i of rank r.
func (l layout) global(r, i int) int { return i*l.ranks + r }

// owned is how many vertices rank r owns.
func (l layout) owned(r int) int {
	if r >= l.vertices {
		return 0
	}
	return (l.vertices - r + l.ranks - 1) / l.ranks
}

func (l layout) pack(r int) int { return r / l.granularity }

// packRange is the ranks [lo, hi) of pack p.
func (l layout) packRange(p int) (lo, hi int) {
	lo = p * l.granularity
	return lo, min(lo+l.granularity, l.ranks)
}

// proxy is the rank of pack p that collects what the whole pack sends to
// owner o: o itself when o is in p, otherwise one pack mate chosen by o,
// so the remote owners are spread evenly over the pack.
func (l layout) proxy(p, o int) int {
	lo, hi := l.packRange(p)
	if o >= lo && o < hi {
		return o
	}
	return lo + o%(hi-lo)
}
