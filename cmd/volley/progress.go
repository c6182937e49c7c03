package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressTick is how often the progress line is redrawn while nothing
// finishes, so elapsed time and ETA stay current.
const progressTick = 250 * time.Millisecond

// progress draws one line on a terminal's stderr while a group runs: ranks
// done out of all, containers done, elapsed time and an estimate of the
// time left. It writes nothing, ever, when its output is not a terminal or
// when quiet.
type progress struct {
	out   *os.File
	on    bool
	start time.Time
	ranks int

	mu                         sync.Mutex
	packsDone, packs, rankDone int
	drawn, stopped             bool
	stop                       chan struct{}
	ticker                     sync.WaitGroup
}

// newProgress starts the display of a group of ranks workers on out.
func newProgress(out *os.File, quiet bool, ranks int) *progress {
	p := &progress{out: out, on: !quiet && term.IsTerminal(int(out.Fd())), start: time.Now(), ranks: ranks}
	if !p.on {
		return p
	}
	p.stop = make(chan struct{})
	p.ticker.Add(1)
	go func() {
		defer p.ticker.Done()
		t := time.NewTicker(progressTick)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.mu.Lock()
				p.draw()
				p.mu.Unlock()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// update is a group.OnPackDone callback.
func (p *progress) update(done, total, ranksDone int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.packsDone, p.packs, p.rankDone = done, total, ranksDone
	p.draw()
}

// draw writes the line; p.mu is held.
func (p *progress) draw() {
	if p.stopped {
		return
	}
	fmt.Fprintf(p.out, "\r\033[K%s", progressLine(p.rankDone, p.ranks, p.packsDone, p.packs, time.Since(p.start)))
	p.drawn = true
}

// finish stops the display and erases the line.
func (p *progress) finish() {
	if !p.on {
		return
	}
	p.mu.Lock()
	first := !p.stopped
	p.stopped = true
	if first && p.drawn {
		fmt.Fprint(p.out, "\r\033[K")
	}
	p.mu.Unlock()
	if first {
		close(p.stop)
	}
	p.ticker.Wait()
}

// progressLine words the state of a group: ranks done of ranks, packs
// done of packs (0 packs: not known yet), elapsed time, and the time left
// at the pace so far.
func progressLine(ranksDone, ranks, packsDone, packs int, elapsed time.Duration) string {
	s := fmt.Sprintf("volley: %d/%d ranks done", ranksDone, ranks)
	if packs > 0 {
		s += fmt.Sprintf(" (%d/%d containers)", packsDone, packs)
	}
	s += fmt.Sprintf(", %s elapsed, ETA %s", roundDuration(elapsed), eta(ranksDone, ranks, elapsed))
	return s
}

// eta estimates the time left from the pace so far; "?" before the first
// rank is done.
func eta(done, total int, elapsed time.Duration) string {
	if done <= 0 || total <= 0 {
		return "?"
	}
	if done >= total {
		return "0s"
	}
	left := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
	return roundDuration(left).String()
}

// roundDuration rounds d to a precision that reads well on one line.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(10 * time.Millisecond)
	}
}
