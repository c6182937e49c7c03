package membership

import (
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
)

// step is one input to the view in a scenario.
type step struct {
	op   string // alive, left, dead, done, leaving, announce, expire
	node string
	pack int // for alive (the node's pack) and announce
}

func TestViewScenarios(t *testing.T) {
	a := func(node string, pack int) step { return step{op: "alive", node: node, pack: pack} }
	for _, tc := range []struct {
		name      string
		packs     int
		steps     []step
		failed    map[int]FailureKind // reported failures
		owners    map[int]string      // Packs() afterwards: pack -> node
		ready     bool
		missingOK []int
		done      []int // packs packDone reports, ascending
	}{
		{
			name:   "all packs alive: ready",
			packs:  2,
			steps:  []step{a("obs", -1), a("p0", 0), a("p1", 1)},
			owners: map[int]string{0: "p0", 1: "p1"},
			ready:  true,
		},
		{
			name:      "missing packs named",
			packs:     4,
			steps:     []step{a("p1", 1)},
			owners:    map[int]string{1: "p1"},
			missingOK: []int{0, 2, 3},
		},
		{
			name:   "done then left: no failure",
			packs:  2,
			steps:  []step{a("p0", 0), a("p1", 1), {op: "done", node: "p1", pack: 1}, {op: "left", node: "p1"}, {op: "expire"}},
			owners: map[int]string{0: "p0"},
			ready:  true,
			done:   []int{1},
		},
		{
			name:   "left without done: failed after grace",
			packs:  2,
			steps:  []step{a("p0", 0), a("p1", 1), {op: "leaving", node: "p1"}, {op: "left", node: "p1"}, {op: "expire"}},
			failed: map[int]FailureKind{1: Left},
			owners: map[int]string{0: "p0"},
			ready:  true,
		},
		{
			name:   "done message arriving within the grace",
			packs:  1,
			steps:  []step{a("p0", 0), {op: "left", node: "p0"}, {op: "done", node: "p0", pack: 0}, {op: "expire"}},
			owners: map[int]string{},
			ready:  true,
			done:   []int{0},
		},
		{
			name:   "dead without done",
			packs:  2,
			steps:  []step{a("p0", 0), a("p1", 1), {op: "dead", node: "p0"}, {op: "expire"}},
			failed: map[int]FailureKind{0: Dead},
			owners: map[int]string{1: "p1"},
			ready:  true,
		},
		{
			name:   "dead then back within the grace: no failure",
			packs:  1,
			steps:  []step{a("p0", 0), {op: "dead", node: "p0"}, a("p0", 0), {op: "expire"}},
			owners: map[int]string{0: "p0"},
			ready:  true,
		},
		{
			name:   "announced once, then no second report",
			packs:  2,
			steps:  []step{a("p0", 0), a("p1", 1), {op: "announce", node: "obs", pack: 1}, {op: "announce", node: "obs", pack: 1}, {op: "dead", node: "p1"}, {op: "expire"}},
			failed: map[int]FailureKind{1: Announced},
			owners: map[int]string{0: "p0"},
			ready:  true,
		},
		{
			name:   "duplicate claim: first wins, loser leaving is fine",
			packs:  1,
			steps:  []step{a("p0", 0), a("p0b", 0), {op: "left", node: "p0b"}, {op: "expire"}},
			owners: map[int]string{0: "p0"},
			ready:  true,
		},
		{
			name:   "duplicate claim: winner dies, replica takes over",
			packs:  1,
			steps:  []step{a("p0", 0), a("p0b", 0), {op: "dead", node: "p0"}, {op: "expire"}},
			owners: map[int]string{0: "p0b"},
			ready:  true,
		},
		{
			name:   "observer leaving is not a failure",
			packs:  1,
			steps:  []step{a("obs", -1), a("p0", 0), {op: "left", node: "obs"}, {op: "expire"}},
			owners: map[int]string{0: "p0"},
			ready:  true,
		},
		{
			name:   "claim of a failed pack ignored",
			packs:  1,
			steps:  []step{a("p0", 0), {op: "dead", node: "p0"}, {op: "expire"}, a("p0c", 0)},
			failed: map[int]FailureKind{0: Dead},
			owners: map[int]string{},
			ready:  true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newView("g", tc.packs, false, slog.New(slog.NewTextHandler(io.Discard, nil)))
			failed := map[int]FailureKind{}
			record := func(f *PackFailedError) {
				if f == nil {
					return
				}
				if _, dup := failed[f.Pack]; dup {
					t.Errorf("pack %d reported twice", f.Pack)
				}
				failed[f.Pack] = f.Kind
			}
			type pend struct {
				p  int
				id uint64
			}
			var pending []pend
			for _, s := range tc.steps {
				switch s.op {
				case "alive":
					v.alive(s.node, "127.0.0.1:1", Meta{Group: "g", Pack: s.pack})
				case "left", "dead":
					kind := Left
					if s.op == "dead" {
						kind = Dead
					}
					if p, id := v.gone(s.node, kind); id != 0 {
						pending = append(pending, pend{p, id})
					}
				case "done":
					v.nodeDone(s.node, s.pack)
				case "leaving":
					v.nodeLeaving(s.node)
				case "announce":
					record(v.announced(s.pack, s.node, "test"))
				case "expire":
					for _, p := range pending {
						record(v.expire(p.p, p.id))
					}
					pending = nil
				}
			}
			if tc.failed == nil {
				tc.failed = map[int]FailureKind{}
			}
			if !maps.Equal(failed, tc.failed) {
				t.Errorf("failures %v, want %v", failed, tc.failed)
			}
			owners := map[int]string{}
			for p := range v.current() {
				owners[p] = v.owner[p]
			}
			if tc.owners == nil {
				tc.owners = map[int]string{}
			}
			if !maps.Equal(owners, tc.owners) {
				t.Errorf("owners %v, want %v", owners, tc.owners)
			}
			if v.ready != tc.ready {
				t.Errorf("ready = %v, want %v", v.ready, tc.ready)
			}
			if m := v.missing(); !slices.Equal(m, tc.missingOK) {
				t.Errorf("missing %v, want %v", m, tc.missingOK)
			}
			var done []int
			for p := range tc.packs {
				if v.packDone(p) {
					done = append(done, p)
				}
			}
			if !slices.Equal(done, tc.done) {
				t.Errorf("done %v, want %v", done, tc.done)
			}
		})
	}
}

func TestFormatPacks(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{3}, "3"},
		{[]int{0, 1, 2, 3}, "0-3"},
		{[]int{0, 2, 3, 7, 9, 10}, "0,2-3,7,9-10"},
	} {
		if got := formatPacks(tc.in); got != tc.want {
			t.Errorf("formatPacks(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMetaRoundTrip(t *testing.T) {
	m := Meta{Group: "grp", Pack: 3, DataAddr: "10.0.0.7:7000", Lo: 24, Hi: 32, Done: true}
	b, err := encodeMeta(m, MaxMetaSize)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeMeta(b)
	if err != nil || got != m {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, m)
	}
	t.Logf("encoded meta: %d bytes: %s", len(b), b)
}

func TestGossipKey(t *testing.T) {
	k1, k2 := gossipKey([]byte("0123456789abcdef")), gossipKey([]byte("0123456789abcdeg"))
	if len(k1) != 32 || string(k1) == string(k2) {
		t.Fatalf("keys %x %x", k1, k2)
	}
}

// A pack that finished and left before this node ever saw it alive still
// counts for the ready barrier: it passed its own.
func TestViewDoneBeforeSeenCountsAsReady(t *testing.T) {
	v := newView("g", 2, false, slog.New(slog.DiscardHandler))
	v.alive("a", "127.0.0.1:1", Meta{Group: "g", Pack: 0})
	if v.ready {
		t.Fatal("ready with pack 1 unseen")
	}
	v.nodeDone("b", 1)
	if !v.ready || len(v.missing()) != 0 {
		t.Fatalf("a done pack 1 does not count: missing %v", v.missing())
	}
	if p, _ := v.gone("b", Dead); p != 0 {
		t.Fatalf("the death of a done pack is pending as a failure of pack %d", p)
	}
}
