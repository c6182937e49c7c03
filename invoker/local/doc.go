// Package local is Volley's embedded backend: a container is an OS process
// of the worker binary (by default the running volley binary itself, as
// `volley worker`). Each process serves the OpenWhisk action protocol on a
// loopback port it reports back through an inherited pipe, and hosts one
// pack's workers as goroutines.
//
// Runtime keeps a warm pool: a container whose pack ended cleanly waits for
// the next pack (no process start, no /init), as OpenWhisk keeps warm
// containers. A container whose pack failed, was cancelled or ran past its
// deadline is killed, never reused. Close kills the pool; worker processes
// also die with the launcher (Linux parent-death signal), so none outlive it.
//
// Runtime is also a sandbox.Factory (for `volley serve`). A sandbox started
// with a sandbox.Spec.LogLimit is a sandbox.LogSource: the process's stdout
// and stderr pipes feed an invoker/actlog collector, each stream on its
// own, besides the debug log.
package local
