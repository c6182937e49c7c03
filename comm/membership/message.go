package membership

import (
	"encoding/json"
	"fmt"
)

// Messages between members go as memberlist user messages over TCP
// (SendReliable), encrypted like the gossip.

const (
	msgDone  = "done"  // Node (holding Pack) has finished its work
	msgDones = "dones" // the observer Node relays that the packs in Done finished
	msgFail  = "fail"  // Node announces that Pack failed, for Reason
	msgLeave = "leave" // Node (holding Pack) leaves before it is done
	msgReady = "ready" // Node has seen every pack; Members lists their owners
	msgWon   = "won"   // the arbiter Node declares Target the owner of Pack
	msgStop  = "stop"  // Node tells Target to stop (a preempted replica), for Reason
	msgEnd   = "end"   // the observer Node says the group has ended
)

type message struct {
	Kind   string `json:"k"`
	Group  string `json:"g"`
	Node   string `json:"n"`
	Pack   int    `json:"p"`
	Reason string `json:"r,omitempty"`
	// Target is the node a won or stop message is about.
	Target string `json:"t,omitempty"`
	// Members are the owners of every pack, for msgReady.
	Members []readyMember `json:"m,omitempty"`
	// Done lists the nodes that finished, for msgDones.
	Done []doneNode `json:"d,omitempty"`
}

// doneNode is one finished pack node in a dones message.
type doneNode struct {
	Node string `json:"n"`
	Pack int    `json:"p"`
}

// readyMember is one pack owner in a ready message.
type readyMember struct {
	Name string   `json:"n"`
	Addr string   `json:"a"`
	Meta wireMeta `json:"m"`
}

func (m message) encode() []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("membership: encode message: %v", err)) // plain struct: cannot fail
	}
	return b
}

func decodeMessage(b []byte) (message, error) {
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return message{}, fmt.Errorf("bad message: %w", err)
	}
	switch m.Kind {
	case msgDone, msgDones, msgFail, msgLeave, msgReady, msgWon, msgStop, msgEnd:
	default:
		return message{}, fmt.Errorf("unknown message kind %q", m.Kind)
	}
	return m, nil
}
