package action

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func echoRun(_ context.Context, req RunRequest) (any, error) {
	var v map[string]any
	if err := json.Unmarshal(req.Value, &v); err != nil {
		return nil, err
	}
	if v["fail"] == true {
		return nil, errors.New("asked to fail")
	}
	return map[string]any{"echo": v, "activation": req.ActivationID}, nil
}

func newTestServer(t *testing.T) (*httptest.Server, *bytes.Buffer) {
	var logs bytes.Buffer
	srv := NewServer(echoRun, slog.New(slog.DiscardHandler), &logs, nil)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts, &logs
}

func post(t *testing.T, url, body string) (int, map[string]any, http.Header) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func TestInitThenRun(t *testing.T) {
	ts, logs := newTestServer(t)
	if code, out, _ := post(t, ts.URL+"/run", `{"value":{}}`); code != http.StatusForbidden {
		t.Fatalf("run before init: %d %v", code, out)
	}
	if code, out, h := post(t, ts.URL+"/init", `{"value":{"name":"volley","main":"main","env":{"__OW_NAMESPACE":"guest"}}}`); code != 200 || h.Get("Content-Length") == "" {
		t.Fatalf("init: %d %v %v", code, out, h)
	}
	code, out, h := post(t, ts.URL+"/run", `{"value":{"x":1},"activation_id":"abc","deadline":"99999999999999"}`)
	if code != 200 || out["activation"] != "abc" || h.Get("Content-Length") == "" {
		t.Fatalf("run: %d %v %v", code, out, h)
	}
	if !strings.Contains(logs.String(), LogSentinel) {
		t.Errorf("no log sentinel after /run: %q", logs.String())
	}
	code, out, _ = post(t, ts.URL+"/run", `{"value":{"fail":true}}`)
	if code != 200 || out["error"] != "asked to fail" {
		t.Fatalf("failing run: %d %v (want 200 with error, OpenWhisk's application error)", code, out)
	}
	if code, out, _ := post(t, ts.URL+"/init", `{"value":{}}`); code != http.StatusForbidden || out["error"] == nil {
		t.Fatalf("second init: %d %v", code, out)
	}
}

func TestRejectsBadRequests(t *testing.T) {
	ts, _ := newTestServer(t)
	post(t, ts.URL+"/init", `{"value":{}}`)
	cases := map[string]struct {
		path, body string
		code       int
	}{
		"malformed run": {"/run", `{"value":`, 400},
		"bad deadline":  {"/run", `{"value":{},"deadline":"soon"}`, 400},
		"oversized run": {"/run", `{"value":"` + strings.Repeat("x", MaxBody) + `"}`, 400},
		"unknown path":  {"/other", `{}`, 404},
	}
	for name, c := range cases {
		code, out, _ := post(t, ts.URL+c.path, c.body)
		if code != c.code || out["error"] == nil {
			t.Errorf("%s: %d %v, want %d with an error", name, code, out, c.code)
		}
	}
	resp, err := http.Get(ts.URL + "/run")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /run: %d", resp.StatusCode)
	}
}

func TestClient(t *testing.T) {
	ts, _ := newTestServer(t)
	c := NewClient(strings.TrimPrefix(ts.URL, "http://"))
	ctx := context.Background()
	if err := c.Init(ctx, InitValue{Name: "volley", Main: "main"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Init(ctx, InitValue{}); err == nil || !strings.Contains(err.Error(), "more than once") {
		t.Fatalf("second init err = %v", err)
	}
	raw, err := c.Run(ctx, RunRequest{Value: json.RawMessage(`{"k":"v"}`), ActivationID: "a1"})
	if err != nil || !strings.Contains(string(raw), `"activation":"a1"`) {
		t.Fatalf("run = %s, %v", raw, err)
	}
	if _, err := c.Run(ctx, RunRequest{Value: json.RawMessage(`{"fail":true}`)}); !errors.Is(err, ErrApplication) {
		t.Fatalf("failing run err = %v, want ErrApplication", err)
	}
}

func TestMillis(t *testing.T) {
	for in, want := range map[string]Millis{`"123"`: 123, `456`: 456, `""`: 0} {
		var m Millis
		if err := json.Unmarshal([]byte(in), &m); err != nil || m != want {
			t.Errorf("%s -> %d, %v", in, m, err)
		}
	}
	b, _ := json.Marshal(Millis(42))
	if string(b) != `"42"` {
		t.Errorf("marshal = %s", b)
	}
}

// FuzzHandlers feeds arbitrary bodies to /init and /run: the server must
// answer every one with a JSON body and never panic.
func FuzzHandlers(f *testing.F) {
	f.Add("/init", []byte(`{"value":{"name":"a","main":"main"}}`))
	f.Add("/run", []byte(`{"value":{"x":1},"deadline":"1"}`))
	f.Add("/run", []byte(`{"value":[1,2],"deadline":7}`))
	f.Add("/run", []byte(`{"value":`))
	f.Add("/init", []byte(`null`))
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		srv := NewServer(echoRun, slog.New(slog.DiscardHandler), nil, nil)
		for _, p := range []string{"/init", path} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req.URL.Path = p
			srv.ServeHTTP(rec, req)
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s answered %d with non-JSON %q", p, rec.Code, rec.Body.String())
			}
		}
	})
}
