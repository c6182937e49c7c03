package membership_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

	"github.com/volley-run/volley/comm/membership"
)

// A launcher (observer) and the two containers of a group of 8 workers
// packed 4 per container: they pass the ready barrier, finish, and leave
// without failing the group.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	secret := make([]byte, 32)
	rand.Read(secret)
	quiet := slog.New(slog.DiscardHandler)
	failed := func(pack int, err error) { fmt.Println("failed:", err) }

	launcher, err := membership.Start(ctx, membership.Config{
		Group: "demo", Secret: secret, Packs: 2, Logger: quiet, OnPackFailed: failed,
		Self: membership.Meta{Pack: membership.ObserverPack},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer launcher.Close(time.Second)

	var packs []*membership.Node
	for p := range 2 {
		n, err := membership.Start(ctx, membership.Config{
			Group: "demo", Secret: secret, Packs: 2, Logger: quiet, OnPackFailed: failed,
			Self:  membership.Meta{Pack: p, DataAddr: fmt.Sprintf("127.0.0.1:%d", 7000+p), Lo: 4 * p, Hi: 4*p + 4},
			Seeds: []string{launcher.Addr()},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		packs = append(packs, n)
	}

	view, err := launcher.WaitReady(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for p := range 2 {
		fmt.Printf("pack %d: ranks [%d,%d) at %s\n", p, view[p].Lo, view[p].Hi, view[p].DataAddr)
	}

	for _, n := range packs {
		n.MarkDone(ctx)
		n.Close(time.Second)
	}
	time.Sleep(500 * time.Millisecond) // no failure is reported
	// Output:
	// pack 0: ranks [0,4) at 127.0.0.1:7000
	// pack 1: ranks [4,8) at 127.0.0.1:7001
}
