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
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e ErrorBody
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("status %d: %s", resp.StatusCode, e.Error)
		}
		return nil, fmt.Errorf("status %d: %q", resp.StatusCode, truncate(body, 200))
	}
	return body, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
