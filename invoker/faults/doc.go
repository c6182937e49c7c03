// Package faults holds Volley's fault-injection and soak suite: real worker
// processes on the local runtime, some on their own network hosts
// (invoker/nethost), with containers killed, links cut, packs that never
// join, two groups at once, and 200 groups in a row. It has no code of its
// own beyond its tests; docs/reliability.md lists every fault, the expected
// behaviour, the measured detection time and the test that checks it.
package faults
