package actlog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Stream is one of a container's two output streams.
type Stream uint8

// The streams, as Collector.Writer takes them and stored lines name them.
const (
	// Stdout is the container's standard output.
	Stdout Stream = iota
	// Stderr is the container's standard error.
	Stderr
)

// String is the stream's name in a stored log line.
func (s Stream) String() string {
	if s == Stderr {
		return "stderr"
	}
	return "stdout"
}

// Sentinel is the line an action runtime writes to stdout and to stderr at
// the end of each activation (OpenWhisk's ACTIVATION_LOG_SENTINEL). A line
// that contains it counts as one, as in OpenWhisk.
const Sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

// OpenWhisk's notices, appended (on stderr, stamped when appended) to logs
// that are not complete.
const (
	// MsgFailure ends logs whose collection gave up: no sentinels within
	// the deadlines, or the container ended before writing them.
	MsgFailure = "There was an issue while collecting your logs. Data might be missing."
	// MsgDeveloperError ends the logs of an activation that was a
	// developer error, for which nobody waits for sentinels.
	MsgDeveloperError = "The action did not initialize or run as expected. Log data might be missing."
)

// TruncatedMsg is the notice that ends logs cut at limit bytes.
func TruncatedMsg(limit int) string {
	return fmt.Sprintf("Logs were truncated because the total bytes size exceeds the limit of %d bytes.", limit)
}

// Errors Collect returns with the lines it has, notice included, so that a
// caller can tell complete logs from the rest (OpenWhisk removes a
// container whose logs were truncated or could not be read: where its next
// activation starts in the stream is not known for sure).
var (
	// ErrTruncated: the activation printed more than the limit.
	ErrTruncated = errors.New("activation logs truncated at the limit")
	// ErrIncomplete: the sentinels did not come.
	ErrIncomplete = errors.New("activation logs incomplete")
)

// Format renders a log line as OpenWhisk stores it in an activation
// record: the RFC 3339 time (UTC, nanoseconds, trailing zeros dropped, as
// Docker writes it) padded to 30 columns, the stream, and the text with
// leading and trailing spaces and control characters removed
// (DockerToActivationLogStore's LogLine.toFormattedString).
func Format(t time.Time, s Stream, text string) string {
	return fmt.Sprintf("%-30s %s: %s", t.UTC().Format(time.RFC3339Nano), s, strings.TrimFunc(text, func(r rune) bool { return r <= ' ' }))
}

// Config configures a Collector.
type Config struct {
	// Limit is how many bytes of one activation's logs are kept: the
	// action's limits.logs. Each line counts as its formatted length plus
	// a newline, close to what OpenWhisk counts (Docker's JSON log line),
	// so that many short lines cannot hold much more memory than the
	// limit. 0 or less turns collection off: lines are dropped and
	// Collect returns none at once.
	Limit int
	// IdleTimeout is how long Collect waits for the next line before it
	// gives up; default 2 s (OpenWhisk's logCollectingIdleTimeout).
	IdleTimeout time.Duration
	// TimeoutPerMB bounds a whole Collect: max(Limit in MiB, 5) times
	// it; default 2 s (OpenWhisk's logCollectingTimeoutPerMBLogLimit).
	TimeoutPerMB time.Duration
	// MaxLine is the longest line kept whole; a longer one is cut into
	// lines of MaxLine bytes, as Docker cuts its log entries. Default 16
	// KiB (Docker's); never less than the sentinel's length.
	MaxLine int
	// Now stamps the lines fed through Writer and the notices; default
	// time.Now.
	Now func() time.Time
}

// maxActivations is how many activations a Collector holds at once; when
// a stream runs further ahead (an action that prints sentinels of its
// own, and nobody collecting), the oldest is dropped.
const maxActivations = 8

// Collector cuts a container's output into activations. It is safe for
// concurrent use: each stream is fed by one goroutine, Collect called by
// another.
type Collector struct {
	cfg Config

	mu      sync.Mutex
	acts    []*activation // acts[i] is activation base+i
	base    int
	pos     [2]int // per stream, the activation its next line belongs to
	next    int    // the activation the next Collect returns
	stored  int    // bytes held, all activations together
	closed  bool
	wake    chan struct{} // closed on input when a Collect waits
	part    [2][]byte     // partial lines of Writer
	stamped [2]bool       // the stream's lines start with their time
}

// activation is what one activation printed so far.
type activation struct {
	lines     []line
	bytes     int
	truncated bool
}

type line struct {
	t    time.Time
	text string // formatted
}

// New returns an empty Collector.
func New(cfg Config) *Collector {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 2 * time.Second
	}
	if cfg.TimeoutPerMB <= 0 {
		cfg.TimeoutPerMB = 2 * time.Second
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = 16 << 10
	}
	cfg.MaxLine = max(cfg.MaxLine, len(Sentinel))
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Collector{cfg: cfg}
}

// Line feeds one complete line (without its newline) that stream s
// printed at t. Lines fed after Close are ignored.
func (c *Collector) Line(s Stream, t time.Time, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lineLocked(s, t, text)
}

func (c *Collector) lineLocked(s Stream, t time.Time, text string) {
	if c.closed || c.cfg.Limit <= 0 || s > Stderr {
		return
	}
	defer c.wakeLocked()
	if strings.Contains(text, Sentinel) {
		c.pos[s]++
		c.actLocked(c.pos[s]) // bounds how far a stream runs ahead
		return
	}
	a := c.actLocked(c.pos[s])
	if a == nil || a.truncated { // collected already, or full
		return
	}
	f := Format(t, s, text)
	cost := len(f) + 1
	// Each activation holds at most Limit bytes, and all together at
	// most twice that: the one being collected and the next.
	if a.bytes+cost > c.cfg.Limit || c.stored+cost > 2*c.cfg.Limit {
		a.truncated = true
		return
	}
	a.lines = append(a.lines, line{t, f})
	a.bytes += cost
	c.stored += cost
}

// actLocked returns activation n, adding it (and those before it) if
// needed and dropping the oldest beyond maxActivations; nil if n has
// been collected or dropped.
func (c *Collector) actLocked(n int) *activation {
	if n < c.base {
		return nil
	}
	for n-c.base >= maxActivations {
		c.dropLocked()
	}
	for n-c.base >= len(c.acts) {
		c.acts = append(c.acts, &activation{})
	}
	return c.acts[n-c.base]
}

// dropLocked forgets the oldest activation held.
func (c *Collector) dropLocked() {
	if len(c.acts) > 0 {
		c.stored -= c.acts[0].bytes
		c.acts[0] = nil
		c.acts = c.acts[1:]
	}
	c.base++
}

func (c *Collector) wakeLocked() {
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
}

// Close says the container's output has ended (it exited, or its log
// stream did): partial lines are fed as lines, later input is ignored,
// and Collect stops waiting.
func (c *Collector) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	for s := range c.part {
		c.flushLocked(Stream(s))
	}
	c.closed = true
	c.wakeLocked()
}

// doneLocked says whether activation n has ended on both streams (or
// nothing more will come).
func (c *Collector) doneLocked(n int) bool {
	return c.closed || (c.pos[Stdout] > n && c.pos[Stderr] > n)
}

// ContainerLogs is Collect on the collector of the named container, with
// errors that name it; a nil collector (the container's logs are not
// collected) gives nil, nil. Sandbox runtimes implement
// sandbox.LogSource with it.
func ContainerLogs(ctx context.Context, c *Collector, container string, wait bool) ([]string, error) {
	if c == nil {
		return nil, nil
	}
	lines, err := c.Collect(ctx, wait)
	if err != nil {
		err = fmt.Errorf("container %s: %w", container, err)
	}
	return lines, err
}

// Collect returns the logs of the next activation not yet collected, in
// time order, once both streams have shown its sentinel. With wait false
// it does not wait for them: it returns what has come so far, as
// OpenWhisk does after a developer error; the activation's later lines
// are dropped. Otherwise it waits until the sentinels come, the limit is
// reached (the lines then end with the truncation notice and the error is
// ErrTruncated), or it gives up: IdleTimeout without input, the overall
// bound, ctx ended, or the output ended without the sentinels; the lines
// then end with MsgFailure and the error wraps ErrIncomplete. With
// collection off it returns nil, nil at once.
func (c *Collector) Collect(ctx context.Context, wait bool) ([]string, error) {
	if c.cfg.Limit <= 0 {
		return nil, nil
	}
	c.mu.Lock()
	n := c.next
	c.next++
	var why string // set when giving up
	var idle, overall *time.Timer
	for {
		if n < c.base {
			why = "the container printed the ends of more activations than were collected"
			break
		}
		if a := c.actLocked(n); a.truncated || c.doneLocked(n) || !wait {
			if c.closed && wait && !(c.pos[Stdout] > n && c.pos[Stderr] > n) && !a.truncated {
				why = "the container's output ended before the activation's sentinels"
			}
			break
		}
		if idle == nil {
			idle = time.NewTimer(c.cfg.IdleTimeout)
			defer idle.Stop()
			overall = time.NewTimer(time.Duration(max(c.cfg.Limit>>20, 5)) * c.cfg.TimeoutPerMB)
			defer overall.Stop()
		}
		if c.wake == nil {
			c.wake = make(chan struct{})
		}
		wake := c.wake
		c.mu.Unlock()
		select {
		case <-wake:
			idle.Reset(c.cfg.IdleTimeout)
		case <-idle.C:
			why = fmt.Sprintf("no output for %v before the activation's sentinels", c.cfg.IdleTimeout)
		case <-overall.C:
			why = "the activation's sentinels did not come within the time allowed for collecting logs"
		case <-ctx.Done():
			why = ctx.Err().Error()
		}
		c.mu.Lock()
		if why != "" {
			break
		}
	}
	defer c.mu.Unlock()
	var lines []string
	truncated := false
	if n >= c.base {
		a := c.acts[n-c.base]
		truncated = a.truncated
		slices.SortStableFunc(a.lines, func(x, y line) int { return x.t.Compare(y.t) })
		lines = make([]string, 0, len(a.lines)+1)
		for _, l := range a.lines {
			lines = append(lines, l.text)
		}
		for c.base <= n { // collected: later lines of n are dropped
			c.dropLocked()
		}
	}
	switch {
	case truncated:
		return append(lines, Format(c.cfg.Now(), Stderr, TruncatedMsg(c.cfg.Limit))), ErrTruncated
	case why != "":
		return append(lines, Format(c.cfg.Now(), Stderr, MsgFailure)), fmt.Errorf("%w: %s", ErrIncomplete, why)
	}
	return lines, nil
}
