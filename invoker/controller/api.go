package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GroupFeature is the key of GET /api/v1's answer that advertises the
// group endpoint; a stock OpenWhisk has no such key.
const GroupFeature = "volley_group_invoke"

// GroupInvokeResponse answers a group invoke: one activation per pack, in
// pack order.
type GroupInvokeResponse struct {
	Group         string   `json:"group"`
	ActivationIDs []string `json:"activationIds"`
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_@.-][A-Za-z0-9_@. -]{0,255}$`)
	idRE   = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// Handler returns the REST API, rooted at /api/v1.
func (c *Controller) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1", c.handleInfo)
	mux.HandleFunc("GET /api/v1/{$}", c.handleInfo)
	mux.HandleFunc("GET /api/v1/namespaces", c.authed(c.handleNamespaces))
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/actions", c.authed(c.handleListActions))
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/actions/{name}", c.authed(c.handleGetAction))
	mux.HandleFunc("PUT /api/v1/namespaces/{ns}/actions/{name}", c.authed(c.handlePutAction))
	mux.HandleFunc("DELETE /api/v1/namespaces/{ns}/actions/{name}", c.authed(c.handleDeleteAction))
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/actions/{name}", c.authed(c.handleInvoke))
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/activations", c.authed(c.handleListActivations))
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/activations/{id}", c.authed(c.handleGetActivation))
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/activations/{id}/{part}", c.authed(c.handleGetActivation))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeError(w, http.StatusNotFound, msgNotFound) })
	return mux
}

func (c *Controller) handleInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"description": "OpenWhisk API (volley serve)", "api_version": "1.0.0", "api_version_path": "v1",
		"build": "volley", "buildno": "volley", "swagger_paths": map[string]string{},
		GroupFeature: map[string]string{"query": "granularity", "body": "value: one entry per worker"},
	})
}

// authedHandler gets the caller's namespace and the path's, resolved.
type authedHandler func(w http.ResponseWriter, r *http.Request, ns string)

// authed checks HTTP basic credentials and that the path's namespace is
// the caller's (or "_").
func (c *Controller) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		ns, known := c.cfg.Auth[user+":"+pass]
		if !ok || !known {
			w.Header().Set("WWW-Authenticate", `Basic realm="OpenWhisk secure realm"`)
			writeError(w, http.StatusUnauthorized, msgUnauthorized)
			return
		}
		if p := r.PathValue("ns"); p != "" && p != "_" && p != ns {
			writeError(w, http.StatusForbidden, msgForbidden)
			return
		}
		h(w, r, ns)
	}
}

func (c *Controller) handleNamespaces(w http.ResponseWriter, _ *http.Request, ns string) {
	writeJSON(w, http.StatusOK, []string{ns})
}

// listWindow reads limit (0 = the max, 200; default 30) and skip.
func listWindow(r *http.Request) (limit, skip int, err error) {
	limit, skip = 30, 0
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 || limit > 200 {
			return 0, 0, fmt.Errorf("limit must be an integer from 0 to 200, got %q", s)
		}
		if limit == 0 {
			limit = 200
		}
	}
	if s := q.Get("skip"); s != "" {
		if skip, err = strconv.Atoi(s); err != nil || skip < 0 {
			return 0, 0, fmt.Errorf("skip must be a non-negative integer, got %q", s)
		}
	}
	return limit, skip, nil
}

func window[T any](items []T, limit, skip int) []T {
	if skip >= len(items) {
		return []T{}
	}
	items = items[skip:]
	return items[:min(limit, len(items))]
}

func (c *Controller) handleListActions(w http.ResponseWriter, r *http.Request, ns string) {
	limit, skip, err := listWindow(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	c.mu.Lock()
	var list []*Action
	for _, a := range c.actions[ns] {
		list = append(list, a)
	}
	slices.SortFunc(list, func(a, b *Action) int { return int(b.Updated - a.Updated) })
	out := []map[string]any{}
	for _, a := range window(list, limit, skip) {
		out = append(out, a.summary())
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (c *Controller) handleGetAction(w http.ResponseWriter, r *http.Request, ns string) {
	a, ok := c.lookup(ns, r.PathValue("name"))
	if !ok {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	if r.URL.Query().Get("code") == "false" {
		a.Exec.Code = nil
	}
	writeJSON(w, http.StatusOK, a)
}

func (c *Controller) handleDeleteAction(w http.ResponseWriter, r *http.Request, ns string) {
	name := r.PathValue("name")
	c.mu.Lock()
	a := c.actions[ns][name]
	if a != nil {
		delete(c.actions[ns], name)
	}
	c.mu.Unlock()
	if a == nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (c *Controller) handlePutAction(w http.ResponseWriter, r *http.Request, ns string) {
	name := r.PathValue("name")
	if !nameRE.MatchString(name) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("action name %q is not a valid entity name", name))
		return
	}
	body, status, err := readBody(w, r, c.cfg.MaxPayload)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	var put actionPut
	if err := json.Unmarshal(body, &put); err != nil {
		writeError(w, http.StatusBadRequest, "The request content was malformed: "+err.Error())
		return
	}
	overwrite := r.URL.Query().Get("overwrite") == "true"
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.actions[ns][name]
	if old != nil && !overwrite {
		writeError(w, http.StatusConflict, msgAlreadyExists)
		return
	}
	a, err := c.makeAction(ns, name, old, put)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if c.actions[ns] == nil {
		c.actions[ns] = map[string]*Action{}
	}
	c.actions[ns][name] = a
	writeJSON(w, http.StatusOK, a)
}

// makeAction builds the stored action from a PUT body over old (nil on
// create), checking exec and limits as OpenWhisk does.
func (c *Controller) makeAction(ns, name string, old *Action, put actionPut) (*Action, error) {
	a := &Action{Namespace: ns, Name: name, Version: "0.0.1", Parameters: []KeyValue{},
		Limits:      Limits{Timeout: int(c.cfg.DefaultTimeout.Milliseconds()), Memory: 256, Logs: 10, Concurrency: 1},
		Annotations: []KeyValue{kv("provide-api-key", false)}}
	if old != nil {
		*a = *old
		a.Version = nextVersion(old.Version)
	}
	if put.Exec != nil {
		a.Exec = *put.Exec
	}
	if old == nil && put.Exec == nil {
		return nil, errors.New("exec undefined")
	}
	switch a.Exec.Kind {
	case "blackbox":
		if a.Exec.Image == "" {
			return nil, errors.New("exec malformed: a blackbox action needs an image")
		}
	case "":
		return nil, errors.New("exec malformed: kind undefined")
	default:
		return nil, fmt.Errorf("kind %q is not supported here: volley serve runs Docker (blackbox) actions only", a.Exec.Kind)
	}
	if a.Exec.Code != nil && *a.Exec.Code == "" {
		a.Exec.Code = nil
	}
	if put.Parameters != nil {
		a.Parameters = put.Parameters
	}
	if put.Annotations != nil {
		keep := a.Annotations
		a.Annotations = put.Annotations
		if old == nil {
			for _, k := range keep {
				if !slices.ContainsFunc(a.Annotations, func(x KeyValue) bool { return x.Key == k.Key }) {
					a.Annotations = append(a.Annotations, k)
				}
			}
		}
	}
	a.Annotations = setAnnotation(a.Annotations, kv("exec", "blackbox"))
	if put.Publish != nil {
		a.Publish = *put.Publish
	}
	if l := put.Limits; l != nil {
		if l.Timeout != nil {
			a.Limits.Timeout = *l.Timeout
		}
		if l.Memory != nil {
			a.Limits.Memory = *l.Memory
		}
		if l.Logs != nil {
			a.Limits.Logs = *l.Logs
		}
		if l.Concurrency != nil {
			a.Limits.Concurrency = *l.Concurrency
		}
	}
	maxMs := int(c.cfg.MaxTimeout.Milliseconds())
	switch {
	case a.Limits.Timeout < 100 || a.Limits.Timeout > maxMs:
		return nil, fmt.Errorf("time limit %d ms is outside the allowed range [100 ms, %d ms]", a.Limits.Timeout, maxMs)
	case a.Limits.Memory < 128 || a.Limits.Memory > 512:
		return nil, fmt.Errorf("memory size %d MB is outside the allowed range [128 MB, 512 MB]", a.Limits.Memory)
	case a.Limits.Logs < 0 || a.Limits.Logs > 10:
		return nil, fmt.Errorf("log size %d MB is outside the allowed range [0 MB, 10 MB]", a.Limits.Logs)
	case a.Limits.Concurrency != 1:
		return nil, fmt.Errorf("concurrency %d is outside the allowed range [1, 1]: a Volley worker runs one activation at a time", a.Limits.Concurrency)
	}
	a.Updated = epochMs(time.Now())
	return a, nil
}

// readBody reads at most limit bytes, answering 413 beyond.
func readBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, int, error) {
	if r.ContentLength > int64(limit) {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("Request larger than allowed: %d > %d bytes.", r.ContentLength, limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("Request larger than allowed: more than %d bytes.", limit)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("read request: %w", err)
	}
	return body, 0, nil
}

func (c *Controller) handleInvoke(w http.ResponseWriter, r *http.Request, ns string) {
	a, ok := c.lookup(ns, r.PathValue("name"))
	if !ok {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	q := r.URL.Query()
	if q.Has("granularity") {
		c.handleGroupInvoke(w, r, ns, a)
		return
	}
	blocking, result := q.Get("blocking") == "true", q.Get("result") == "true"
	wait := c.cfg.MaxWait
	if s := q.Get("timeout"); s != "" {
		ms, err := strconv.Atoi(s)
		if err != nil || ms <= 0 || time.Duration(ms)*time.Millisecond > c.cfg.MaxWait {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Timeout must be number of milliseconds up to %d.", c.cfg.MaxWait.Milliseconds()))
			return
		}
		wait = time.Duration(ms) * time.Millisecond
	}
	body, status, err := readBody(w, r, c.cfg.MaxPayload)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	params, err := mergeParams(a, body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !c.begin() {
		writeError(w, http.StatusServiceUnavailable, msgShutdown)
		return
	}
	j := c.newJob(a, ns, params, "")
	c.submit(j)
	w.Header().Set("x-openwhisk-activation-id", j.id)
	if !blocking {
		writeJSON(w, http.StatusAccepted, map[string]string{"activationId": j.id})
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case rec := <-j.done:
		writeRecord(w, rec, result)
	case <-timer.C:
		writeJSON(w, http.StatusAccepted, map[string]string{"activationId": j.id})
	case <-r.Context().Done():
	}
}

// writeRecord answers a finished blocking invoke: 200 on success, 502 for
// application and developer errors, 500 for whisk errors; the record, or
// only the result when asked (an array result always comes bare).
func writeRecord(w http.ResponseWriter, rec *Activation, resultOnly bool) {
	status := http.StatusOK
	switch rec.Response.Status {
	case statusAppError, statusDevError:
		status = http.StatusBadGateway
	case statusWhiskFail:
		status = http.StatusInternalServerError
	}
	res := rec.Response.Result
	if resultOnly || (len(res) > 0 && res[0] == '[') {
		writeJSON(w, status, res)
		return
	}
	writeJSON(w, status, rec)
}

// mergeParams merges the invoke body (a JSON object, or empty) over the
// action's non-init parameters.
func mergeParams(a Action, body []byte) (json.RawMessage, error) {
	merged := map[string]json.RawMessage{}
	for _, p := range a.Parameters {
		if !p.Init {
			merged[p.Key] = p.Value
		}
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		var req map[string]json.RawMessage
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, fmt.Errorf("The request content was malformed: the body must be a JSON object: %v", err)
		}
		for k, v := range req {
			merged[k] = v
		}
	}
	return json.Marshal(merged)
}

func (c *Controller) handleListActivations(w http.ResponseWriter, r *http.Request, ns string) {
	q := r.URL.Query()
	if q.Get("count") == "true" && q.Get("docs") == "true" {
		writeError(w, http.StatusBadRequest, "count and docs cannot be combined")
		return
	}
	limit, skip, err := listWindow(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var since, upto int64
	for key, dst := range map[string]*int64{"since": &since, "upto": &upto} {
		if s := q.Get(key); s != "" {
			if *dst, err = strconv.ParseInt(s, 10, 64); err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("%s must be epoch milliseconds, got %q", key, s))
				return
			}
		}
	}
	name := q.Get("name")
	c.mu.Lock()
	var list []*Activation
	for i := len(c.order) - 1; i >= 0; i-- { // newest first
		a := c.activations[c.order[i]]
		if a.Namespace != ns || (name != "" && a.Name != name) || (since > 0 && a.Start < since) || (upto > 0 && a.Start > upto) {
			continue
		}
		list = append(list, a)
	}
	c.mu.Unlock()
	if q.Get("count") == "true" {
		writeJSON(w, http.StatusOK, map[string]int{"activations": len(list)})
		return
	}
	list = window(list, limit, skip)
	if q.Get("docs") == "true" {
		writeJSON(w, http.StatusOK, list)
		return
	}
	out := []map[string]any{}
	for _, a := range list {
		out = append(out, a.summary())
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Controller) handleGetActivation(w http.ResponseWriter, r *http.Request, ns string) {
	id := r.PathValue("id")
	if !idRE.MatchString(id) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("activation id %q is not 32 hexadecimal characters", id))
		return
	}
	a := c.activation(ns, id)
	if a == nil {
		writeError(w, http.StatusNotFound, msgNotFound)
		return
	}
	switch r.PathValue("part") {
	case "":
		writeJSON(w, http.StatusOK, a)
	case "result":
		writeJSON(w, http.StatusOK, map[string]any{"result": a.Response.Result, "success": a.Response.Success,
			"status": a.Response.Status, "size": a.Response.Size})
	case "logs":
		writeJSON(w, http.StatusOK, map[string][]string{"logs": a.Logs})
	default:
		writeError(w, http.StatusNotFound, msgNotFound)
	}
}
