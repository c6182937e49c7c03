package action

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/volley-run/volley/group"
)

// EnvBindAddr names the address a container binds for membership and data
// (default 127.0.0.1).
const EnvBindAddr = "VOLLEY_BIND_ADDR"

// PackRunner returns the RunFunc of a Volley worker: the activation's value
// is a group.PackTask; the pack's workers run in this container and the
// answer is the group.PackResult.
func PackRunner(log *slog.Logger) RunFunc {
	return func(ctx context.Context, req RunRequest) (any, error) {
		var task group.PackTask
		if err := json.Unmarshal(req.Value, &task); err != nil {
			return nil, fmt.Errorf("value is not a pack task: %w", err)
		}
		log := log.With("group", task.Group, "pack", task.Pack.Index)
		res, err := group.ExecPack(ctx, task, group.ExecOptions{BindAddr: os.Getenv(EnvBindAddr), Logger: log})
		if err != nil {
			return nil, err
		}
		return res, nil
	}
}
