package actlog

import (
	"bytes"
	"io"
	"strings"
	"time"
)

// Writer returns an io.Writer for what stream s prints: it cuts the bytes
// into lines (a line may span writes; one longer than MaxLine is cut) and
// feeds each, stamped when its newline arrives. Close feeds a last line
// that has no newline. Each stream must have one writer at a time. When
// the streams are two pipes, as from a process, lines of different
// streams are in the order they arrived, which may differ slightly from
// the order they were printed (as with Docker's own log).
func (c *Collector) Writer(s Stream) io.Writer { return c.writer(s, false) }

// StampedWriter is Writer for lines that start with their own time, as
// `docker logs --timestamps` prints them: an RFC 3339 time and a space
// before the text. A line without one is stamped when it arrives.
func (c *Collector) StampedWriter(s Stream) io.Writer { return c.writer(s, true) }

func (c *Collector) writer(s Stream, stamped bool) io.Writer {
	if s <= Stderr {
		c.mu.Lock()
		c.stamped[s] = stamped
		c.mu.Unlock()
	}
	return &streamWriter{c: c, s: s}
}

type streamWriter struct {
	c *Collector
	s Stream
}

func (w *streamWriter) Write(p []byte) (int, error) {
	n := len(p)
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.cfg.Limit <= 0 || w.s > Stderr {
		return n, nil
	}
	buf := &c.part[w.s]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := c.cfg.MaxLine - len(*buf); len(chunk) > room {
			*buf = append(*buf, chunk[:room]...)
			p = p[room:]
			c.emitLocked(w.s)
			continue
		}
		*buf = append(*buf, chunk...)
		if i < 0 {
			break
		}
		p = p[i+1:]
		c.emitLocked(w.s)
	}
	return n, nil
}

// emitLocked feeds stream s's buffered line, even an empty one.
func (c *Collector) emitLocked(s Stream) {
	t, text := c.cfg.Now(), string(c.part[s])
	c.part[s] = c.part[s][:0]
	if c.stamped[s] {
		t, text = splitStamp(text, t)
	}
	c.lineLocked(s, t, text)
}

// flushLocked feeds stream s's partial line, if there is one.
func (c *Collector) flushLocked(s Stream) {
	if len(c.part[s]) > 0 {
		c.emitLocked(s)
	}
	c.part[s] = nil
}

// splitStamp takes the RFC 3339 time off the start of text; without one,
// text is stamped def.
func splitStamp(text string, def time.Time) (time.Time, string) {
	head := text[:min(len(text), len(time.RFC3339Nano)+1)] // the longest stamp and its space
	sp := strings.IndexByte(head, ' ')
	if sp < 0 {
		return def, text
	}
	t, err := time.Parse(time.RFC3339Nano, text[:sp])
	if err != nil {
		return def, text
	}
	return t, text[sp+1:]
}
