package action

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrApplication marks a /run that answered 200 with {"error": ...}: the
// activation failed but the container is healthy.
var ErrApplication = errors.New("activation failed")

// StatusError is a container's answer with a status other than 200.
type StatusError struct {
	Status int
	// Body is the answer as sent (at most 64 MiB).
	Body []byte
}

// Error gives the status and the answer's "error" field, or its start.
func (e *StatusError) Error() string {
	var b ErrorBody
	if json.Unmarshal(e.Body, &b) == nil && b.Error != "" {
		return fmt.Sprintf("status %d: %s", e.Status, b.Error)
	}
	return fmt.Sprintf("status %d: %q", e.Status, truncate(e.Body, 200))
}

// Client talks the action protocol to one container.
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client for the container serving at addr
// ("host:port").
func NewClient(addr string) *Client {
	// One connection per request, as OpenWhisk's invoker does; it also
	// means nothing lingers once a container is gone.
	tr := &http.Transport{DisableKeepAlives: true}
	return &Client{base: "http://" + addr, http: &http.Client{Transport: tr}}
}

// Init sends POST /init.
func (c *Client) Init(ctx context.Context, v InitValue) error {
	_, err := c.post(ctx, "/init", InitRequest{Value: v})
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	return nil
}

// Run sends POST /run and returns the raw JSON result. A 200 answer with an
// "error" key gives an error wrapping ErrApplication.
func (c *Client) Run(ctx context.Context, req RunRequest) (json.RawMessage, error) {
	body, err := c.post(ctx, "/run", req)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	var e struct {
		Error *json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != nil {
		var msg string
		if json.Unmarshal(*e.Error, &msg) != nil {
			msg = string(*e.Error)
		}
		return nil, fmt.Errorf("run: %w: %s", ErrApplication, msg)
	}
	return body, nil
}

func (c *Client) post(ctx context.Context, path string, v any) ([]byte, error) {
	status, body, err := c.Post(ctx, path, v)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, &StatusError{Status: status, Body: body}
	}
	return body, nil
}

// Post sends v as JSON to path and returns the status and body of the
// answer, whatever the status; err is set only when no complete answer
// came (connection refused or dropped, an answer without Content-Length,
// ctx ended). Controllers use it to classify answers as OpenWhisk does.
func (c *Client) Post(ctx context.Context, path string, v any) (int, []byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, nil, fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength < 0 {
		return 0, nil, fmt.Errorf("answer %d has no Content-Length", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, body, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
