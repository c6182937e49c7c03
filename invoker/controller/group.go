package controller

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// handleGroupInvoke serves POST on an action with ?granularity=G and
// {"value": [p0, ..., pN-1]}: the workers are cut into packs of G
// consecutive entries, one activation each, admitted all at once or queued
// all together. It answers 202 with the packs' activation ids at once;
// the records appear when the packs end.
func (c *Controller) handleGroupInvoke(w http.ResponseWriter, r *http.Request, ns string, a Action) {
	q := r.URL.Query()
	if q.Get("blocking") == "true" {
		writeError(w, http.StatusBadRequest, "a group invoke is non-blocking: fetch each pack's activation by its id")
		return
	}
	g, err := strconv.Atoi(q.Get("granularity"))
	if err != nil || g < 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("granularity must be an integer >= 1, got %q", q.Get("granularity")))
		return
	}
	body, status, err := readBody(w, r, c.cfg.MaxGroupPayload)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	var req struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "The request content was malformed: a group invoke's body is {\"value\": [one entry per worker]}: "+err.Error())
		return
	}
	n := len(req.Value)
	if n == 0 {
		writeError(w, http.StatusBadRequest, "a group invoke needs at least one worker in \"value\"")
		return
	}
	packs := (n + g - 1) / g
	if packs > c.cfg.Cores {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the group needs %d containers at once, more than the %d cores this controller admits (raise --cores or the granularity)", packs, c.cfg.Cores))
		return
	}
	if !c.begin() {
		writeError(w, http.StatusServiceUnavailable, msgShutdown)
		return
	}
	groupID := newID(16)
	jobs := make([]*job, packs)
	resp := GroupInvokeResponse{Group: groupID, ActivationIDs: make([]string, packs)}
	for p := range jobs {
		value, _ := json.Marshal(req.Value[p*g : min((p+1)*g, n)])
		jobs[p] = c.newJob(a, ns, value, groupID)
		resp.ActivationIDs[p] = jobs[p].id
	}
	c.mu.Lock()
	c.stats.Groups++
	c.mu.Unlock()
	go c.runGroup(jobs)
	writeJSON(w, http.StatusAccepted, resp)
}

// runGroup admits every pack's core at once, then runs the packs side by
// side; each pack gives its core back when it ends.
func (c *Controller) runGroup(jobs []*job) {
	defer c.inflt.Done()
	if err := c.adm.acquire(c.ctx, len(jobs)); err != nil {
		for _, j := range jobs {
			c.finish(j, time.Now(), 0, false, outcome{status: statusWhiskFail, result: errorResult(admissionMsg(err))}, nil, "")
		}
		return
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.adm.release(1)
			c.run(c.ctx, j)
		}()
	}
	wg.Wait()
}
