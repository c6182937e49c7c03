// Package invoker holds what starts containers for Volley groups. Each
// sub-package implements group.Runtime for one kind of container:
//
//   - action: the OpenWhisk action protocol (POST /init, POST /run), both
//     the server a container runs (`volley worker`) and the client a
//     launcher uses.
//   - local: containers are OS processes of the worker binary, with a warm
//     pool (the embedded default backend).
package invoker
