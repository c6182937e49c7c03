package controller

import (
	"context"
	"fmt"
	"sync"
)

// admission hands out cores from a fixed budget in strict FIFO order: a
// request waits until every request ahead of it has been served and its
// own cores are free. A group asks for all its containers' cores in one
// request, so it starts whole or waits whole; FIFO keeps a large group
// from being starved by a stream of small ones.
type admission struct {
	mu    sync.Mutex
	total int
	free  int
	queue []*waiter
}

type waiter struct {
	need  int
	ready chan struct{}
}

func newAdmission(cores int) *admission { return &admission{total: cores, free: cores} }

// acquire waits for need cores, or until ctx ends.
func (a *admission) acquire(ctx context.Context, need int) error {
	if need > a.total {
		return fmt.Errorf("needs %d cores, more than the %d this controller has (raise --cores)", need, a.total)
	}
	a.mu.Lock()
	if len(a.queue) == 0 && a.free >= need {
		a.free -= need
		a.mu.Unlock()
		return nil
	}
	w := &waiter{need: need, ready: make(chan struct{})}
	a.queue = append(a.queue, w)
	a.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		a.mu.Lock()
		defer a.mu.Unlock()
		select {
		case <-w.ready: // served meanwhile: give the cores back
			a.free += need
		default:
			for i, q := range a.queue {
				if q == w {
					a.queue = append(a.queue[:i], a.queue[i+1:]...)
					break
				}
			}
		}
		a.dispatchLocked()
		return ctx.Err()
	}
}

// release returns n cores and serves waiters in order.
func (a *admission) release(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.free += n
	a.dispatchLocked()
}

func (a *admission) dispatchLocked() {
	for len(a.queue) > 0 && a.queue[0].need <= a.free {
		w := a.queue[0]
		a.queue = a.queue[1:]
		a.free -= w.need
		close(w.ready)
	}
}

// state reports free cores and queued requests.
func (a *admission) state() (free, queued int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.free, len(a.queue)
}
