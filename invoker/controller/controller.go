package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/volley-run/volley/invoker/sandbox"
)

// GuestAuth is OpenWhisk's well-known development credential for the
// "guest" namespace (ansible/files/auth.guest); the default when Config.Auth
// is empty, so that `wsk` and openwhisk-client-go set up for a dev
// OpenWhisk work unchanged.
const GuestAuth = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"

// Config configures a Controller. Only Factory is required.
type Config struct {
	// Factory starts containers (required).
	Factory sandbox.Factory
	// Auth maps "uuid:key" credentials to namespace names. Default:
	// GuestAuth -> "guest".
	Auth map[string]string
	// ResolveImage maps an action's image to what Factory starts
	// (sandbox.Spec.Image). Default: the image unchanged.
	ResolveImage func(image string) string
	// APIHost is given to containers as __OW_API_HOST.
	APIHost string
	// Cores is the admission budget: each running container takes one.
	// Default 1024 (a development machine oversubscribes its cores:
	// worker processes mostly wait).
	Cores int
	// PauseGrace is how long an idle warm container runs before it is
	// paused (OpenWhisk: 10 s); IdleTimeout how long it then stays
	// paused before removal (OpenWhisk: 10 min); MaxIdle caps the warm
	// pool (default 1024).
	PauseGrace  time.Duration
	IdleTimeout time.Duration
	MaxIdle     int
	// MaxTimeout is the largest action time limit accepted (OpenWhisk's
	// default: 5 min); DefaultTimeout the one an action gets when it sets
	// none (1 min).
	MaxTimeout     time.Duration
	DefaultTimeout time.Duration
	// MaxWait is how long a blocking invoke waits before answering 202
	// (OpenWhisk: 60 s).
	MaxWait time.Duration
	// MaxPayload bounds an invoke's body (OpenWhisk: 1 MiB) and MaxResult
	// an activation's result (1 MiB); MaxGroupPayload bounds a group
	// invoke's body (default 32 MiB: one entry per worker).
	MaxPayload      int
	MaxResult       int
	MaxGroupPayload int
	// MaxActivations is how many activation records are kept (oldest
	// dropped first). Default 10000.
	MaxActivations int
	// StartTimeout bounds starting a container (before /init). Default 30 s.
	StartTimeout time.Duration
	// Logger receives controller events. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if len(c.Auth) == 0 {
		c.Auth = map[string]string{GuestAuth: "guest"}
	}
	if c.ResolveImage == nil {
		c.ResolveImage = func(s string) string { return s }
	}
	if c.Cores <= 0 {
		c.Cores = 1024
	}
	if c.PauseGrace <= 0 {
		c.PauseGrace = 10 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.MaxIdle <= 0 {
		c.MaxIdle = 1024
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = 5 * time.Minute
	}
	if c.DefaultTimeout <= 0 {
		c.DefaultTimeout = time.Minute
	}
	if c.DefaultTimeout > c.MaxTimeout {
		c.DefaultTimeout = c.MaxTimeout
	}
	if c.MaxWait <= 0 {
		c.MaxWait = time.Minute
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1 << 20
	}
	if c.MaxResult <= 0 {
		c.MaxResult = 1 << 20
	}
	if c.MaxGroupPayload <= 0 {
		c.MaxGroupPayload = 32 << 20
	}
	if c.MaxActivations <= 0 {
		c.MaxActivations = 10000
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Stats counts what a Controller did.
type Stats struct {
	// ColdStarts counts containers started; WarmStarts activations served
	// by a pooled container.
	ColdStarts, WarmStarts int
	// Activations counts finished activations; Groups group invokes.
	Activations, Groups int
	// Idle and Paused count warm containers now; FreeCores and Queued
	// describe admission now.
	Idle, Paused, FreeCores, Queued int
}

// Controller is the in-memory OpenWhisk-compatible controller.
type Controller struct {
	cfg   Config
	log   *slog.Logger
	adm   *admission
	pool  *pool
	ctx   context.Context
	stop  context.CancelFunc
	inflt sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	actions     map[string]map[string]*Action // namespace -> name
	activations map[string]*Activation        // finished, by id
	order       []string                      // activation ids, oldest first
	stats       Stats
}

// New returns a Controller that starts containers through cfg.Factory.
func New(cfg Config) (*Controller, error) {
	if cfg.Factory == nil {
		return nil, errors.New("controller: Config.Factory is required")
	}
	cfg = cfg.withDefaults()
	for cred, ns := range cfg.Auth {
		if u, k, ok := strings.Cut(cred, ":"); !ok || u == "" || k == "" || ns == "" || ns == "_" {
			return nil, fmt.Errorf("controller: credential for namespace %q must be \"uuid:key\" with a namespace name", ns)
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Controller{
		cfg: cfg, log: cfg.Logger, adm: newAdmission(cfg.Cores),
		pool: newPool(cfg.PauseGrace, cfg.IdleTimeout, cfg.MaxIdle, cfg.Logger),
		ctx:  ctx, stop: stop,
		actions: map[string]map[string]*Action{}, activations: map[string]*Activation{},
	}, nil
}

// Stats returns what the controller has done so far.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	s := c.stats
	c.mu.Unlock()
	s.Idle, s.Paused = c.pool.stats()
	s.FreeCores, s.Queued = c.adm.state()
	return s
}

// Close stops accepting activations, cancels those in flight (their
// containers are destroyed), waits for them, and removes every warm
// container. The Factory is the caller's to close.
func (c *Controller) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stop()
	c.inflt.Wait()
	c.pool.close()
	return nil
}

// begin registers an activation in flight; false once closed.
func (c *Controller) begin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.inflt.Add(1)
	return true
}

// record stores a finished activation, dropping the oldest beyond the cap.
func (c *Controller) record(a *Activation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.activations[a.ActivationID] = a
	c.order = append(c.order, a.ActivationID)
	c.stats.Activations++
	for len(c.order) > c.cfg.MaxActivations {
		delete(c.activations, c.order[0])
		c.order = c.order[1:]
	}
}

// activation returns a finished activation of namespace ns.
func (c *Controller) activation(ns, id string) *Activation {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.activations[id]
	if a == nil || a.Namespace != ns {
		return nil
	}
	return a
}

// lookup returns a copy of action name in namespace ns.
func (c *Controller) lookup(ns, name string) (Action, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.actions[ns][name]
	if a == nil {
		return Action{}, false
	}
	return *a, true
}
