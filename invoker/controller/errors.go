package controller

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
)

// Messages OpenWhisk uses (its ErrorResponse.Messages), so clients and
// people see the same words.
const (
	msgNotFound       = "The requested resource does not exist."
	msgAlreadyExists  = "resource already exists"
	msgUnauthorized   = "The supplied authentication is invalid"
	msgForbidden      = "The supplied authentication is not authorized to access this resource."
	msgAbnormalRun    = "The action did not produce a valid response and exited unexpectedly."
	msgAbnormalInit   = "The action did not initialize and exited unexpectedly."
	msgInvalidRunJSON = "The action did not produce a valid JSON or JSON Array response: "
	msgInitFailed     = "The action failed during initialization: "
	msgProvision      = "Failed to provision resources to run the action."
	msgShutdown       = "The controller is shutting down."
)

// errorBody is OpenWhisk's API error shape. client-go surfaces the message
// only when both fields are present.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// newID returns n random bytes in hex.
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeJSON answers with v as JSON and an explicit Content-Length.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "encode answer: " + err.Error(), Code: newID(16)})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers with OpenWhisk's {"error", "code"} shape; the code is
// a fresh transaction id.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Code: newID(16)})
}
