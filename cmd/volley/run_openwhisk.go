package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/openwhisk"
)

// openwhiskFlags are `volley run`'s flags for --backend openwhisk.
type openwhiskFlags struct {
	apihost, auth, namespace string
	insecure                 bool
	action                   string
	actionTimeout            time.Duration
	groupInvoke              string
	bindAddr                 string
}

func (o *openwhiskFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&o.apihost, "apihost", "", "openwhisk: API host, e.g. http://127.0.0.1:3233 (default: __OW_API_HOST, then APIHOST in $WSK_CONFIG_FILE or ~/.wskprops)")
	fl.StringVar(&o.auth, "auth", "", "openwhisk: credential UUID:KEY (default: __OW_API_KEY, then AUTH in the wskprops file)")
	fl.StringVar(&o.namespace, "namespace", "", "openwhisk: namespace (default: __OW_NAMESPACE, NAMESPACE in the wskprops file, else the credential's own)")
	fl.BoolVar(&o.insecure, "insecure", false, "openwhisk: skip TLS certificate checks")
	fl.StringVar(&o.action, "action", "volley", "openwhisk: name of the Docker action to create or update")
	fl.DurationVar(&o.actionTimeout, "action-timeout", 0, "openwhisk: the action's time limit (default: --timeout, at most 5m)")
	fl.StringVar(&o.groupInvoke, "group-invoke", "auto", "openwhisk: send a group as one group invoke: auto (when the server offers it), on, off")
	fl.StringVar(&o.bindAddr, "bind-addr", "127.0.0.1", "openwhisk: address the launcher's membership listens on; containers must reach it")
}

// newOpenWhiskRuntime builds the openwhisk backend. A missing setting is
// bad usage; an API that refuses or cannot be reached is a failure.
// image and memoryMB are the action's (the --image and --memory flags,
// which the docker backend shares).
func newOpenWhiskRuntime(ctx context.Context, o *openwhiskFlags, image string, memoryMB int, groupTimeout time.Duration, log *slog.Logger) (group.Runtime, []group.LaunchOption, error) {
	timeout := o.actionTimeout
	if timeout == 0 {
		timeout = min(groupTimeout, 5*time.Minute)
	}
	rt, err := openwhisk.New(ctx, openwhisk.Config{
		APIHost: o.apihost, Auth: o.auth, Namespace: o.namespace, Insecure: o.insecure,
		Action: o.action, Image: image, MemoryMB: memoryMB, Timeout: timeout, GroupInvoke: o.groupInvoke, Logger: log,
	})
	if err != nil {
		if errors.Is(err, openwhisk.ErrAPI) {
			return nil, nil, failedErr(err)
		}
		return nil, nil, usageErr(err)
	}
	return rt, []group.LaunchOption{group.BindAddr(o.bindAddr)}, nil
}
