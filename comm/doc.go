// Package comm is Volley's communication middleware: a communicator (Comm)
// per worker for point-to-point messages between any two ranks of a group,
// wherever they run.
//
// Each container runs one Node. It joins the group's membership (package
// comm/membership, hashicorp/memberlist, gossip encrypted with a key derived
// from the group secret), opens a data listener (package comm/transport:
// SCTP when the kernel has it, TCP otherwise), and hosts a Comm for each of
// its ranks. The group is ready when every pack has been seen.
//
// Messages:
//
//   - Inside a container a message is handed over without a copy: Recv
//     returns the very slice that was sent, so the sender must not touch it
//     after Send. Moving 64 MiB costs what moving 64 bytes costs.
//   - Between containers a message is framed (package comm/wire). Small
//     ones (up to Config.EagerLimit) go at once; the receiver returns
//     credit as it consumes them, and a sender past Config.EagerWindow of
//     unconsumed bytes switches to rendezvous. Large ones go by rendezvous:
//     the sender announces it (RTS), the receiver asks for it when a
//     matching Recv is posted (CTS), and the bytes stream in chunks that
//     land directly in the receive buffer. So memory stays bounded however
//     slow a receiver is: nobody buffers a message nobody has asked for.
//   - Messages on one (src, dst, tag) arrive in the order sent; a receive
//     takes the earliest matching message (MPI's rule), with AnySource and
//     AnyTag wildcards.
//   - Payloads between containers may be compressed (zstd or s2), chosen
//     per group.
//
// Failures: a pack that dies or leaves without finishing, a data
// connection that breaks, or a peer that breaks the protocol fails the
// group: the Node's Context is cancelled with the cause (naming the pack),
// and every pending and later operation returns it.
//
// Usage inside a container:
//
//	node, err := comm.Start(ctx, comm.Config{Group: id, Secret: s, Workers: n, Granularity: g, Pack: p, Seeds: seeds})
//	...
//	if err := node.WaitReady(ctx); err != nil { ... }
//	c, _ := node.Comm(rank)
//	err = c.Send(ctx, (rank+1)%c.Size(), 0, []byte("hi"))
//	msg, err := c.Recv(ctx, comm.AnySource, 0)
//	...
//	node.Close(ctx)
package comm
