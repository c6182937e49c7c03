package controller

import (
	"encoding/json"
	"fmt"
	"time"
)

// KeyValue is OpenWhisk's parameter and annotation entry.
type KeyValue struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
	Init  bool            `json:"init,omitempty"`
}

// Exec is an action's executable. Only "blackbox" (a Docker image) is
// supported: that is what a Volley worker is.
type Exec struct {
	Kind   string  `json:"kind"`
	Image  string  `json:"image,omitempty"`
	Code   *string `json:"code,omitempty"`
	Main   string  `json:"main,omitempty"`
	Binary bool    `json:"binary"`
}

// Limits are an action's limits: timeout in ms, memory and logs in MB,
// concurrency a count of /run requests in flight per container.
type Limits struct {
	Timeout     int `json:"timeout"`
	Memory      int `json:"memory"`
	Logs        int `json:"logs"`
	Concurrency int `json:"concurrency"`
}

// Action is a stored action, in OpenWhisk's JSON form.
type Action struct {
	Namespace   string     `json:"namespace"`
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Publish     bool       `json:"publish"`
	Exec        Exec       `json:"exec"`
	Parameters  []KeyValue `json:"parameters"`
	Limits      Limits     `json:"limits"`
	Annotations []KeyValue `json:"annotations"`
	Updated     int64      `json:"updated"`
}

// actionPut is the body of PUT on an action; absent fields keep their old
// values on update and get defaults on create.
type actionPut struct {
	Exec       *Exec      `json:"exec"`
	Parameters []KeyValue `json:"parameters"`
	Limits     *struct {
		Timeout     *int `json:"timeout"`
		Memory      *int `json:"memory"`
		Logs        *int `json:"logs"`
		Concurrency *int `json:"concurrency"`
	} `json:"limits"`
	Annotations []KeyValue `json:"annotations"`
	Publish     *bool      `json:"publish"`
}

// Response is an activation's outcome in API replies.
type Response struct {
	Status  string          `json:"status"`
	Success bool            `json:"success"`
	Result  json.RawMessage `json:"result"`
	Size    int             `json:"size,omitempty"`
}

// Activation is an activation record, in OpenWhisk's JSON form.
type Activation struct {
	Namespace    string     `json:"namespace"`
	Name         string     `json:"name"`
	Version      string     `json:"version"`
	Subject      string     `json:"subject"`
	ActivationID string     `json:"activationId"`
	Cause        string     `json:"cause,omitempty"`
	Start        int64      `json:"start"`
	End          int64      `json:"end"`
	Duration     int64      `json:"duration"`
	Response     Response   `json:"response"`
	Logs         []string   `json:"logs"`
	Annotations  []KeyValue `json:"annotations"`
	Publish      bool       `json:"publish"`
}

// Activation statuses and their internal codes.
const (
	statusSuccess   = "success"
	statusAppError  = "application error"
	statusDevError  = "action developer error"
	statusWhiskFail = "whisk internal error"
)

// summary is an activation as listed without docs.
func (a *Activation) summary() map[string]any {
	code := map[string]int{statusSuccess: 0, statusAppError: 1, statusDevError: 2, statusWhiskFail: 3}[a.Response.Status]
	return map[string]any{
		"namespace": a.Namespace, "name": a.Name, "version": a.Version, "publish": a.Publish,
		"annotations": a.Annotations, "activationId": a.ActivationID, "start": a.Start, "end": a.End,
		"duration": a.Duration, "cause": a.Cause, "statusCode": code,
	}
}

// actionSummary is an action as listed.
func (a *Action) summary() map[string]any {
	return map[string]any{
		"namespace": a.Namespace, "name": a.Name, "version": a.Version, "publish": a.Publish,
		"annotations": a.Annotations, "limits": a.Limits, "exec": map[string]bool{"binary": a.Exec.Binary},
		"updated": a.Updated,
	}
}

// kv makes an annotation.
func kv(key string, value any) KeyValue {
	b, _ := json.Marshal(value)
	return KeyValue{Key: key, Value: b}
}

// setAnnotation replaces or adds key.
func setAnnotation(list []KeyValue, a KeyValue) []KeyValue {
	for i := range list {
		if list[i].Key == a.Key {
			list[i] = a
			return list
		}
	}
	return append(list, a)
}

// nextVersion raises the patch part of a "major.minor.patch" version.
func nextVersion(v string) string {
	var major, minor, patch int
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &major, &minor, &patch); err != nil {
		return "0.0.1"
	}
	return fmt.Sprintf("%d.%d.%d", major, minor, patch+1)
}

func epochMs(t time.Time) int64 { return t.UnixMilli() }
