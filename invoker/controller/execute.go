package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/actlog"
	"github.com/volley-run/volley/invoker/sandbox"
)

// job is one activation to run.
type job struct {
	action    Action
	ns        string // the invoking namespace
	id        string
	tid       string // transaction id
	value     json.RawMessage
	cause     string // the group's id, for a pack of a group invoke
	submitted time.Time
	done      chan *Activation // gets the record; buffered
}

func (c *Controller) newJob(a Action, ns string, value json.RawMessage, cause string) *job {
	return &job{action: a, ns: ns, id: newID(16), tid: newID(16), value: value, cause: cause,
		submitted: time.Now(), done: make(chan *Activation, 1)}
}

// outcome is how an activation ended.
type outcome struct {
	status  string
	result  json.RawMessage
	keep    bool // the container stays warm
	timeout bool
}

func errorResult(msg string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return b
}

// submit runs j once one core is free; the record goes to j.done.
func (c *Controller) submit(j *job) {
	go func() {
		defer c.inflt.Done()
		if err := c.adm.acquire(c.ctx, 1); err != nil {
			c.finish(j, time.Now(), 0, false, outcome{status: statusWhiskFail, result: errorResult(admissionMsg(err))}, nil, "")
			return
		}
		defer c.adm.release(1)
		c.run(c.ctx, j)
	}()
}

func admissionMsg(err error) string {
	if errors.Is(err, context.Canceled) {
		return msgShutdown
	}
	return "admission: " + err.Error()
}

// run executes j in a warm or a new container and records the outcome.
func (c *Controller) run(ctx context.Context, j *job) {
	a := j.action
	timeout := time.Duration(a.Limits.Timeout) * time.Millisecond
	key := poolKey(a)
	cont := c.pool.take(ctx, key)
	cold := cont == nil
	var initDur time.Duration
	if cold {
		var o *outcome
		cont, initDur, o = c.coldStart(ctx, j, timeout)
		if o != nil {
			c.finish(j, time.Now(), initDur, cold, *o, cont, key)
			return
		}
	} else {
		c.mu.Lock()
		c.stats.WarmStarts++
		c.mu.Unlock()
	}
	runStart := time.Now()
	deadline := runStart.Add(timeout)
	runCtx, cancel := context.WithDeadline(ctx, deadline)
	status, body, err := cont.client.Post(runCtx, "/run", action.RunRequest{
		Value: j.value, Namespace: j.ns, ActionName: "/" + a.Namespace + "/" + a.Name, ActionVersion: a.Version,
		ActivationID: j.id, TransactionID: j.tid, Deadline: action.MillisOf(deadline),
	})
	cancel()
	o := c.classifyRun(ctx, status, body, err, time.Since(runStart), a.Limits.Timeout)
	c.finish(j, runStart, initDur, cold, o, cont, key)
}

// coldStart starts a container for j's action and sends /init. On failure
// it returns the outcome to record, and the container if one started
// (its /init failed; the caller destroys it).
func (c *Controller) coldStart(ctx context.Context, j *job, timeout time.Duration) (*container, time.Duration, *outcome) {
	a := j.action
	startCtx, cancel := context.WithTimeout(ctx, c.cfg.StartTimeout)
	sb, err := c.cfg.Factory.Start(startCtx, sandbox.Spec{
		Image: c.cfg.ResolveImage(a.Exec.Image), MemoryMB: a.Limits.Memory,
		Env:      []string{"__OW_API_HOST=" + c.cfg.APIHost},
		Labels:   map[string]string{"volley.action": "/" + a.Namespace + "/" + a.Name},
		LogLimit: a.Limits.Logs << 20, // MB, as OpenWhisk counts them
	})
	cancel()
	if err != nil {
		c.log.Warn("container start failed", "action", a.Name, "image", a.Exec.Image, "err", err)
		if ctx.Err() != nil {
			return nil, 0, &outcome{status: statusWhiskFail, result: errorResult(msgShutdown)}
		}
		return nil, 0, &outcome{status: statusWhiskFail, result: errorResult(msgProvision + " " + err.Error())}
	}
	c.mu.Lock()
	c.stats.ColdStarts++
	c.mu.Unlock()
	cont := &container{sb: sb, client: action.NewClient(sb.Addr())}
	env := map[string]string{
		"__OW_NAMESPACE": j.ns, "__OW_ACTION_NAME": "/" + a.Namespace + "/" + a.Name,
		"__OW_ACTION_VERSION": a.Version, "__OW_ACTIVATION_ID": j.id, "__OW_TRANSACTION_ID": j.tid,
		"__OW_DEADLINE": fmt.Sprint(time.Now().Add(timeout).UnixMilli()),
	}
	for _, p := range a.Parameters {
		if p.Init {
			env[p.Key] = paramString(p.Value)
		}
	}
	main := a.Exec.Main
	if main == "" {
		main = "main"
	}
	code := ""
	if a.Exec.Code != nil {
		code = *a.Exec.Code
	}
	initStart := time.Now()
	initCtx, cancel := context.WithTimeout(ctx, timeout)
	status, body, err := cont.client.Post(initCtx, "/init", action.InitRequest{Value: action.InitValue{
		Name: a.Name, Main: main, Code: code, Env: env,
	}})
	initErr := initCtx.Err()
	cancel()
	initDur := time.Since(initStart)
	var o *outcome
	switch {
	case err != nil && ctx.Err() != nil:
		o = &outcome{status: statusWhiskFail, result: errorResult(msgShutdown)}
	case err != nil && initErr != nil:
		o = &outcome{status: statusDevError, timeout: true,
			result: errorResult(fmt.Sprintf("The action exceeded its time limits of %d milliseconds during initialization.", a.Limits.Timeout))}
	case err != nil:
		o = &outcome{status: statusDevError, result: errorResult(msgAbnormalInit)}
	case status != 200:
		var e struct {
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
			b, _ := json.Marshal(map[string]json.RawMessage{"error": e.Error})
			o = &outcome{status: statusDevError, result: b}
		} else {
			o = &outcome{status: statusDevError, result: errorResult(msgInitFailed + string(body))}
		}
	}
	if o != nil {
		c.log.Info("container failed /init", "action", a.Name, "container", sb.ID(), "result", string(o.result))
		return cont, initDur, o
	}
	return cont, initDur, nil
}

// classifyRun reads a /run answer the way OpenWhisk's invoker does
// (ActivationResult.processRunResponseContent).
func (c *Controller) classifyRun(ctx context.Context, status int, body []byte, err error, elapsed time.Duration, timeoutMs int) outcome {
	switch {
	case ctx.Err() != nil:
		return outcome{status: statusWhiskFail, result: errorResult(msgShutdown)}
	case elapsed >= time.Duration(timeoutMs)*time.Millisecond:
		return outcome{status: statusDevError, timeout: true,
			result: errorResult(fmt.Sprintf("The action exceeded its time limits of %d milliseconds.", timeoutMs))}
	case err != nil:
		return outcome{status: statusDevError, result: errorResult(msgAbnormalRun)}
	case len(body) > c.cfg.MaxResult:
		return outcome{status: statusAppError, keep: true, result: errorResult(fmt.Sprintf(
			"The action produced a response that exceeded the allowed length: %d > %d bytes. The truncated response was: %s",
			len(body), c.cfg.MaxResult, body[:min(len(body), 1024)]))}
	}
	trimmed := bytes.TrimSpace(body)
	var obj map[string]json.RawMessage
	isObj := json.Unmarshal(trimmed, &obj) == nil && len(trimmed) > 0 && trimmed[0] == '{'
	isArr := len(trimmed) > 0 && trimmed[0] == '[' && json.Valid(trimmed)
	switch {
	case status == 200 && isObj:
		if e, ok := obj["error"]; ok {
			b, _ := json.Marshal(map[string]json.RawMessage{"error": e})
			return outcome{status: statusAppError, keep: true, result: b}
		}
		return outcome{status: statusSuccess, keep: true, result: trimmed}
	case status == 200 && isArr:
		return outcome{status: statusSuccess, keep: true, result: trimmed}
	case isObj:
		if e, ok := obj["error"]; ok {
			b, _ := json.Marshal(map[string]json.RawMessage{"error": e})
			return outcome{status: statusDevError, result: b}
		}
	}
	return outcome{status: statusDevError, result: errorResult(msgInvalidRunJSON + string(body[:min(len(body), 1024)]))}
}

// finish builds, stores and delivers j's record, and puts cont (nil when
// none started) back in the pool under key or destroys it. When cont's
// activation logs are collected, the record is delivered first with logs
// [] (what a blocking invoke answers, as in OpenWhisk, where the result
// goes out before the logs are read) and stored once they are in; cont
// serves no other activation before then: it is returning to the pool,
// and the next activation of its action waits for it.
func (c *Controller) finish(j *job, runStart time.Time, initDur time.Duration, cold bool, o outcome, cont *container, key string) {
	a := j.action
	end := time.Now()
	start := runStart.Add(-initDur)
	anns := []KeyValue{
		kv("path", a.Namespace+"/"+a.Name), kv("kind", "blackbox"), kv("limits", a.Limits),
		kv("timeout", o.timeout), kv("waitTime", start.Sub(j.submitted).Milliseconds()),
	}
	if cold && initDur > 0 {
		anns = append(anns, kv("initTime", initDur.Milliseconds()))
	}
	rec := &Activation{
		Namespace: j.ns, Name: a.Name, Version: a.Version, Subject: j.ns, ActivationID: j.id, Cause: j.cause,
		Start: epochMs(start), End: epochMs(end), Duration: end.Sub(start).Milliseconds(),
		Response: Response{Status: o.status, Success: o.status == statusSuccess, Result: o.result, Size: len(o.result)},
		Logs:     []string{}, Annotations: anns,
	}
	var src sandbox.LogSource
	if cont != nil && a.Limits.Logs > 0 {
		src, _ = cont.sb.(sandbox.LogSource)
	}
	if src == nil {
		if cont != nil {
			c.pool.release(key, cont, o.keep)
		}
		c.record(rec)
		j.done <- rec
		return
	}
	if o.keep {
		c.pool.willReturn(key)
	}
	reply := *rec
	j.done <- &reply
	rec.Logs = c.collectLogs(j, src, cont, key, o)
	c.record(rec)
}

// collectLogs reads the logs of cont's activation the way OpenWhisk's
// invoker does (DockerToActivationLogStore): it waits for the sentinels
// unless the activation was a developer error, whose logs get a notice
// that they may be incomplete. A container that is not kept is destroyed
// first, so that everything it printed has been read; one whose logs were
// truncated or could not be read is destroyed rather than kept. The
// wait is bounded by the collector's deadlines and ends when the
// controller closes.
func (c *Controller) collectLogs(j *job, src sandbox.LogSource, cont *container, key string, o outcome) []string {
	devErr := o.status == statusDevError
	if !o.keep {
		c.pool.release(key, cont, false)
	}
	lines, err := src.ActivationLogs(c.ctx, !devErr)
	if devErr {
		lines = append(lines, actlog.Format(time.Now(), actlog.Stderr, actlog.MsgDeveloperError))
	}
	if err != nil {
		c.log.Info("activation logs incomplete", "action", j.action.Name, "activation", j.id, "container", cont.sb.ID(), "err", err)
	}
	if o.keep {
		c.pool.returned(key, cont, err == nil)
	}
	if lines == nil {
		lines = []string{}
	}
	return lines
}

// poolKey names the warm containers an activation of a may reuse: same
// action, same version (an update means new code), same image.
func poolKey(a Action) string {
	return a.Namespace + "/" + a.Name + "@" + a.Version + "|" + a.Exec.Image
}

// paramString renders a parameter for an environment variable: strings as
// they are, other JSON values as JSON, null as "".
func paramString(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if string(v) == "null" {
		return ""
	}
	return string(v)
}
