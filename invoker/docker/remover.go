package docker

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// remover removes containers in batches: the removals asked for while one
// `docker rm` runs are done together by the next one. When a group of
// hundreds of containers ends, its packs all destroy their containers at
// once; one CLI call per container would start hundreds of docker
// processes on the host at the same moment, and on a small machine many
// then miss their deadline. The CLI removes a batch's containers in
// parallel itself.
type remover struct {
	eng engine

	mu      sync.Mutex
	queue   []removal
	running bool
	idle    *sync.Cond // signalled when a drain ends
}

// removal is one container waiting to be removed; done gets the result
// of the batch that removed it.
type removal struct {
	name string
	done chan error
}

func newRemover(eng engine) *remover {
	r := &remover{eng: eng}
	r.idle = sync.NewCond(&r.mu)
	return r
}

// remove removes the container name (`docker rm -f -v`, paused or not)
// and returns when its batch is done; a container already gone is not an
// error. The wait is bounded: every batch has a deadline (batchTimeout),
// and the batch that takes name starts once the one running now ends.
func (r *remover) remove(name string) error {
	done := make(chan error, 1)
	r.mu.Lock()
	r.queue = append(r.queue, removal{name: name, done: done})
	start := !r.running
	r.running = true
	r.mu.Unlock()
	if start {
		go r.drain()
	}
	return <-done
}

// drain runs batches until the queue is empty.
func (r *remover) drain() {
	for {
		r.mu.Lock()
		batch := r.queue
		r.queue = nil
		if len(batch) == 0 {
			r.running = false
			r.idle.Broadcast()
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		names := make([]string, len(batch))
		for i, b := range batch {
			names[i] = b.name
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout(len(names)))
		err := r.eng.remove(ctx, names...)
		cancel()
		if err != nil && len(batch) > 1 {
			err = fmt.Errorf("batch of %d containers: %w", len(batch), err)
		}
		for _, b := range batch {
			b.done <- err
		}
	}
}

// batchTimeout bounds one `docker rm` of n containers: removal takes the
// engine time per container (on a 2-core machine with fuse-overlayfs, a
// batch of 255 took more than 30 s).
func batchTimeout(n int) time.Duration {
	return destroyTimeout + time.Duration(n)*250*time.Millisecond
}

// wait returns once no removal is under way (each batch has a deadline).
func (r *remover) wait() {
	r.mu.Lock()
	for r.running {
		r.idle.Wait()
	}
	r.mu.Unlock()
}
