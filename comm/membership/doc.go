// Package membership tells the containers of a Volley group about each
// other, holds the ready barrier, and fails the group when a container
// goes before its work is done.
//
// A group of N workers is packed g to a container; container p ("pack p")
// hosts ranks [p*g, min((p+1)*g, N)). Every container runs one membership
// Node, and so does the launcher, as an observer (Pack ObserverPack, no
// ranks) that is the first seed. Nodes find each other by gossip with
// hashicorp/memberlist (SWIM): each publishes its Meta (group, pack, data
// address, ranks, done) in memberlist's node metadata.
//
// How the pieces fit:
//
//   - Start creates the memberlist node and joins the seeds. Gossip is
//     encrypted with an AES-256 key derived from the group's secret, so a
//     node without the secret cannot talk to the group (memberlist's
//     refusals are logged at warn); nodes whose metadata names another
//     group are refused too (Alive and Merge delegates).
//   - WaitReady is the ready barrier: it returns once every pack has been
//     seen alive, with each pack's Meta (DataAddr is where the data
//     transport of comm connects). Packs is the live view.
//   - A pack whose node leaves or dies before MarkDone fails the group:
//     every member calls Config.OnPackFailed once for it, with a
//     *PackFailedError saying left, dead or announced. MarkDone makes sure
//     the members know a pack finished, so that its leaving is not a
//     failure: it tells the observer, which relays the news to the packs
//     still running in batches (one message per pack and batch, not one
//     per pair of packs), or the running packs directly when there is no
//     observer. AnnounceEnd (the observer, once every pack answered) lets
//     done packs stop lingering (Ended). AnnounceFailed lets the launcher,
//     which sees containers exit, report a failure at once instead of
//     waiting for detection.
//   - Timing sets how fast failures are detected; DefaultTiming (a node
//     per container) reports a killed pack within FailureBound, 4.2 s up
//     to 10 members, 5.8 s with 257, after a DeadGrace in which a starved
//     pack can refute its death; DenseTiming is for many nodes sharing few
//     cores.
//   - When two nodes claim one pack (speculative replicas), the first seen
//     counts; the other is ignored unless the first goes, and then takes
//     its place. In an Arbitrated group (start-up speculation) no claim
//     counts until the arbiter, the launcher's observer, declares its
//     winner (DeclareWinner, after OnClaim told it of the claims): every
//     member then agrees on the owner, losers are told to stop (OnStop,
//     ErrPreempted; Preempt does it for one node), and a winner that goes
//     fails its pack, with no takeover.
//
// The decisions (who owns a pack, when the barrier is passed, what is a
// failure) are made by a plain state machine, view, with no I/O; Node
// feeds it memberlist's events and user messages, under one lock, and
// calls OnPackFailed from its own goroutine.
//
// A container's life, in short:
//
//	node, err := membership.Start(ctx, membership.Config{
//		Group:  groupID,
//		Secret: secret,
//		Packs:  packs,
//		Self:   membership.Meta{Pack: p, DataAddr: dataAddr, Lo: lo, Hi: hi},
//		Seeds:  []string{launcherAddr},
//		OnPackFailed: func(pack int, err error) { cancel(err) },
//	})
//	if err != nil { ... }
//	defer node.Close(time.Second)
//	peers, err := node.WaitReady(readyCtx) // all packs, with data addresses
//	... run the workers ...
//	node.MarkDone(ctx)
package membership
