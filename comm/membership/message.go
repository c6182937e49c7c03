package membership

import (
	"encoding/json"
	"fmt"
)

// Messages between members go as memberlist user messages over TCP
// (SendReliable), encrypted like the gossip.

const (
	msgDone  = "done"  // Node (holding Pack) has finished its work
	msgFail  = "fail"  // Node announces that Pack failed, for Reason
	msgLeave = "leave" // Node (holding Pack) leaves before it is done
	msgReady = "ready" // Node has seen every pack; Members lists their owners
	msgWon   = "won"   // the arbiter Node declares Target the owner of Pack
	msgStop  = "stop"  // Node tells Target to stop (a preempted replica), for Reason
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
	case msgDone, msgFail, msgLeave, msgReady, msgWon, msgStop:
	default:
		return message{}, fmt.Errorf("unknown message kind %q", m.Kind)
	}
	return m, nil
}
