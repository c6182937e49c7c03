// Package openwhisk runs Volley groups on Apache OpenWhisk through
// openwhisk-client-go: one Docker ("blackbox") action whose image is the
// Volley worker, and one activation per pack, whose parameters are the
// pack's group.PackTask (group id, pack and ranks, seeds, secret). Results
// are gathered by activation id, polling with backoff until the group's
// deadline.
//
// Against `volley serve` (which advertises it in GET /api/v1) a group
// goes out as one group invoke, admitted whole or queued by the server;
// against a stock OpenWhisk it goes out as ceil(N/g) single non-blocking
// activations, which the platform may start at different times.
//
// Configuration follows OpenWhisk's conventions, first match wins: the
// Config fields (the CLI's --apihost, --auth, --namespace, --insecure),
// then __OW_API_HOST, __OW_API_KEY and __OW_NAMESPACE, then the wskprops
// file named by WSK_CONFIG_FILE, else ~/.wskprops (APIHOST, AUTH,
// NAMESPACE).
//
//	rt, err := openwhisk.New(ctx, openwhisk.Config{APIHost: "http://127.0.0.1:3233", Auth: auth})
//	res, err := group.Launch(ctx, spec, rt)
package openwhisk
