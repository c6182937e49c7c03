package transport_test

import (
	"context"
	"fmt"
	"time"

	"github.com/volley-run/volley/comm/transport"
	"github.com/volley-run/volley/comm/wire"
)

// Two packs of group "g1" connect, authenticate each other and exchange one
// eager message.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	secret := []byte("fresh-per-group-secret-from-launch")

	tr, err := transport.New("tcp") // or "auto": sctp where the kernel has it
	if err != nil {
		panic(err)
	}
	ln, err := tr.Listen("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()

	done := make(chan struct{})
	go func() { // pack 0 accepts
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			panic(err)
		}
		defer c.Close()
		peer, err := transport.ServerHandshake(ctx, c, secret, transport.Hello{Group: "g1", Pack: 0})
		if err != nil {
			fmt.Println("refused:", err)
			return
		}
		_, h, p, err := c.ReadFrame(nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("pack %d sent %v tag %d: %s\n", peer.Pack, h.Kind, h.Tag, p)
	}()

	c, err := tr.Dial(ctx, ln.Addr()) // pack 1 dials
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if _, err := transport.ClientHandshake(ctx, c, secret, transport.Hello{Group: "g1", Pack: 1}); err != nil {
		panic(err)
	}
	msg := []byte("hello from rank 5")
	h := wire.Header{Kind: wire.KindEager, Src: 5, Dst: 0, Tag: 42, Size: uint64(len(msg))}
	if err := c.WriteFrame(0, h, msg); err != nil {
		panic(err)
	}
	<-done
	// Output: pack 1 sent Eager tag 42: hello from rank 5
}
