package local

import (
	"bytes"
	"log/slog"
	"sync"

	"github.com/volley-run/volley/invoker/action"
)

// lineLogger turns what one of a container's streams prints into debug
// log records, one per line, dropping the OpenWhisk log sentinels.
type lineLogger struct {
	mu  sync.Mutex
	log *slog.Logger
	id  string
	buf []byte
}

func newLineLogger(log *slog.Logger) *lineLogger { return &lineLogger{log: log} }

func (l *lineLogger) setID(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.id = id
}

// Write logs every complete line in p; a partial line waits for the rest
// (bounded at 64 KiB).
func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		line := string(l.buf[:i])
		l.buf = l.buf[i+1:]
		if line != action.LogSentinel && line != "" {
			l.log.Debug(line, "container", l.id)
		}
	}
	if len(l.buf) > 64<<10 {
		l.log.Debug(string(l.buf), "container", l.id)
		l.buf = l.buf[:0]
	}
	return len(p), nil
}
