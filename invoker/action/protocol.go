package action

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/volley-run/volley/invoker/actlog"
)

// LogSentinel is the line OpenWhisk's invoker looks for on stdout and stderr
// to know an activation's logs are complete (invoker/actlog cuts a
// container's output at it).
const LogSentinel = actlog.Sentinel

// MaxBody is the largest request body the server reads, OpenWhisk's default
// payload limit (1 MiB).
const MaxBody = 1 << 20

// InitRequest is the body of POST /init.
type InitRequest struct {
	Value InitValue `json:"value"`
}

// InitValue describes the action being initialized. A Volley worker has its
// code built in, so Code is normally empty.
type InitValue struct {
	Name   string            `json:"name"`
	Main   string            `json:"main"`
	Binary bool              `json:"binary"`
	Code   string            `json:"code,omitempty"`
	Env    map[string]string `json:"env,omitempty"`
}

// RunRequest is the body of POST /run: the parameters under Value and the
// activation context beside them.
type RunRequest struct {
	Value         json.RawMessage `json:"value"`
	Namespace     string          `json:"namespace,omitempty"`
	ActionName    string          `json:"action_name,omitempty"`
	ActionVersion string          `json:"action_version,omitempty"`
	ActivationID  string          `json:"activation_id,omitempty"`
	TransactionID string          `json:"transaction_id,omitempty"`
	// Deadline is epoch milliseconds; OpenWhisk sends it as a JSON string.
	Deadline Millis `json:"deadline,omitempty"`
	// APIKey is the invoking namespace's "uuid:key", sent only for actions
	// annotated provide-api-key.
	APIKey string `json:"api_key,omitempty"`
}

// ErrorBody is the {"error": ...} shape OpenWhisk uses for failures.
type ErrorBody struct {
	Error string `json:"error"`
}

// Millis is an epoch-milliseconds time that decodes from a JSON string (as
// OpenWhisk sends it) or a number, and encodes as a string.
type Millis int64

// Time converts m to a time.Time; zero stays the zero time.
func (m Millis) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m))
}

// MillisOf converts t to Millis; the zero time gives 0.
func MillisOf(t time.Time) Millis {
	if t.IsZero() {
		return 0
	}
	return Millis(t.UnixMilli())
}

// MarshalJSON encodes m as a JSON string of digits.
func (m Millis) MarshalJSON() ([]byte, error) {
	return json.Marshal(strconv.FormatInt(int64(m), 10))
}

// UnmarshalJSON accepts "123" or 123.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if s == "" {
			*m = 0
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("deadline %q is not epoch milliseconds", s)
		}
		*m = Millis(n)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("deadline %s is not epoch milliseconds", b)
	}
	*m = Millis(n)
	return nil
}
