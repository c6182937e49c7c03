package openwhisk

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/volley-run/volley/group"
)

// batch collects a group's pack tasks until all have arrived, then sends
// them as one group invoke. group.Launch asks for every pack at once, so
// the batch fills within moments. Only a pack's first replica is batched
// (see RunPack), so each pack arrives once. A caller that stops waiting
// (its replica lost the race to a single activation, or the group ended)
// leaves its pack in the batch, so the invoke still goes out whole for
// the others; a batch still short of packs at the group's ready deadline
// fails.
type batch struct {
	tasks   []group.PackTask
	filled  []bool // by pack: its task arrived
	arrived int
	expiry  *time.Timer   // fails the batch at the ready deadline; nil without one
	ready   chan struct{} // closed once ids or err is set
	ids     []string
	err     error
}

// joinGroup adds task to its group's batch; the last pack to arrive sends
// the group invoke. It returns the pack's activation id. A pack that is
// already in the batch is an error.
func (r *Runtime) joinGroup(ctx context.Context, task group.PackTask) (string, error) {
	packs := (task.Workers + task.Granularity - 1) / task.Granularity
	if task.Pack.Index < 0 || task.Pack.Index >= packs {
		return "", fmt.Errorf("pack %d of a group of %d packs", task.Pack.Index, packs)
	}
	r.mu.Lock()
	b := r.batches[task.Group]
	if b == nil {
		b = &batch{tasks: make([]group.PackTask, packs), filled: make([]bool, packs), ready: make(chan struct{})}
		r.batches[task.Group] = b
		if !task.ReadyDeadline.IsZero() { // zero: no start-up bound, as in group.ExecPack
			b.expiry = time.AfterFunc(time.Until(task.ReadyDeadline), func() { r.expire(task.Group, b) })
		}
	}
	if b.filled[task.Pack.Index] {
		r.mu.Unlock()
		return "", fmt.Errorf("pack %d: already in its group's invoke", task.Pack.Index)
	}
	b.tasks[task.Pack.Index], b.filled[task.Pack.Index] = task, true
	b.arrived++
	last := b.arrived == packs
	if last {
		delete(r.batches, task.Group)
		if b.expiry != nil {
			b.expiry.Stop()
		}
	}
	r.mu.Unlock()
	if last {
		b.ids, b.err = r.groupInvoke(b.tasks)
		close(b.ready)
	}
	select {
	case <-b.ready:
	case <-ctx.Done():
		return "", fmt.Errorf("pack %d: waiting for the group's other packs: %w", task.Pack.Index, context.Cause(ctx))
	}
	if b.err != nil {
		return "", b.err
	}
	return b.ids[task.Pack.Index], nil
}

// expire fails group's batch b if it is still waiting for packs.
func (r *Runtime) expire(groupID string, b *batch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.batches[groupID] != b {
		return
	}
	delete(r.batches, groupID)
	b.err = fmt.Errorf("group invoke: ready deadline passed with %d of %d packs arrived", b.arrived, len(b.tasks))
	close(b.ready)
}

// groupInvoke posts every worker's parameters (its pack's task, one entry
// per rank) with the granularity, and returns the packs' activation ids.
func (r *Runtime) groupInvoke(tasks []group.PackTask) ([]string, error) {
	g := tasks[0].Granularity
	var workers []group.PackTask
	for _, t := range tasks {
		for range t.Pack.Size() {
			workers = append(workers, t)
		}
	}
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	req, err := c.NewRequest(http.MethodPost, fmt.Sprintf("actions/%s?blocking=false&granularity=%d", r.cfg.Action, g),
		map[string]any{"value": workers}, true)
	if err != nil {
		return nil, fmt.Errorf("group invoke: %w", err)
	}
	var out struct {
		ActivationIDs []string `json:"activationIds"`
	}
	resp, err := c.Do(req, &out, false)
	if err != nil {
		return nil, r.apiErr(fmt.Sprintf("group invoke of %s (%d workers, granularity %d)", r.cfg.Action, len(workers), g), resp, err)
	}
	if len(out.ActivationIDs) != len(tasks) {
		return nil, fmt.Errorf("%w: group invoke answered %d activation ids for %d packs", ErrAPI, len(out.ActivationIDs), len(tasks))
	}
	return out.ActivationIDs, nil
}
