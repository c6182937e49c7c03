package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress draws one line on a terminal's stderr while a group runs:
// packs and ranks done, elapsed time. It writes nothing when stderr is not
// a terminal or when quiet.
type progress struct {
	mu    sync.Mutex
	out   *os.File
	on    bool
	start time.Time
	drawn bool
}

func newProgress(out *os.File, quiet bool) *progress {
	return &progress{out: out, on: !quiet && term.IsTerminal(int(out.Fd())), start: time.Now()}
}

// update is a group.OnPackDone callback.
func (p *progress) update(done, total, ranksDone int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "\r\033[Kvolley: %d/%d containers done, %d ranks, %.1fs", done, total, ranksDone, time.Since(p.start).Seconds())
	p.drawn = true
}

// finish erases the line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && p.drawn {
		fmt.Fprint(p.out, "\r\033[K")
	}
}
