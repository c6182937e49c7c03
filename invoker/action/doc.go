// Package action implements the OpenWhisk action protocol that every Volley
// container speaks, on both sides:
//
//   - Server is the container side (`volley worker`): HTTP on :8080 (or the
//     address in VOLLEY_LISTEN) with POST /init, once per container, and
//     POST /run, once per activation. A /run's "value" is a group.PackTask;
//     its answer is the group.PackResult, or {"error": ...}.
//   - Client is the launcher side: Init and Run against one container.
//
// The server follows what OpenWhisk's invoker expects of a blackbox
// ("docker") action: JSON bodies with Content-Length, 200 with a JSON
// object for results, {"error": ...} for failures, a 403 for a second
// /init, and the log sentinel line on stdout and stderr after each /run.
// So the same binary serves as a local process container and as an
// OpenWhisk Docker action, unchanged.
package action
