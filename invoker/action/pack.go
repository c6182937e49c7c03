package action

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/volley-run/volley/group"
)

// EnvBindAddr names the address a container binds for membership and data.
// A launcher that starts local containers sets it; when neither it nor
// EnvListen is set the container runs under OpenWhisk and binds its own
// network address (the one other containers reach it on).
const EnvBindAddr = "VOLLEY_BIND_ADDR"

// PackRunner returns the RunFunc of a Volley worker: the activation's value
// is a group.PackTask, or (from a group endpoint) the list of its ranks'
// per-worker parameters, each the same PackTask; the pack's workers run in
// this container and the answer is the group.PackResult.
func PackRunner(log *slog.Logger) RunFunc {
	return func(ctx context.Context, req RunRequest) (any, error) {
		task, err := DecodePackTask(req.Value)
		if err != nil {
			return nil, err
		}
		bind, err := bindAddr()
		if err != nil {
			return nil, err
		}
		log := log.With("group", task.Group, "pack", task.Pack.Index)
		res, err := group.ExecPack(ctx, task, group.ExecOptions{BindAddr: bind, Logger: log})
		if err != nil {
			return nil, err
		}
		return res, nil
	}
}

// DecodePackTask reads an activation value: one PackTask object, or a list
// of per-worker parameters (one per rank of the pack, in rank order), each
// the pack's PackTask.
func DecodePackTask(value json.RawMessage) (group.PackTask, error) {
	value = bytes.TrimSpace(value)
	if len(value) == 0 || bytes.Equal(value, []byte("null")) {
		return group.PackTask{}, errors.New("value is empty: want a pack task")
	}
	if value[0] != '[' {
		var task group.PackTask
		if err := json.Unmarshal(value, &task); err != nil {
			return group.PackTask{}, fmt.Errorf("value is not a pack task: %w", err)
		}
		return task, nil
	}
	var list []group.PackTask
	if err := json.Unmarshal(value, &list); err != nil {
		return group.PackTask{}, fmt.Errorf("value is not a list of per-worker pack tasks: %w", err)
	}
	if len(list) == 0 {
		return group.PackTask{}, errors.New("value is an empty list of workers")
	}
	task := list[0]
	if len(list) != task.Pack.Size() {
		return group.PackTask{}, fmt.Errorf("value lists %d workers for pack %d, which has %d ranks", len(list), task.Pack.Index, task.Pack.Size())
	}
	for i, t := range list[1:] {
		if t.Group != task.Group || t.Pack != task.Pack {
			return group.PackTask{}, fmt.Errorf("worker %d of the list belongs to group %s pack %d, not group %s pack %d", i+1, t.Group, t.Pack.Index, task.Group, task.Pack.Index)
		}
	}
	return task, nil
}

// bindAddr is the address membership and data listen on: EnvBindAddr if
// set; 127.0.0.1 under a local launcher (EnvListen set); otherwise the
// container's own address.
func bindAddr() (string, error) {
	if a := os.Getenv(EnvBindAddr); a != "" {
		return a, nil
	}
	if os.Getenv(EnvListen) != "" {
		return "127.0.0.1", nil
	}
	return containerAddr()
}

// containerAddr returns the first IPv4 address of an interface that is up
// and not the loopback: what a container's peers reach it on.
func containerAddr() (string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("list network interfaces: %w", err)
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String(), nil
			}
		}
	}
	return "", fmt.Errorf("no network address to bind: no interface other than the loopback is up (set %s)", EnvBindAddr)
}
