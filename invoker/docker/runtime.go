package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/actlog"
	"github.com/volley-run/volley/invoker/pool"
	"github.com/volley-run/volley/invoker/sandbox"
)

// DefaultImage is the worker image deploy/build-image.sh builds.
const DefaultImage = "volley-worker:dev"

// ErrNoImage marks a worker image the engine does not have.
var ErrNoImage = errors.New("worker image not found")

// Config configures a Docker Runtime. The zero value is usable.
type Config struct {
	// Image is the worker image; default DefaultImage.
	Image string
	// MemoryMB is each container's memory limit (OpenWhisk's action
	// memory limit, swap included); default 256, OpenWhisk's default.
	MemoryMB int
	// CPUShares is each container's relative CPU weight; default
	// MemoryMB*1024/256, CPU in proportion to memory as OpenWhisk gives
	// it (a 256 MB container gets Docker's default weight, 1024).
	CPUShares int
	// Env is added to each container's environment.
	Env []string
	// Volumes are bind mounts for every container, in docker's
	// "host-path:container-path[:ro]" form (for apps that read or write
	// files, such as terasort's input and output directories).
	Volumes []string
	// StartTimeout bounds one cold start: create, start, listen, /init.
	// Default 30 s.
	StartTimeout time.Duration
	// MaxIdle caps the warm pool (pool.Config); default 1024, negative
	// disables it.
	MaxIdle int
	// PauseGrace is how long an idle container keeps running before it is
	// paused; default 50 ms (OpenWhisk's pause grace). Negative never
	// pauses.
	PauseGrace time.Duration
	// Logger receives runtime events. Default: discard.
	Logger *slog.Logger
	// Docker is the CLI to run; default "docker".
	Docker string
}

// Runtime runs packs as Docker containers of the worker image, one
// container per pack, on a bridge network of its own. It implements
// group.Runtime (through a warm pool) and sandbox.Factory, and is safe for
// concurrent use.
type Runtime struct {
	cfg    Config
	log    *slog.Logger
	eng    engine
	rm     *remover
	id     string
	net    *network
	events *watcher
	pool   *pool.Pool

	mu        sync.Mutex
	seq       int
	owned     map[*container]bool
	closed    bool
	warnedARP bool
	starting  sync.WaitGroup // Start calls under way
}

var (
	_ group.Runtime   = (*Runtime)(nil)
	_ sandbox.Factory = (*Runtime)(nil)
)

// New checks that an engine answers and has the image, sweeps what dead
// runtimes left behind, and creates the runtime's bridge network.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.Image == "" {
		cfg.Image = DefaultImage
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = 256
	}
	if cfg.CPUShares <= 0 {
		cfg.CPUShares = max(2, cfg.MemoryMB*1024/256)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	if cfg.PauseGrace == 0 {
		cfg.PauseGrace = 50 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Docker == "" {
		cfg.Docker = "docker"
	}
	if _, err := Ping(ctx, cfg.Docker); err != nil {
		return nil, err
	}
	eng := engine{cfg.Docker}
	if err := checkImage(ctx, eng, cfg.Image); err != nil {
		return nil, err
	}
	if c, n, err := Sweep(ctx, cfg.Docker); err != nil {
		return nil, err
	} else if c+n > 0 {
		cfg.Logger.Info("removed what a dead Volley runtime left", "containers", c, "networks", n)
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("runtime id: %w", err)
	}
	r := &Runtime{cfg: cfg, log: cfg.Logger, eng: eng, rm: newRemover(eng), id: "volley-" + hex.EncodeToString(b[:]), owned: map[*container]bool{}}
	since := time.Now().Add(-time.Second)
	nw, err := createNetwork(ctx, eng, r.id, r.labels(nil))
	if err != nil {
		return nil, err
	}
	r.net = nw
	if r.events, err = watchDeaths(eng, r.id, since, r.log); err != nil {
		r.removeNetwork()
		return nil, err
	}
	grace := cfg.PauseGrace
	if grace < 0 {
		grace = 0
	}
	r.pool = pool.New(pool.Config{Factory: r, StartTimeout: cfg.StartTimeout, MaxIdle: cfg.MaxIdle, PauseGrace: grace, Logger: cfg.Logger})
	r.log.Debug("docker runtime ready", "runtime", r.id, "network", nw.name, "subnet", nw.subnet)
	return r, nil
}

// checkImage makes sure the engine has the worker image.
func checkImage(ctx context.Context, eng engine, image string) error {
	if _, err := eng.run(ctx, "image", "inspect", "--format", "{{.Id}}", image); err != nil {
		if strings.Contains(err.Error(), "No such image") {
			return fmt.Errorf("%w: the engine has no image %s; build it with deploy/build-image.sh (no registry is needed)", ErrNoImage, image)
		}
		return fmt.Errorf("inspect image %s: %w", image, err)
	}
	return nil
}

// ID names the runtime; its network and containers carry it in the
// LabelRuntime label.
func (r *Runtime) ID() string { return r.id }

// Network is the name of the runtime's bridge network.
func (r *Runtime) Network() string { return r.net.name }

// BindAddr is the host's address on the runtime's network (the bridge's
// gateway): where a launcher's membership must listen so that containers
// reach it (group.BindAddr).
func (r *Runtime) BindAddr() string { return r.net.gateway.String() }

// labels are the labels of everything the runtime makes, plus extra.
func (r *Runtime) labels(extra map[string]string) []string {
	ls := []string{LabelRuntime + "=" + r.id, LabelOwner + "=" + owner}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		ls = append(ls, k+"="+extra[k])
	}
	return ls
}

// Start implements sandbox.Factory: it runs one container of spec.Image
// (default: the runtime's image) on the runtime's network with its own
// address, spec.MemoryMB (default: the runtime's) as its memory limit,
// CPU shares in proportion, spec.Env added and spec.Labels attached, and
// returns once the action protocol accepts connections on the container's
// address, port 8080. With spec.LogLimit the container logs to json-file
// and the sandbox is a sandbox.LogSource fed by a log follower (see
// follower). The caller sends /init and owns the sandbox; Close still
// removes it if the caller has not.
func (r *Runtime) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	image := orDefault(spec.Image, r.cfg.Image)
	memMB, shares := r.cfg.MemoryMB, r.cfg.CPUShares
	if spec.MemoryMB > 0 {
		memMB, shares = spec.MemoryMB, max(2, spec.MemoryMB*1024/256)
	}
	ip, err := r.net.allocate()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.net.release(ip)
		return nil, errors.New("docker runtime is closed")
	}
	r.seq++
	c := &container{rt: r, name: fmt.Sprintf("%s-%d", r.id, r.seq), ip: ip, addr: net.JoinHostPort(ip.String(), "8080"), exited: make(chan struct{})}
	r.owned[c] = true
	r.checkNeighbours(len(r.owned))
	r.starting.Add(1)
	r.mu.Unlock()
	defer r.starting.Done()

	r.events.subscribe(c.name, c.markExited)
	args := []string{"run", "-d", "--name", c.name, "--network", r.net.name, "--ip", ip.String(),
		"--memory", fmt.Sprintf("%dm", memMB), "--memory-swap", fmt.Sprintf("%dm", memMB),
		"--cpu-shares", fmt.Sprint(shares), "--pids-limit", "1024", "--ulimit", "nofile=8192:8192",
		"--cap-drop", "NET_RAW", "--cap-drop", "NET_ADMIN",
		"-e", action.EnvBindAddr + "=" + ip.String()}
	for _, l := range r.labels(spec.Labels) {
		args = append(args, "--label", l)
	}
	for _, e := range append(slices.Clone(r.cfg.Env), spec.Env...) {
		args = append(args, "-e", e)
	}
	for _, v := range r.cfg.Volumes {
		args = append(args, "--volume", v)
	}
	if spec.LogLimit > 0 {
		// The log the follower reads, whatever the daemon's default
		// driver, as OpenWhisk's invoker asks for it.
		args = append(args, "--log-driver", "json-file")
	}
	id, err := r.eng.run(ctx, append(args, image)...)
	if err != nil {
		// A docker run cut short may still create the container a moment
		// later in the engine.
		c.Destroy()
		time.Sleep(time.Second)
		_ = r.eng.remove(context.Background(), c.name)
		return nil, fmt.Errorf("container %s: %w", c.name, err)
	}
	c.id = id
	if spec.LogLimit > 0 {
		c.logs = actlog.New(actlog.Config{Limit: spec.LogLimit})
		c.mu.Lock()
		if c.destroyed { // by Close, meanwhile
			c.logs.Close()
		} else {
			c.follow = r.startFollower(c.name, c.logs)
		}
		c.mu.Unlock()
	}
	if err := c.waitListening(ctx); err != nil {
		c.Destroy()
		return nil, err
	}
	return c, nil
}

// checkNeighbours warns, once, when n containers that all talk to each
// other may need more ARP entries than the kernel keeps: Linux has one
// neighbour table for every network namespace, capped at
// net.ipv4.neigh.default.gc_thresh3 entries (1024 by default), and a
// container whose entries are refused stops reaching its peers. The
// caller holds r.mu.
func (r *Runtime) checkNeighbours(n int) {
	limit, err := NeighbourLimit()
	if r.warnedARP || err != nil || n*(n+1) <= limit {
		return
	}
	r.warnedARP = true
	r.log.Warn("containers may outgrow the kernel's neighbour (ARP) table and lose their network; raise it with sysctl -w net.ipv4.neigh.default.gc_thresh3=N (and gc_thresh1, gc_thresh2)",
		"containers", n, "entries_needed", n*(n+1), "gc_thresh3", limit)
}

// NeighbourLimit is the kernel's cap on neighbour (ARP) entries, shared
// by all network namespaces: net.ipv4.neigh.default.gc_thresh3.
func NeighbourLimit() (int, error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/neigh/default/gc_thresh3")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// forget drops a destroyed container and frees its address.
func (r *Runtime) forget(c *container) {
	r.mu.Lock()
	delete(r.owned, c)
	r.mu.Unlock()
	r.net.release(c.ip)
}

// RunPack runs one pack in a warm container (resumed if it was paused)
// or in a new one.
func (r *Runtime) RunPack(ctx context.Context, task group.PackTask) (group.PackResult, error) {
	return r.pool.RunPack(ctx, task)
}

// Stats returns the warm pool's counters.
func (r *Runtime) Stats() pool.Stats { return r.pool.Stats() }

// Close removes every container the runtime made, pooled or handed out by
// Start, then its network, and waits until all are gone.
func (r *Runtime) Close() error {
	r.pool.Close()
	r.mu.Lock()
	r.closed = true
	owned := slices.Collect(maps.Keys(r.owned))
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range owned {
		wg.Go(c.Destroy)
	}
	wg.Wait()
	r.starting.Wait()
	r.rm.wait()
	r.events.close()
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout(len(owned)))
	defer cancel()
	if err := r.removeLeftovers(ctx); err != nil {
		return err
	}
	return r.removeNetwork()
}

// removeLeftovers removes any container that still carries the runtime's
// label (one that a cancelled docker run created after all), until two
// looks in a row find none.
func (r *Runtime) removeLeftovers(ctx context.Context) error {
	for clean := 0; clean < 2; {
		out, err := r.eng.run(ctx, "ps", "-a", "-q", "--filter", "label="+LabelRuntime+"="+r.id)
		if err != nil {
			return fmt.Errorf("list leftover containers: %w", err)
		}
		left := lines(out)
		if len(left) == 0 {
			clean++
		} else {
			clean = 0
			r.log.Debug("removing leftover containers", "runtime", r.id, "containers", len(left))
			if err := r.eng.remove(ctx, left...); err != nil {
				return fmt.Errorf("remove leftover containers: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove leftover containers: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func (r *Runtime) removeNetwork() error {
	ctx, cancel := context.WithTimeout(context.Background(), destroyTimeout)
	defer cancel()
	if _, err := r.eng.run(ctx, "network", "rm", r.net.name); err != nil {
		return fmt.Errorf("remove network: %w", err)
	}
	return nil
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
