package action

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/volley-run/volley/group"
)

func echoRun(_ context.Context, req RunRequest) (any, error) {
	var v map[string]any
	if err := json.Unmarshal(req.Value, &v); err != nil {
		return nil, err
	}
	if v["fail"] == true {
		return nil, errors.New("asked to fail")
	}
	return map[string]any{"echo": v, "activation": req.ActivationID,
		"env_activation": os.Getenv("__OW_ACTIVATION_ID"), "env_deadline": os.Getenv("__OW_DEADLINE")}, nil
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
	if out["env_activation"] != "abc" || out["env_deadline"] != "99999999999999" {
		t.Errorf("run saw __OW_ACTIVATION_ID=%v __OW_DEADLINE=%v, want the activation's fields exported", out["env_activation"], out["env_deadline"])
	}
	if os.Getenv("__OW_NAMESPACE") != "guest" {
		t.Errorf("__OW_NAMESPACE from /init's env not exported: %q", os.Getenv("__OW_NAMESPACE"))
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

func TestSentinelsAfterFailedInitOnly(t *testing.T) {
	ts, logs := newTestServer(t)
	if code, _, _ := post(t, ts.URL+"/init", `{"value":{"name":"a","main":"main"}}`); code != 200 {
		t.Fatalf("init: %d", code)
	}
	if strings.Contains(logs.String(), LogSentinel) {
		t.Fatal("sentinel written after a successful /init: it would cut the first run's logs")
	}
	ts2, logs2 := newTestServer(t)
	code, out, _ := post(t, ts2.URL+"/init", `{"value":{"name":"a","main":"main","code":"print(1)"}}`)
	if code == 200 || out["error"] == nil {
		t.Fatalf("init with code: %d %v, want a refusal with an error", code, out)
	}
	if !strings.Contains(logs2.String(), LogSentinel) {
		t.Error("no sentinel after a failed /init, where the activation ends")
	}
}

func TestRunHonoursDeadline(t *testing.T) {
	srv := NewServer(func(ctx context.Context, _ RunRequest) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, slog.New(slog.DiscardHandler), nil, nil)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	post(t, ts.URL+"/init", `{"value":{}}`)
	start := time.Now()
	deadline := time.Now().Add(200 * time.Millisecond).UnixMilli()
	code, out, _ := post(t, ts.URL+"/run", fmt.Sprintf(`{"value":{},"deadline":"%d"}`, deadline))
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("run ignored its deadline: answered after %v", el)
	}
	if code != 200 || !strings.Contains(fmt.Sprint(out["error"]), "deadline") {
		t.Fatalf("run past its deadline: %d %v", code, out)
	}
}

func TestDecodePackTask(t *testing.T) {
	task := group.PackTask{Group: "g-1", App: "hello", Workers: 5, Granularity: 2, Pack: group.Pack{Index: 1, Lo: 2, Hi: 4}}
	one, _ := json.Marshal(task)
	two, _ := json.Marshal([]group.PackTask{task, task})
	other := task
	other.Pack = group.Pack{Index: 0, Lo: 0, Hi: 2}
	mixed, _ := json.Marshal([]group.PackTask{task, other})
	short, _ := json.Marshal([]group.PackTask{task})
	for _, in := range [][]byte{one, two} {
		got, err := DecodePackTask(in)
		if err != nil || got.Group != "g-1" || got.Pack != task.Pack {
			t.Errorf("%s: %+v, %v", in, got, err)
		}
	}
	for name, in := range map[string][]byte{"mixed packs": mixed, "short list": short, "empty list": []byte("[]"), "null": []byte("null"), "number": []byte("3")} {
		if _, err := DecodePackTask(in); err == nil {
			t.Errorf("%s accepted", name)
		}
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
// answer every one with a JSON body, refuse malformed or oversized ones
// with 400, and never panic.
func FuzzHandlers(f *testing.F) {
	f.Add("/init", []byte(`{"value":{"name":"a","main":"main"}}`))
	f.Add("/run", []byte(`{"value":{"x":1},"deadline":"1"}`))
	f.Add("/run", []byte(`{"value":[1,2],"deadline":7}`))
	f.Add("/run", []byte(`{"value":`))
	f.Add("/init", []byte(`null`))
	f.Add("/init", []byte(`{"value":{"name":"a","main":"main","code":"x","binary":true}}`))
	f.Add("/init", []byte(`{"value":{"env":{"__OW_DEADLINE":7}}}`))
	f.Add("/init", []byte(`{"value":[]}`))
	f.Add("/run", []byte(`{"value":{"fail":true},"activation_id":"00","api_key":"u:k"}`))
	f.Add("/run", []byte(`{"value":{},"deadline":"soon"}`))
	f.Add("/run", []byte(`{"value":{},"deadline":{"ms":1}}`))
	f.Add("/run", []byte(`{"value":{},"deadline":"-1"}`))
	f.Add("/run", []byte(`{"value":{}, "namespace": 12, "extra": [1,{"a":null}]}`))
	f.Add("/run", []byte("{\"value\":\"\xff\xfe\"}"))
	f.Add("/run", []byte(`[{"value":{}}]`))
	f.Add("/run", []byte(`{"value":{}}{"value":{}}`))
	f.Add("/run", []byte(`{"value":"`+strings.Repeat("x", MaxBody)+`"}`))
	f.Add("/nope", []byte(`{}`))
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
			if (p == "/init" || p == "/run") && (!json.Valid(body) || len(body) > MaxBody) && rec.Code != http.StatusBadRequest {
				t.Fatalf("%s answered %d to a malformed or oversized body, want 400", p, rec.Code)
			}
		}
	})
}
