package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// RunFunc executes one activation. Its result must encode to a JSON object
// or array. An error becomes {"error": ...} with status 200 (an OpenWhisk
// "application error"; the container stays warm).
type RunFunc func(ctx context.Context, req RunRequest) (any, error)

// Server is the container side of the action protocol.
type Server struct {
	run    RunFunc
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer
	setenv func(key, value string) error

	mu          sync.Mutex
	initialized bool
	running     bool
	env         map[string]string
}

// NewServer returns a server that runs activations with run. stdout and
// stderr receive the log sentinel after each /run and after a failed /init
// (nil: none written). The environment /init delivers and each /run's
// activation fields (as __OW_<FIELD>) are exported to the process
// environment, as OpenWhisk's runtimes do; the server runs one activation
// at a time, so they always describe the current one.
func NewServer(run RunFunc, log *slog.Logger, stdout, stderr io.Writer) *Server {
	return &Server{run: run, log: log, stdout: stdout, stderr: stderr, setenv: os.Setenv, env: map[string]string{}}
}

// Env returns the environment exported so far: what /init delivered (the
// __OW_* variables and init parameters) updated by the latest /run's
// activation fields.
func (s *Server) Env() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.env))
	for k, v := range s.env {
		out[k] = v
	}
	return out
}

// exportLocked sets key=value in the process environment and in s.env.
func (s *Server) exportLocked(key, value string) {
	s.env[key] = value
	if err := s.setenv(key, value); err != nil {
		s.log.Warn("cannot export activation variable", "key", key, "err", err)
	}
}

// runEnv maps a /run body's top-level fields other than "value" to the
// __OW_<FIELD> variables OpenWhisk's runtimes export: strings as they are,
// other JSON values in their JSON form.
func runEnv(body []byte) map[string]string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil
	}
	env := make(map[string]string, len(fields))
	for k, raw := range fields {
		if k == "value" {
			continue
		}
		var str string
		if json.Unmarshal(raw, &str) != nil {
			str = string(raw)
		}
		env["__OW_"+strings.ToUpper(k)] = str
	}
	return env
}

// ServeHTTP routes POST /init and POST /run.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/init":
		s.handleInit(w, r)
	case "/run":
		s.handleRun(w, r)
	default:
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: fmt.Sprintf("no such endpoint %s (use POST /init or POST /run)", r.URL.Path)})
	}
}

func (s *Server) handleInit(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: "use POST /init"})
		return
	}
	var req InitRequest
	if _, err := decodeBody(w, r, &req); err != nil {
		s.failInit(w, http.StatusBadRequest, fmt.Sprintf("init: %v", err))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.initialized {
		// Not an activation's end: the warm container keeps going, so
		// no sentinels (they would cut the next activation's logs).
		writeJSON(w, http.StatusForbidden, ErrorBody{Error: "Cannot initialize the action more than once."})
		return
	}
	if req.Value.Code != "" {
		s.failInit(w, http.StatusBadRequest, "init: a Volley worker has its code built in; the action must have no code (create it with --docker IMAGE and no file)")
		return
	}
	s.initialized = true
	for k, v := range req.Value.Env {
		s.exportLocked(k, v)
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// failInit answers a failed /init. Its activation ends here, so the log
// sentinels follow, as after a /run.
func (s *Server) failInit(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorBody{Error: msg})
	s.writeSentinels()
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: "use POST /run"})
		return
	}
	var req RunRequest
	body, err := decodeBody(w, r, &req)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: fmt.Sprintf("run: %v", err)})
		s.writeSentinels()
		return
	}
	s.mu.Lock()
	switch {
	case !s.initialized:
		s.mu.Unlock()
		writeJSON(w, http.StatusForbidden, ErrorBody{Error: "run: the action has not been initialized (POST /init first)"})
		return
	case s.running:
		s.mu.Unlock()
		writeJSON(w, http.StatusTooManyRequests, ErrorBody{Error: "run: this container already runs an activation (concurrency 1)"})
		return
	}
	s.running = true
	for k, v := range runEnv(body) {
		s.exportLocked(k, v)
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		s.writeSentinels()
	}()

	ctx := r.Context()
	if d := req.Deadline.Time(); !d.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	start := time.Now()
	out, err := s.run(ctx, req)
	if err != nil {
		s.log.Warn("activation failed", "activation", req.ActivationID, "err", err, "elapsed", time.Since(start))
		writeJSON(w, http.StatusOK, ErrorBody{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) writeSentinels() {
	for _, out := range []io.Writer{s.stdout, s.stderr} {
		if out != nil {
			fmt.Fprintln(out, LogSentinel)
		}
	}
}

// decodeBody reads one JSON value of at most MaxBody bytes into v and
// returns the raw body.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fmt.Errorf("body larger than %d bytes", MaxBody)
		}
		return nil, fmt.Errorf("read body: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("malformed JSON body: %w", err)
	}
	return body, nil
}

// writeJSON answers with v as JSON and an explicit Content-Length, which
// OpenWhisk's invoker requires.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusBadGateway
		b, _ = json.Marshal(ErrorBody{Error: fmt.Sprintf("result does not encode to JSON: %v", err)})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
