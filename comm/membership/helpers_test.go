package membership

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder collects the failures reported to every node of a test cluster.
type recorder struct {
	mu   sync.Mutex
	got  map[string][]*PackFailedError // by reporting node
	when map[string]time.Time          // first report, by node
	ch   chan struct{}
}

func newRecorder() *recorder {
	return &recorder{got: map[string][]*PackFailedError{}, when: map[string]time.Time{}, ch: make(chan struct{}, 1)}
}

func (r *recorder) hook(name string) func(int, error) {
	return func(pack int, err error) {
		f, ok := err.(*PackFailedError)
		if !ok || f.Pack != pack {
			panic(fmt.Sprintf("OnPackFailed(%d, %v): want *PackFailedError of that pack", pack, err))
		}
		r.mu.Lock()
		if len(r.got[name]) == 0 {
			r.when[name] = time.Now()
		}
		r.got[name] = append(r.got[name], f)
		r.mu.Unlock()
		select {
		case r.ch <- struct{}{}:
		default:
		}
	}
}

func (r *recorder) first(name string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.when[name]
}

func (r *recorder) snapshot() map[string][]*PackFailedError {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]*PackFailedError{}
	for k, v := range r.got {
		out[k] = append([]*PackFailedError(nil), v...)
	}
	return out
}

// waitAll waits until each of names has at least one report.
func (r *recorder) waitAll(t *testing.T, names []string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		missing := []string{}
		for _, n := range names {
			if len(r.got[n]) == 0 {
				missing = append(missing, n)
			}
		}
		r.mu.Unlock()
		if len(missing) == 0 {
			return
		}
		select {
		case <-r.ch:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no failure reported to %v within %v", missing, timeout)
		}
	}
}

// logBuffer is a concurrency-safe sink for slog text output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits until the log contains s.
func (l *logBuffer) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(l.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("log has no %q within %v; log:\n%s", s, timeout, l.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testLogger(w *logBuffer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func newSecret(t testing.TB) []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// cluster is a test group: one observer (the launcher) and its packs, all
// on 127.0.0.1 in this process.
type cluster struct {
	t      testing.TB
	group  string
	secret []byte
	packs  int
	per    int // ranks per pack
	timing Timing
	rec    *recorder
	logs   *logBuffer
	obs    *Node
	nodes  []*Node // by pack; nil if not started
}

func newCluster(t testing.TB, packs int) *cluster {
	c := &cluster{
		t: t, group: "g-" + strings.ReplaceAll(t.Name(), "/", "-"), secret: newSecret(t),
		packs: packs, per: 4, rec: newRecorder(), logs: &logBuffer{},
		nodes: make([]*Node, packs),
	}
	t.Cleanup(c.closeAll)
	return c
}

func (c *cluster) config(pack int) Config {
	self := Meta{Pack: pack}
	if pack != ObserverPack {
		self.Lo, self.Hi = pack*c.per, (pack+1)*c.per
		self.DataAddr = fmt.Sprintf("127.0.0.1:%d", 20000+pack)
	}
	cfg := Config{
		Group:  c.group,
		Secret: c.secret,
		Self:   self,
		Packs:  c.packs,
		Timing: c.timing,
		Logger: testLogger(c.logs, slog.LevelWarn),
	}
	if c.obs != nil {
		cfg.Seeds = []string{c.obs.Addr()}
	}
	return cfg
}

func (c *cluster) start(cfg Config) *Node {
	c.t.Helper()
	if cfg.OnPackFailed == nil {
		name := cfg.Name
		if name == "" {
			if cfg.Self.Pack == ObserverPack {
				name = fmt.Sprintf("%s/observer.t", cfg.Group)
			} else {
				name = fmt.Sprintf("%s/pack-%d.t%d", cfg.Group, cfg.Self.Pack, time.Now().UnixNano()%1000)
			}
			cfg.Name = name
		}
		cfg.OnPackFailed = c.rec.hook(name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Start(ctx, cfg)
	if err != nil {
		c.t.Fatalf("Start pack %d: %v", cfg.Self.Pack, err)
	}
	return n
}

// startAll starts the observer and every pack, concurrently.
func (c *cluster) startAll() {
	c.t.Helper()
	c.obs = c.start(c.config(ObserverPack))
	var wg sync.WaitGroup
	errs := make(chan error, c.packs)
	for p := range c.packs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := c.config(p)
			cfg.Name = fmt.Sprintf("%s/pack-%d", c.group, p)
			cfg.OnPackFailed = c.rec.hook(cfg.Name)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			n, err := Start(ctx, cfg)
			if err != nil {
				errs <- fmt.Errorf("start pack %d: %w", p, err)
				return
			}
			c.nodes[p] = n
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		c.t.Fatal(err)
	}
}

// all returns the running nodes: observer first, then packs.
func (c *cluster) all() []*Node {
	out := []*Node{c.obs}
	for _, n := range c.nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

func (c *cluster) waitReady(timeout time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, n := range c.all() {
		if _, err := n.WaitReady(ctx); err != nil {
			c.t.Fatalf("%s: WaitReady: %v", n.Name(), err)
		}
	}
}

// kill stops a pack's node the way a SIGKILL would (killNode).
func (c *cluster) kill(pack int) {
	n := c.nodes[pack]
	c.nodes[pack] = nil
	killNode(n)
}

// killNode stops n the way a SIGKILL would: no leave, sockets closed.
func killNode(n *Node) {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closing = true
		n.mu.Unlock()
		n.stopLoops()
		_ = n.ml.Shutdown()
	})
}

// closePack closes a pack's node (leaving).
func (c *cluster) closePack(pack int) {
	c.t.Helper()
	n := c.nodes[pack]
	c.nodes[pack] = nil
	if err := n.Close(2 * time.Second); err != nil {
		c.t.Errorf("close pack %d: %v", pack, err)
	}
}

func (c *cluster) closeAll() {
	var wg sync.WaitGroup
	for _, n := range c.all() {
		if n == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = n.Close(time.Second)
		}()
	}
	wg.Wait()
	c.obs = nil
	clear(c.nodes)
}

func (c *cluster) names() []string {
	var out []string
	for _, n := range c.all() {
		out = append(out, n.Name())
	}
	return out
}
