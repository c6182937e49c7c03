package membership

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// MaxMetaSize is the largest encoded Meta that fits in memberlist's node
// metadata (memberlist.MetaMaxSize, 512 bytes).
const MaxMetaSize = memberlist.MetaMaxSize

// ObserverPack is the Pack of a node that watches the group but hosts no
// ranks, such as the launcher.
const ObserverPack = -1

// Meta is what a node tells the group about itself. It travels in
// memberlist's node metadata, so its encoding must stay within MaxMetaSize.
type Meta struct {
	// Group is the group id. Start fills it from Config.Group.
	Group string
	// Pack is the container number, or ObserverPack (-1) for an observer.
	Pack int
	// DataAddr is the "host:port" of the container's data listener
	// (empty for an observer).
	DataAddr string
	// Lo and Hi bound the ranks the pack hosts: [Lo, Hi).
	Lo, Hi int
	// Done is set once the pack has finished its work (see Node.MarkDone);
	// a done pack may leave or die without failing the group.
	Done bool
	// Replica numbers the speculative replicas of one pack (0 for the
	// first); it tells the arbiter which replica a claim comes from.
	Replica int
}

// IsObserver reports whether m describes an observer rather than a pack.
func (m Meta) IsObserver() bool { return m.Pack == ObserverPack }

// wireMeta is Meta with short JSON keys, to keep the encoding compact.
type wireMeta struct {
	Group    string `json:"g"`
	Pack     int    `json:"p"`
	DataAddr string `json:"a,omitempty"`
	Lo       int    `json:"lo,omitempty"`
	Hi       int    `json:"hi,omitempty"`
	Done     bool   `json:"d,omitempty"`
	Replica  int    `json:"r,omitempty"`
}

// ErrMetaTooLarge is returned (wrapped) when a Meta would not fit in
// memberlist's node metadata.
var ErrMetaTooLarge = errors.New("membership: metadata too large")

// encodeMeta encodes m compactly and checks it fits in limit bytes.
func encodeMeta(m Meta, limit int) ([]byte, error) {
	b, err := json.Marshal(wireMeta(m))
	if err != nil {
		return nil, fmt.Errorf("membership: encode meta of pack %d: %w", m.Pack, err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%w: pack %d: %d bytes encoded, limit %d (shorten Group or DataAddr)",
			ErrMetaTooLarge, m.Pack, len(b), limit)
	}
	return b, nil
}

// decodeMeta is the inverse of encodeMeta.
func decodeMeta(b []byte) (Meta, error) {
	if len(b) == 0 {
		return Meta{}, errors.New("no metadata")
	}
	var w wireMeta
	if err := json.Unmarshal(b, &w); err != nil {
		return Meta{}, fmt.Errorf("bad metadata: %w", err)
	}
	return Meta(w), nil
}

// check validates m against a group of the given id and size.
func (m Meta) check(group string, packs int) error {
	switch {
	case m.Group != group:
		return fmt.Errorf("group %q is not %q", m.Group, group)
	case m.Pack < ObserverPack || m.Pack >= packs:
		return fmt.Errorf("pack %d out of range [-1, %d)", m.Pack, packs)
	case m.Lo < 0 || m.Hi < m.Lo:
		return fmt.Errorf("pack %d: bad rank range [%d, %d)", m.Pack, m.Lo, m.Hi)
	case m.Replica < 0:
		return fmt.Errorf("pack %d: bad replica %d", m.Pack, m.Replica)
	}
	return nil
}
