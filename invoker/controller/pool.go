package controller

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/sandbox"
)

// container is a sandbox that has received /init for one action.
type container struct {
	sb     sandbox.Sandbox
	client *action.Client
	op     sync.Mutex // orders Pause and Resume

	// Guarded by the pool's mutex while idle.
	paused bool
	timer  *time.Timer // pause, then removal
}

// returnWait bounds how long an activation waits for a container of its
// action that has answered and is having its logs read, before it starts
// a new one instead. Reading the logs takes milliseconds; a cold start
// takes tens of milliseconds (a process) to a second (Docker).
const returnWait = 2 * time.Second

// pool keeps warm containers per action key, pausing them after pauseGrace
// and removing them after idleTimeout, as OpenWhisk's invoker does. A
// container whose activation has answered but whose logs are still being
// read is "returning": an activation that finds no idle container waits
// for it (up to returnWait) rather than starting a new one, so a client
// that invokes an action again as soon as it has the result gets the warm
// container.
type pool struct {
	pauseGrace, idleTimeout time.Duration
	maxIdle                 int
	log                     *slog.Logger

	mu        sync.Mutex
	idle      map[string][]*container // key -> most recently used last
	count     int
	returning map[string]int // key -> containers on their way back
	waiting   map[string]int // key -> takers waiting for them
	changed   chan struct{}  // closed and replaced when a container comes back
	closed    bool
	wg        sync.WaitGroup // pauses and removals in progress
}

func newPool(pauseGrace, idleTimeout time.Duration, maxIdle int, log *slog.Logger) *pool {
	return &pool{pauseGrace: pauseGrace, idleTimeout: idleTimeout, maxIdle: maxIdle, log: log,
		idle: map[string][]*container{}, returning: map[string]int{}, waiting: map[string]int{},
		changed: make(chan struct{})}
}

// take returns a warm container for key, resumed if it was paused, or nil.
// When none is idle but one is returning and no other taker waits for it,
// take waits for it, up to returnWait.
func (p *pool) take(ctx context.Context, key string) *container {
	var waitUntil <-chan time.Time
	for {
		p.mu.Lock()
		list := p.idle[key]
		if len(list) == 0 {
			if p.closed || p.waiting[key] >= p.returning[key] {
				p.mu.Unlock()
				return nil
			}
			if waitUntil == nil {
				waitUntil = time.After(returnWait)
			}
			p.waiting[key]++
			changed := p.changed
			p.mu.Unlock()
			var gaveUp bool
			select {
			case <-changed:
			case <-waitUntil:
				gaveUp = true
			case <-ctx.Done():
				gaveUp = true
			}
			p.mu.Lock()
			p.waiting[key]--
			p.dropZeroLocked(key)
			p.mu.Unlock()
			if gaveUp {
				return nil
			}
			continue
		}
		c := list[len(list)-1]
		p.idle[key] = list[:len(list)-1]
		p.count--
		c.timer.Stop()
		p.mu.Unlock()
		// A pause in progress finishes first; none starts after this.
		c.op.Lock()
		p.mu.Lock()
		paused := c.paused
		c.paused = false
		p.mu.Unlock()
		select {
		case <-c.sb.Exited():
			c.op.Unlock()
			p.log.Debug("warm container had exited", "container", c.sb.ID(), "err", c.sb.ExitErr())
			c.sb.Destroy()
			continue
		default:
		}
		var err error
		if paused {
			err = c.sb.Resume(ctx)
		}
		c.op.Unlock()
		if err != nil {
			p.log.Warn("resume failed; removing the container", "container", c.sb.ID(), "err", err)
			c.sb.Destroy()
			continue
		}
		return c
	}
}

// put makes c idle for key, or destroys it if the pool is full or closed.
func (p *pool) put(key string, c *container) {
	p.mu.Lock()
	if p.closed || p.count >= p.maxIdle {
		p.mu.Unlock()
		c.sb.Destroy()
		return
	}
	p.idle[key] = append(p.idle[key], c)
	p.count++
	c.timer = time.AfterFunc(p.pauseGrace, func() { p.pause(key, c) })
	p.mu.Unlock()
}

// release makes c idle for key if keep, or destroys it.
func (p *pool) release(key string, c *container, keep bool) {
	if keep {
		p.put(key, c)
	} else {
		c.sb.Destroy()
	}
}

// willReturn marks one container of key as returning; a call to returned
// must follow.
func (p *pool) willReturn(key string) {
	p.mu.Lock()
	p.returning[key]++
	p.mu.Unlock()
}

// returned ends a returning container: it becomes idle if keep, or is
// destroyed; either way the takers waiting for it wake.
func (p *pool) returned(key string, c *container, keep bool) {
	p.release(key, c, keep)
	p.mu.Lock()
	p.returning[key]--
	p.dropZeroLocked(key)
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// dropZeroLocked forgets key's returning and waiting counts once both are 0.
func (p *pool) dropZeroLocked(key string) {
	if p.returning[key] == 0 && p.waiting[key] == 0 {
		delete(p.returning, key)
		delete(p.waiting, key)
	}
}

// pause freezes c if it is still idle, and arms its removal.
func (p *pool) pause(key string, c *container) {
	c.op.Lock()
	defer c.op.Unlock()
	p.mu.Lock()
	if !p.holdsLocked(key, c) || c.paused {
		p.mu.Unlock()
		return
	}
	c.paused = true
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.sb.Pause(ctx); err != nil {
		p.log.Warn("pause failed; removing the container", "container", c.sb.ID(), "err", err)
		p.remove(key, c)
		return
	}
	p.mu.Lock()
	if p.holdsLocked(key, c) {
		c.timer = time.AfterFunc(p.idleTimeout, func() { p.remove(key, c) })
	}
	p.mu.Unlock()
}

// remove destroys c if it is still idle.
func (p *pool) remove(key string, c *container) {
	p.mu.Lock()
	if !p.holdsLocked(key, c) {
		p.mu.Unlock()
		return
	}
	p.dropLocked(key, c)
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	c.sb.Destroy()
}

func (p *pool) holdsLocked(key string, c *container) bool {
	for _, x := range p.idle[key] {
		if x == c {
			return true
		}
	}
	return false
}

func (p *pool) dropLocked(key string, c *container) {
	list := p.idle[key]
	for i, x := range list {
		if x == c {
			p.idle[key] = append(list[:i], list[i+1:]...)
			p.count--
			return
		}
	}
}

// stats counts idle containers and how many of them are paused.
func (p *pool) stats() (idle, paused int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, list := range p.idle {
		for _, c := range list {
			idle++
			if c.paused {
				paused++
			}
		}
	}
	return idle, paused
}

// close destroys every idle container and refuses new ones.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	var all []*container
	for _, list := range p.idle {
		for _, c := range list {
			c.timer.Stop()
			all = append(all, c)
		}
	}
	p.idle = map[string][]*container{}
	p.count = 0
	p.mu.Unlock()
	p.wg.Wait()
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Add(1)
		go func() { defer wg.Done(); c.sb.Destroy() }()
	}
	wg.Wait()
}
