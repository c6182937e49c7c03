package openwhisk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"

	"github.com/volley-run/volley/group"
)

// groupFeature is the key of GET /api/v1's answer with which `volley serve`
// advertises its group endpoint (invoker/controller.GroupFeature).
const groupFeature = "volley_group_invoke"

// ErrAPI marks an error answer of the OpenWhisk API (bad credentials, a
// missing action, a refused request), as opposed to a failed activation.
var ErrAPI = errors.New("OpenWhisk API")

// Runtime runs packs as activations of one OpenWhisk action. It implements
// group.Runtime and is safe for concurrent use.
type Runtime struct {
	cfg      Config
	log      *slog.Logger
	groupAPI bool

	mu      sync.Mutex
	batches map[string]*batch
}

var _ group.Runtime = (*Runtime)(nil)

// New resolves cfg, checks the credential, finds whether the server has a
// group endpoint, and creates or updates the action (image, memory,
// timeout, concurrency) unless it already matches.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	r := &Runtime{cfg: cfg, log: cfg.Logger, batches: map[string]*batch{}}
	client, err := r.client()
	if err != nil {
		return nil, err
	}
	hasGroup, err := r.probeGroupEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.GroupInvoke == "on" && !hasGroup:
		return nil, fmt.Errorf("%s has no group endpoint (a stock OpenWhisk); use single activations (group invoke off or auto)", cfg.APIHost)
	case cfg.GroupInvoke != "off":
		r.groupAPI = hasGroup
	}
	if err := r.ensureAction(client); err != nil {
		return nil, err
	}
	r.log.Info("openwhisk backend ready", "apihost", cfg.APIHost, "action", cfg.Action, "image", cfg.Image, "group_endpoint", r.groupAPI)
	return r, nil
}

// GroupEndpoint reports whether groups go out as one group invoke.
func (r *Runtime) GroupEndpoint() bool { return r.groupAPI }

// client returns a fresh client-go client (client-go rewrites a client's
// namespace on activation calls, so clients are not shared).
func (r *Runtime) client() (*whisk.Client, error) {
	c, err := whisk.NewClient(r.cfg.HTTPClient, r.cfg.whiskConfig())
	if err != nil {
		return nil, fmt.Errorf("openwhisk client for %s: %w", r.cfg.APIHost, err)
	}
	return c, nil
}

// apiErr words an error of client-go for the user: the HTTP status and
// OpenWhisk's message.
func (r *Runtime) apiErr(what string, resp *http.Response, err error) error {
	if resp == nil {
		return fmt.Errorf("%w: %s at %s: %v", ErrAPI, what, r.cfg.APIHost, err)
	}
	msg := err.Error()
	if resp.StatusCode == http.StatusUnauthorized {
		msg += " (check --auth, __OW_API_KEY or AUTH in your wskprops)"
	}
	return fmt.Errorf("%w: %s at %s: HTTP %d: %s", ErrAPI, what, r.cfg.APIHost, resp.StatusCode, msg)
}

// probeGroupEndpoint reads GET /api/v1 (no credential needed) and looks
// for the group feature. A server that does not answer is an error.
func (r *Runtime) probeGroupEndpoint(ctx context.Context) (bool, error) {
	c, err := r.client()
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL.String()+"/"+c.Version, nil)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrAPI, err)
	}
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		return false, fmt.Errorf("%w: cannot reach %s: %v", ErrAPI, r.cfg.APIHost, err)
	}
	defer resp.Body.Close()
	var info map[string]json.RawMessage
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&info) != nil {
		return false, nil
	}
	_, ok := info[groupFeature]
	return ok, nil
}

// ensureAction creates the action, or updates it when its image or
// limits differ (an update gives it a new version, and OpenWhisk does not
// reuse the old version's warm containers).
func (r *Runtime) ensureAction(c *whisk.Client) error {
	timeout, mem, conc := int(r.cfg.Timeout.Milliseconds()), r.cfg.MemoryMB, r.cfg.Concurrency
	old, resp, err := c.Actions.Get(r.cfg.Action, false)
	switch {
	case err == nil && old.Exec != nil && old.Limits != nil && old.Exec.Image == r.cfg.Image &&
		eq(old.Limits.Timeout, timeout) && eq(old.Limits.Memory, mem) && eq(old.Limits.Concurrency, conc) &&
		(old.Exec.Code == nil || *old.Exec.Code == ""):
		return nil
	case err != nil && (resp == nil || resp.StatusCode != http.StatusNotFound):
		return r.apiErr("get action "+r.cfg.Action, resp, err)
	}
	_, resp, err = c.Actions.Insert(&whisk.Action{
		Name:   r.cfg.Action,
		Exec:   &whisk.Exec{Kind: "blackbox", Image: r.cfg.Image},
		Limits: &whisk.Limits{Timeout: &timeout, Memory: &mem, Concurrency: &conc},
	}, true)
	if err != nil {
		return r.apiErr("create action "+r.cfg.Action, resp, err)
	}
	return nil
}

func eq(p *int, v int) bool { return p != nil && *p == v }

// RunPack fires the pack's activation (alone, or with its group through
// the group endpoint) and waits for its record. Only the first flight
// (replica 0 of every pack) goes through the group endpoint: the other
// speculative replicas start at other times, or only for late packs, and
// go as single activations.
func (r *Runtime) RunPack(ctx context.Context, task group.PackTask) (group.PackResult, error) {
	var id string
	var err error
	if r.groupAPI && task.Replica == 0 {
		id, err = r.joinGroup(ctx, task)
	} else {
		id, err = r.invoke(task)
	}
	if err != nil {
		return group.PackResult{}, err
	}
	rec, err := r.await(ctx, id)
	if err != nil {
		return group.PackResult{}, err
	}
	return packResult(rec)
}

// invoke fires one non-blocking activation whose parameters are the task.
func (r *Runtime) invoke(task group.PackTask) (string, error) {
	c, err := r.client()
	if err != nil {
		return "", err
	}
	res, resp, err := c.Actions.Invoke(r.cfg.Action, task, false, false)
	if err != nil {
		return "", r.apiErr("invoke "+r.cfg.Action, resp, err)
	}
	m, _ := res.(map[string]any)
	id, _ := m["activationId"].(string)
	if id == "" {
		return "", fmt.Errorf("%w: invoke %s: answer %v has no activationId", ErrAPI, r.cfg.Action, res)
	}
	return id, nil
}

// await polls for activation id's record, backing off from PollMin to
// PollMax, until it exists or ctx ends. OpenWhisk answers 404 until the
// activation is done.
func (r *Runtime) await(ctx context.Context, id string) (*whisk.Activation, error) {
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	wait := r.cfg.PollMin
	for {
		rec, resp, err := c.Activations.Get(id)
		if err == nil {
			return rec, nil
		}
		if resp == nil || resp.StatusCode != http.StatusNotFound {
			return nil, r.apiErr("get activation "+id, resp, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("activation %s: no result: %w", id, context.Cause(ctx))
		case <-time.After(wait):
		}
		wait = min(wait*3/2, r.cfg.PollMax)
	}
}

// packResult turns an activation record into the pack's result, or an
// error carrying OpenWhisk's status and message.
func packResult(rec *whisk.Activation) (group.PackResult, error) {
	raw, err := json.Marshal(rec.Response.Result)
	if err != nil {
		return group.PackResult{}, fmt.Errorf("activation %s: result: %w", rec.ActivationID, err)
	}
	if !rec.Response.Success {
		return group.PackResult{}, fmt.Errorf("activation %s: %s: %s", rec.ActivationID, rec.Response.Status, errorText(raw))
	}
	var res group.PackResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return group.PackResult{}, fmt.Errorf("activation %s: result is not a pack result: %w", rec.ActivationID, err)
	}
	var waitMs, initMs float64
	cold := false
	for _, a := range rec.Annotations {
		switch a.Key {
		case "waitTime":
			waitMs = number(a.Value)
		case "initTime":
			initMs, cold = number(a.Value), true
		}
	}
	res.Container = group.ContainerInfo{ID: rec.ActivationID, Cold: cold, StartMs: waitMs + initMs}
	return res, nil
}

// errorText is the "error" field of a failed result, or the result.
func errorText(raw []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s
		}
		return string(e.Error)
	}
	return strings.TrimSpace(string(raw))
}

func number(v any) float64 {
	switch n := v.(type) {
	case json.Number:
		f, _ := n.Float64()
		return f
	case float64:
		return n
	}
	return 0
}
