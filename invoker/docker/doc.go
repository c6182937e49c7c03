// Package docker is Volley's Docker backend: a container is a Docker
// container of the worker image (deploy/build-image.sh: the static volley
// binary FROM scratch, entrypoint `volley worker`), run the way Apache
// OpenWhisk's invoker runs an action container.
//
//   - One container per pack, on a user-defined bridge network that the
//     Runtime creates for itself (a /22 of 10.213.0.0/16). Each container
//     gets its own address on it, passed in as VOLLEY_BIND_ADDR, so its
//     membership and data plane bind and advertise a real container
//     address. /init and /run go to that address, port 8080, with no
//     published port. The launcher's membership listens on the bridge's
//     gateway address (BindAddr, for group.BindAddr).
//   - OpenWhisk's container life: the memory limit (default 256 MB,
//     swap included) and CPU shares in proportion; a warm pool
//     (invoker/pool, shared with the process runtime) that pauses an
//     idle container after a short grace and unpauses it for the next
//     pack; cold, warm and paused starts told apart in
//     group.ContainerInfo.Start.
//   - Everything it makes carries labels: volley.runtime (the runtime),
//     volley.owner (the launcher process), volley.group (the group a
//     container was started for; warm containers serve later groups of
//     the same runtime). Close removes the containers and the network; a
//     launcher that crashed leaves them to the Sweep that New runs, which
//     removes what belongs to processes no longer alive.
//   - A container's death is seen at once: one `docker events` stream
//     per runtime reports every die event, with the exit code.
//   - A container started with a sandbox.Spec.LogLimit (by `volley
//     serve`) logs to json-file and is a sandbox.LogSource: a `docker logs
//     --follow --timestamps` child per container feeds its stdout and
//     stderr, apart, to an invoker/actlog collector, and ends when the
//     container is removed (logs.go says why this way).
//
// The engine is driven through the docker CLI, as OpenWhisk's invoker
// does (its DockerClient shells out to docker run, pause, unpause, rm).
// The CLI is on every machine that has an engine, speaks to old daemons
// (API version negotiation: 20.10 here) and to remote ones through
// DOCKER_HOST and contexts, and adds no dependency to the module: the
// Engine API's Go client would bring in the moby API tree and its
// transitive dependencies for the handful of calls used here. The cost is
// a CLI process per call (tens of milliseconds), which the cold-start
// figures of `volley bench docker` include, as OpenWhisk's do.
//
//	rt, err := docker.New(ctx, docker.Config{})
//	if err != nil { ... }        // docker.ErrNoEngine, docker.ErrNoImage
//	defer rt.Close()
//	res, err := group.Launch(ctx, spec, rt, group.BindAddr(rt.BindAddr()))
package docker
