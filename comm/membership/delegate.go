package membership

import (
	"fmt"

	"github.com/hashicorp/memberlist"
)

// delegate plugs a Node into memberlist: it serves our metadata, hears
// about members joining, changing and leaving, receives user messages and
// refuses nodes of other groups. memberlist calls most of these with its
// own lock held, so they only touch the Node's state under Node.mu and
// never call back into memberlist.
type delegate struct{ n *Node }

var (
	_ memberlist.Delegate         = (*delegate)(nil)
	_ memberlist.EventDelegate    = (*delegate)(nil)
	_ memberlist.AliveDelegate    = (*delegate)(nil)
	_ memberlist.MergeDelegate    = (*delegate)(nil)
	_ memberlist.ConflictDelegate = (*delegate)(nil)
)

// NodeMeta returns our encoded Meta (its size was checked by Start).
func (d *delegate) NodeMeta(limit int) []byte {
	b := d.n.metaBytes()
	if len(b) > limit {
		return nil
	}
	return b
}

// NotifyMsg receives done and fail messages.
func (d *delegate) NotifyMsg(b []byte) {
	m, err := decodeMessage(b)
	if err != nil {
		d.n.log.Warn("membership: dropped a message", "err", err)
		return
	}
	if m.Group != d.n.cfg.Group {
		d.n.log.Warn("membership: dropped a message from another group",
			"peer", m.Node, "peer_group", m.Group)
		return
	}
	d.n.onMessage(m)
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}

func (d *delegate) NotifyJoin(node *memberlist.Node)   { d.n.onAlive(node) }
func (d *delegate) NotifyUpdate(node *memberlist.Node) { d.n.onAlive(node) }

func (d *delegate) NotifyLeave(node *memberlist.Node) {
	kind := Dead
	if node.State == memberlist.StateLeft {
		kind = Left
	}
	d.n.onGone(node.Name, kind)
}

// NotifyAlive refuses nodes whose metadata does not belong to our group,
// so that they never enter memberlist's member list nor our view.
func (d *delegate) NotifyAlive(peer *memberlist.Node) error {
	_, err := d.n.checkPeer(peer.Name, peer.Meta)
	return err
}

// NotifyMerge refuses a join (ours or a peer's) if the other side knows a
// node of another group.
func (d *delegate) NotifyMerge(peers []*memberlist.Node) error {
	for _, p := range peers {
		if foreign, err := d.n.checkPeer(p.Name, p.Meta); err != nil {
			if foreign {
				d.n.setForeign(err)
			}
			return fmt.Errorf("merge refused: %w", err)
		}
	}
	return nil
}

// NotifyConflict logs two nodes using the same name.
func (d *delegate) NotifyConflict(existing, other *memberlist.Node) {
	d.n.log.Warn("membership: two nodes use the same name; the second is ignored",
		"node", existing.Name, "addr", existing.Address(), "other_addr", other.Address())
}

// errForeign marks a refusal because of another group.
func errForeign(name, group string) error {
	return fmt.Errorf("%w: node %s is in group %q", ErrForeignGroup, name, group)
}
