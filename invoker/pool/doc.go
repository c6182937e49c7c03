// Package pool is the warm pool that Volley's container runtimes share:
// it runs packs in containers from any sandbox.Factory (worker processes,
// Docker containers) over the action protocol, the way OpenWhisk's
// invoker runs activations in its container pool.
//
// A pack takes an idle container if there is one, else the Factory starts
// one and the pool sends it /init (a cold start). A container whose pack
// ended cleanly goes back to the pool; one whose pack failed, was
// cancelled or ran past its deadline is destroyed, never reused. With a
// PauseGrace, an idle container is paused once the grace has passed and
// resumed when a pack takes it, so ContainerInfo.Start tells three kinds
// apart: cold, warm (still running) and paused (resumed).
//
//	p := pool.New(pool.Config{Factory: rt, PauseGrace: 50 * time.Millisecond})
//	defer p.Close()
//	res, err := group.Launch(ctx, spec, p)
package pool
