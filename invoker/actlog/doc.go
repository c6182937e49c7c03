// Package actlog cuts a container's output into activation logs, the way
// Apache OpenWhisk's invoker reads an action container's log.
//
// An action runtime ends every activation by writing the sentinel line
// (Sentinel) once to stdout and once to stderr. A Collector is fed the
// container's lines, each tagged with its stream and the time it was
// printed, and keeps them by activation: a stream's lines belong to the
// activation in progress on that stream until the stream shows a sentinel;
// an activation's logs are complete once both streams have shown theirs.
// Lines printed after the sentinels (by a warm container between
// activations, say) belong to the next activation. Sentinels are never
// stored.
//
// Collect returns the next activation's lines, formatted as OpenWhisk
// stores them (Format), waiting for the sentinels with OpenWhisk's
// deadlines: 2 s without output, and max(limit in MB, 5) x 2 s overall.
// When it gives up it appends MsgFailure; when the activation printed more
// than the limit it stops at the limit and appends the truncation notice.
// Memory is bounded by the limit whether or not anyone collects: lines
// beyond an activation's limit are counted, not kept, and the collector
// keeps at most a few activations.
//
// The package does no I/O and starts no goroutine; the container runtimes
// (invoker/local, invoker/docker) feed it from the processes they run.
//
//	c := actlog.New(actlog.Config{Limit: 10 << 20})
//	cmd.Stdout, cmd.Stderr = c.Writer(actlog.Stdout), c.Writer(actlog.Stderr)
//	...                                  // cmd.Wait(); c.Close()
//	lines, err := c.Collect(ctx, true)   // after each /run
package actlog
