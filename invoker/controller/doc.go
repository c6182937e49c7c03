// Package controller is the embedded, in-memory controller behind `volley
// serve`: it speaks the part of Apache OpenWhisk's REST API that
// openwhisk-client-go uses (actions put/get/list/delete, blocking and
// non-blocking invoke, activations get/result/logs/list, namespaces, HTTP
// basic auth with "uuid:key" credentials, OpenWhisk's error shape) and
// runs every activation in a container started through a sandbox.Factory
// (worker processes with invoker/local, Docker containers with
// invoker/docker), over the OpenWhisk action protocol.
//
// Nothing is persistent and nothing slow sits on the invocation path
// (Dirigent's idea): actions and activation records live in maps, and an
// activation goes admission -> warm or cold container -> /run -> record.
//
//   - Admission is core-granular: each container takes one core of a fixed
//     budget (Config.Cores); activations wait in one FIFO queue for their
//     cores.
//   - The warm pool is OpenWhisk's: a container whose activation succeeded
//     (or failed with an application error) waits for the next activation
//     of the same action; after Config.PauseGrace it is paused, and resumed
//     when reused; after Config.IdleTimeout it is removed. A container that
//     broke the protocol, failed /init or ran past its time limit is
//     destroyed.
//   - Activation logs are OpenWhisk's: when the sandbox is a
//     sandbox.LogSource and the action's limits.logs is not 0, what the
//     container printed until the worker's sentinels is stored in the
//     record, one "<time> <stream>: <text>" line each (invoker/actlog),
//     capped at the limit. The result goes out first (a blocking invoke
//     answers with logs []); the record is stored, with its logs, once
//     they are read, and the container serves nothing else until then.
//     After a developer error nobody waits for sentinels (the logs get
//     OpenWhisk's notice that data may be missing); a container whose
//     logs were truncated or could not be read is destroyed.
//   - The group endpoint is Volley's addition, in the shape of Burst's
//     OpenWhisk extension: POST on the action with ?granularity=G and
//     {"value": [p0, ..., pN-1]}, one list entry per worker. The workers are
//     cut into packs of G consecutive entries; the whole group is admitted
//     at once (all its containers' cores) or waits, so a group never starts
//     half-way. The answer, 202, lists the packs' activation ids; each
//     pack's /run value is its slice of the list.
//
// Usage:
//
//	rt, _ := local.New(local.Config{})
//	c := controller.New(controller.Config{Factory: rt})
//	defer c.Close()
//	http.Serve(ln, c.Handler())
package controller
