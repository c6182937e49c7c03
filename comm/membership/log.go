package membership

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"strings"
)

// newMemberlistLogger returns a *log.Logger for memberlist that routes its
// lines into l: at debug level, except lines about traffic refused because
// it was not encrypted with the group's key, which are logged at warn (a
// node with a wrong or missing secret is trying to talk to the group).
func newMemberlistLogger(l *slog.Logger) *log.Logger {
	return log.New(&logWriter{log: l.With("src", "memberlist")}, "", 0)
}

type logWriter struct{ log *slog.Logger }

// refusedMarkers are substrings of memberlist's messages about traffic it
// could not decrypt or authenticate.
var refusedMarkers = []string{
	"decrypt",
	"encryption is not configured",
	"not encrypted",
	"unacceptable label",
}

func (w *logWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(bytes.TrimRight(p, "\n")))
	level := ""
	if strings.HasPrefix(line, "[") {
		if i := strings.IndexByte(line, ']'); i > 0 {
			level, line = line[1:i], strings.TrimSpace(line[i+1:])
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	lower := strings.ToLower(line)
	for _, m := range refusedMarkers {
		if strings.Contains(lower, m) {
			w.log.Warn("membership: refused traffic not encrypted with the group secret", "detail", line)
			return len(p), nil
		}
	}
	w.log.Log(context.Background(), slog.LevelDebug, line, "ml_level", level)
	return len(p), nil
}
