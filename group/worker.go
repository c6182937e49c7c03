package group

import "github.com/volley-run/volley/comm"

// Worker is what a worker function knows about itself and its group. It is
// read-only.
type Worker struct {
	group   string
	rank    int
	size    int
	pack    Pack
	replica int
	params  Params
	comm    *comm.Comm
}

// GroupID is the id of the group this worker belongs to.
func (w *Worker) GroupID() string { return w.group }

// Rank is this worker's index, 0..Size()-1.
func (w *Worker) Rank() int { return w.rank }

// Size is the number of workers in the group (N).
func (w *Worker) Size() int { return w.size }

// Pack is the container share this worker runs in; its ranks are
// [Pack().Lo, Pack().Hi).
func (w *Worker) Pack() Pack { return w.pack }

// Replica numbers the container among the speculative replicas of its
// pack (0 without speculation).
func (w *Worker) Replica() int { return w.replica }

// Params are the group's parameters.
func (w *Worker) Params() Params { return w.params }

// Comm is the worker's communicator: point-to-point messages to any rank
// of the group (see package comm) and the base for collectives.
func (w *Worker) Comm() *comm.Comm { return w.comm }
