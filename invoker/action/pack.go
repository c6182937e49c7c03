package action

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/volley-run/volley/group"
)

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
		res, err := group.ExecPack(ctx, task, log)
		if err != nil {
			return nil, err
		}
		return res, nil
	}
}
