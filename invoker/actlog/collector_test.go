package actlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// at is t0 plus ms milliseconds.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// clock is a fake time source that advances 1 ms per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// in is one input: a line (or a sentinel, text "") on a stream at ms.
type in struct {
	s    Stream
	ms   int
	text string
}

func sentinel(s Stream, ms int) in { return in{s, ms, Sentinel} }

func feed(c *Collector, ins []in) {
	for _, i := range ins {
		c.Line(i.s, at(i.ms), i.text)
	}
}

func out(ms int, text string) string  { return Format(at(ms), Stdout, text) }
func errl(ms int, text string) string { return Format(at(ms), Stderr, text) }

func TestFormat(t *testing.T) {
	cases := []struct {
		t    time.Time
		s    Stream
		text string
		want string
	}{
		{time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC), Stdout, "hello",
			"2024-05-01T12:00:00.123456789Z stdout: hello"},
		{time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), Stderr, "  padded\t\r",
			"2024-05-01T12:00:00Z           stderr: padded"},
		{time.Date(2024, 5, 1, 12, 0, 0, 500000000, time.FixedZone("CEST", 7200)), Stdout, "",
			"2024-05-01T10:00:00.5Z         stdout: "},
	}
	for _, c := range cases {
		if got := Format(c.t, c.s, c.text); got != c.want {
			t.Errorf("Format(%v, %v, %q) = %q, want %q", c.t, c.s, c.text, got, c.want)
		}
	}
}

// TestCut feeds lines directly and checks what successive Collects return.
func TestCut(t *testing.T) {
	cases := []struct {
		name string
		ins  []in
		want [][]string // one Collect per entry
	}{
		{"one activation, both streams interleaved, time order",
			[]in{{Stdout, 1, "a"}, {Stderr, 3, "c"}, {Stdout, 2, "b"}, {Stderr, 4, "d"}, sentinel(Stdout, 5), sentinel(Stderr, 5)},
			[][]string{{out(1, "a"), out(2, "b"), errl(3, "c"), errl(4, "d")}}},
		{"an activation with no output",
			[]in{sentinel(Stderr, 1), sentinel(Stdout, 1)},
			[][]string{{}}},
		{"lines after the sentinels go to the next activation",
			[]in{{Stdout, 1, "first"}, sentinel(Stdout, 2), sentinel(Stderr, 2), {Stderr, 3, "between"},
				{Stdout, 4, "second"}, sentinel(Stdout, 5), sentinel(Stderr, 5)},
			[][]string{{out(1, "first")}, {errl(3, "between"), out(4, "second")}}},
		{"one stream ahead of the other",
			// stderr's sentinel of activation 1 arrives after stdout has
			// printed activation 2 already.
			[]in{{Stdout, 1, "1o"}, sentinel(Stdout, 2), {Stdout, 3, "2o"}, sentinel(Stdout, 4),
				{Stderr, 1, "1e"}, sentinel(Stderr, 2), {Stderr, 3, "2e"}, sentinel(Stderr, 4)},
			[][]string{{out(1, "1o"), errl(1, "1e")}, {out(3, "2o"), errl(3, "2e")}}},
		{"a line that contains the sentinel counts as one",
			[]in{{Stdout, 1, "x"}, {Stdout, 2, "  " + Sentinel + " "}, sentinel(Stderr, 2)},
			[][]string{{out(1, "x")}}},
		{"empty lines are kept",
			[]in{{Stdout, 1, ""}, sentinel(Stdout, 2), sentinel(Stderr, 2)},
			[][]string{{out(1, "")}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Config{Limit: 1 << 20, IdleTimeout: time.Second})
			feed(c, tc.ins)
			for i, want := range tc.want {
				got, err := c.Collect(context.Background(), true)
				if err != nil {
					t.Fatalf("activation %d: %v", i, err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("activation %d:\n got %q\nwant %q", i, got, want)
				}
			}
		})
	}
}

func TestWriterPartialLines(t *testing.T) {
	clk := &clock{t: t0}
	c := New(Config{Limit: 1 << 20, Now: clk.now, MaxLine: 40})
	o, e := c.Writer(Stdout), c.Writer(Stderr)
	writes := []struct {
		w io.Writer
		p string
	}{
		{o, "hel"}, {e, "err"}, {o, "lo\nwor"}, {o, "ld\n"}, {e, "or\n"},
		{o, strings.Repeat("0123456789", 4) + "abc\n"}, // longer than MaxLine: cut
		{o, Sentinel[:10]}, {o, Sentinel[10:] + "\nnext"}, {e, Sentinel + "\n"},
	}
	for _, w := range writes {
		if n, err := io.WriteString(w.w, w.p); n != len(w.p) || err != nil {
			t.Fatalf("write %q: %d %v", w.p, n, err)
		}
	}
	got, err := c.Collect(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	// Stamps are the fake clock's readings when each newline came.
	want := []string{out(1, "hello"), out(2, "world"), errl(3, "error"), out(4, strings.Repeat("0123456789", 4)), out(5, "abc")}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// "next" has no newline yet; Close feeds it to activation 2.
	c.Close()
	got, err = c.Collect(context.Background(), false)
	if err != nil || len(got) != 1 || !strings.HasSuffix(got[0], "stdout: next") {
		t.Errorf("after Close: %q %v, want the partial line", got, err)
	}
}

func TestStampedWriter(t *testing.T) {
	clk := &clock{t: t0}
	c := New(Config{Limit: 1 << 20, Now: clk.now})
	o, e := c.StampedWriter(Stdout), c.StampedWriter(Stderr)
	fmt.Fprintf(o, "2024-05-01T12:00:00.000000002Z second\n2024-05-01T12:00:00.000000004Z %s\n", Sentinel)
	fmt.Fprintf(e, "2024-05-01T12:00:00.000000001Z first\nno stamp\n2024-05-01T12:00:00.000000004Z %s\n", Sentinel)
	got, err := c.Collect(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		Format(t0.Add(1), Stderr, "first"), Format(t0.Add(2), Stdout, "second"), errl(4, "no stamp"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestLimit(t *testing.T) {
	lineCost := len(out(1, "0123456789")) + 1
	cases := []struct {
		name   string
		limit  int
		lines  int
		kept   int
		errIs  error
		notice string
	}{
		{"one line over", 3*lineCost - 1, 3, 2, ErrTruncated, TruncatedMsg(3*lineCost - 1)},
		{"far over", 2 * lineCost, 1000, 2, ErrTruncated, TruncatedMsg(2 * lineCost)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0.Add(time.Hour)}
			c := New(Config{Limit: tc.limit, Now: clk.now, IdleTimeout: time.Second})
			for i := range tc.lines {
				c.Line(Stdout, at(i), "0123456789")
			}
			// Before the sentinels come: a truncated activation is
			// returned at once, as in OpenWhisk.
			got, err := c.Collect(context.Background(), true)
			if !errors.Is(err, tc.errIs) {
				t.Fatalf("err %v, want %v", err, tc.errIs)
			}
			if len(got) != tc.kept+1 || !strings.HasSuffix(got[len(got)-1], "stderr: "+tc.notice) {
				t.Fatalf("got %d lines %q, want %d and the notice", len(got), got, tc.kept)
			}
			// The rest of the truncated activation is dropped; the next
			// one is whole.
			c.Line(Stdout, at(5000), "late line of the truncated activation")
			feed(c, []in{sentinel(Stdout, 5001), sentinel(Stderr, 5001), {Stdout, 5002, "next"}, sentinel(Stdout, 5003), sentinel(Stderr, 5003)})
			got, err = c.Collect(context.Background(), true)
			if err != nil || !slices.Equal(got, []string{out(5002, "next")}) {
				t.Errorf("next activation: %q %v", got, err)
			}
		})
	}
}

func TestLimitNotReached(t *testing.T) {
	lineCost := len(out(1, "0123456789")) + 1
	c := New(Config{Limit: 3 * lineCost})
	for i := range 3 {
		c.Line(Stderr, at(i), "0123456789")
	}
	feed(c, []in{sentinel(Stdout, 9), sentinel(Stderr, 9)})
	got, err := c.Collect(context.Background(), true)
	if err != nil || len(got) != 3 {
		t.Fatalf("exactly at the limit: %d lines, %v; want 3 and no error", len(got), err)
	}
}

func TestGivingUp(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		setup   func(c *Collector) (ctx context.Context, stop func())
		min     time.Duration
		max     time.Duration
		kept    int
		errWant string
	}{
		{"idle deadline", Config{IdleTimeout: 50 * time.Millisecond},
			func(c *Collector) (context.Context, func()) {
				feed(c, []in{{Stdout, 1, "only line"}, sentinel(Stdout, 2)}) // stderr never ends
				return context.Background(), func() {}
			}, 50 * time.Millisecond, time.Second, 1, "no output for 50ms"},
		{"overall deadline with output trickling", Config{IdleTimeout: time.Second, TimeoutPerMB: 20 * time.Millisecond},
			func(c *Collector) (context.Context, func()) {
				stop, done := make(chan struct{}), make(chan struct{})
				go func() { // a line every 5 ms keeps the idle deadline away
					defer close(done)
					for {
						select {
						case <-stop:
							return
						case <-time.After(5 * time.Millisecond):
							c.Line(Stdout, time.Now(), "tick")
						}
					}
				}()
				return context.Background(), func() { close(stop); <-done }
			}, 100 * time.Millisecond, time.Second, -1, "did not come within"},
		{"context ended", Config{IdleTimeout: time.Minute},
			func(c *Collector) (context.Context, func()) {
				return context.WithTimeout(context.Background(), 30*time.Millisecond)
			}, 30 * time.Millisecond, time.Second, 0, "deadline exceeded"},
		{"output ended without sentinels", Config{IdleTimeout: time.Minute},
			func(c *Collector) (context.Context, func()) {
				feed(c, []in{{Stderr, 1, "crash"}, sentinel(Stderr, 2)})
				c.Close()
				return context.Background(), func() {}
			}, 0, time.Second, 1, "ended before"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Limit = 1 << 20
			c := New(tc.cfg)
			ctx, stop := tc.setup(c)
			start := time.Now()
			got, err := c.Collect(ctx, true)
			el := time.Since(start)
			stop()
			if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), tc.errWant) {
				t.Fatalf("err %v, want ErrIncomplete saying %q", err, tc.errWant)
			}
			if el < tc.min || el > tc.max {
				t.Errorf("gave up after %v, want between %v and %v", el, tc.min, tc.max)
			}
			if len(got) == 0 || !strings.HasSuffix(got[len(got)-1], "stderr: "+MsgFailure) {
				t.Fatalf("lines %q do not end with the failure notice", got)
			}
			if tc.kept >= 0 && len(got) != tc.kept+1 {
				t.Errorf("%d lines before the notice, want %d: %q", len(got)-1, tc.kept, got)
			}
		})
	}
}

func TestCollectWaitsForSentinels(t *testing.T) {
	c := New(Config{Limit: 1 << 20})
	done := make(chan []string)
	go func() {
		lines, _ := c.Collect(context.Background(), true)
		done <- lines
	}()
	c.Line(Stdout, at(1), "x")
	c.Line(Stdout, at(2), Sentinel)
	select {
	case l := <-done:
		t.Fatalf("returned %q before stderr's sentinel", l)
	case <-time.After(50 * time.Millisecond):
	}
	c.Line(Stderr, at(3), Sentinel)
	select {
	case l := <-done:
		if !slices.Equal(l, []string{out(1, "x")}) {
			t.Errorf("got %q", l)
		}
	case <-time.After(time.Second):
		t.Fatal("Collect did not return once both sentinels came")
	}
}

func TestNoWait(t *testing.T) {
	c := New(Config{Limit: 1 << 20, IdleTimeout: time.Minute})
	feed(c, []in{{Stdout, 1, "so far"}})
	start := time.Now()
	got, err := c.Collect(context.Background(), false)
	if err != nil || !slices.Equal(got, []string{out(1, "so far")}) || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("got %q %v after %v; want the line at once", got, err, time.Since(start))
	}
	// The rest of that activation is dropped; the next starts after its
	// sentinels.
	feed(c, []in{{Stdout, 2, "late"}, sentinel(Stdout, 3), sentinel(Stderr, 3), {Stderr, 4, "next"}, sentinel(Stdout, 5), sentinel(Stderr, 5)})
	got, err = c.Collect(context.Background(), false)
	if err != nil || !slices.Equal(got, []string{errl(4, "next")}) {
		t.Fatalf("next activation: %q %v", got, err)
	}
}

func TestOff(t *testing.T) {
	c := New(Config{Limit: 0})
	fmt.Fprintf(c.Writer(Stdout), "a\n%s\n", Sentinel)
	c.Line(Stderr, at(1), "b")
	got, err := c.Collect(context.Background(), true)
	if got != nil || err != nil {
		t.Fatalf("collection off: %q %v", got, err)
	}
	if c.stored != 0 || len(c.acts) != 0 || len(c.part[0]) != 0 {
		t.Errorf("collection off holds %d bytes in %d activations", c.stored, len(c.acts))
	}
}

// TestBoundedMemory: a container that prints forever, with nobody
// collecting, holds at most its limit; one that prints sentinels forever
// holds a few activations.
func TestBoundedMemory(t *testing.T) {
	const limit = 4 << 10
	c := New(Config{Limit: limit, MaxLine: 100})
	w := c.Writer(Stdout)
	long := strings.Repeat("x", 1000) // cut into lines of MaxLine
	for i := range 20000 {
		fmt.Fprintf(w, "line %d\n", i)
		io.WriteString(w, long)
	}
	if c.stored > limit || len(c.acts) != 1 || len(c.part[Stdout]) > 100 {
		t.Fatalf("after 20000 lines: %d bytes held in %d activations, partial line %d; want at most %d in 1",
			c.stored, len(c.acts), len(c.part[Stdout]), limit)
	}
	for i := range 10000 {
		fmt.Fprintf(w, "activation %d\n%s\n", i, Sentinel)
	}
	if c.stored > 2*limit || len(c.acts) > maxActivations {
		t.Fatalf("after 10000 sentinels on stdout: %d bytes in %d activations", c.stored, len(c.acts))
	}
	// The first activation was dropped: Collect says so.
	c.Line(Stderr, time.Now(), Sentinel)
	got, err := c.Collect(context.Background(), true)
	if !errors.Is(err, ErrIncomplete) || len(got) != 1 || !strings.Contains(got[0], MsgFailure) {
		t.Errorf("collecting a dropped activation: %q %v", got, err)
	}
}
