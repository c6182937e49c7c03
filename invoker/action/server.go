package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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

	mu          sync.Mutex
	initialized bool
	running     bool
	env         map[string]string
}

// NewServer returns a server that runs activations with run. stdout and
// stderr receive the log sentinel after each /run (nil: none written).
func NewServer(run RunFunc, log *slog.Logger, stdout, stderr io.Writer) *Server {
	return &Server{run: run, log: log, stdout: stdout, stderr: stderr}
}

// Env returns the environment that /init delivered (the __OW_* variables
// and init parameters).
func (s *Server) Env() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.env
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
	if err := decodeBody(w, r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: fmt.Sprintf("init: %v", err)})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.initialized {
		writeJSON(w, http.StatusForbidden, ErrorBody{Error: "Cannot initialize the action more than once."})
		return
	}
	if req.Value.Code != "" {
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: "init: a Volley worker has its code built in; the action must have no code"})
		return
	}
	s.initialized = true
	s.env = req.Value.Env
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: "use POST /run"})
		return
	}
	var req RunRequest
	if err := decodeBody(w, r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: fmt.Sprintf("run: %v", err)})
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

// decodeBody reads one JSON value of at most MaxBody bytes.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("body larger than %d bytes", MaxBody)
		}
		return fmt.Errorf("read body: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("malformed JSON body: %w", err)
	}
	return nil
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
