package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/volley-run/volley/comm/internal/leakcheck"
	"go.uber.org/goleak"
)

func TestReadyAndView(t *testing.T) {
	c := newCluster(t, 4)
	c.startAll()
	c.waitReady(10 * time.Second)

	for _, n := range c.all() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		view, err := n.WaitReady(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", n.Name(), err)
		}
		if len(view) != c.packs {
			t.Fatalf("%s: ready view has %d packs, want %d: %v", n.Name(), len(view), c.packs, view)
		}
		for p := range c.packs {
			want := Meta{Group: c.group, Pack: p, DataAddr: fmt.Sprintf("127.0.0.1:%d", 20000+p), Lo: p * c.per, Hi: (p + 1) * c.per}
			if view[p] != want {
				t.Errorf("%s: pack %d = %+v, want %+v", n.Name(), p, view[p], want)
			}
		}
		if cur := n.Packs(); len(cur) != c.packs {
			t.Errorf("%s: Packs() has %d packs, want %d", n.Name(), len(cur), c.packs)
		} else if _, ok := cur[ObserverPack]; ok {
			t.Errorf("%s: Packs() lists the observer", n.Name())
		}
	}
	if got := c.rec.snapshot(); len(got) != 0 {
		t.Errorf("failures reported: %v", got)
	}
}

func TestWaitReadyNamesMissingPacks(t *testing.T) {
	c := newCluster(t, 4)
	c.obs = c.start(c.config(ObserverPack))
	c.nodes[1] = c.start(c.config(1))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := c.obs.WaitReady(ctx)
	var nr *NotReadyError
	if !errors.As(err, &nr) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady = %v, want a NotReadyError wrapping DeadlineExceeded", err)
	}
	if fmt.Sprint(nr.Missing) != "[0 2 3]" || !strings.Contains(err.Error(), "0,2-3") {
		t.Fatalf("missing %v, error %q: want packs 0,2-3", nr.Missing, err)
	}
}

func TestDoneThenLeaveIsNotFailure(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll()
	c.waitReady(10 * time.Second)

	n := c.nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.MarkDone(ctx); err != nil {
		t.Fatalf("MarkDone: %v", err)
	}
	// The done messages were written before MarkDone returned; the
	// members handle them a moment later.
	waitFor(t, time.Second, "every member sees pack 1 done", func() bool {
		for _, o := range c.all() {
			if !o.Packs()[1].Done {
				return false
			}
		}
		return true
	})
	c.closePack(1)
	waitGone(t, c, 1)
	time.Sleep(2 * c.timingOrDefault().DoneGrace)
	if got := c.rec.snapshot(); len(got) != 0 {
		t.Fatalf("failures reported for a done pack: %v", got)
	}
	// The barrier stays passed, with the pack's last metadata.
	view, err := c.obs.WaitReady(ctx)
	if err != nil || !view[1].Done {
		t.Fatalf("WaitReady after pack 1 left done = %v, %v", view, err)
	}
}

func TestLeaveWithoutDoneFails(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll()
	c.waitReady(10 * time.Second)

	name := c.nodes[2].Name()
	c.closePack(2)
	c.rec.waitAll(t, c.names(), 5*time.Second)
	time.Sleep(300 * time.Millisecond) // would catch a second report
	checkReports(t, c, 2, Left, name)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.obs.WaitReady(ctx)
	var f *PackFailedError
	if !errors.As(err, &f) || f.Pack != 2 || f.Kind != Left {
		t.Fatalf("WaitReady after a failure = %v, want pack 2 left", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "pack 2 left") {
		t.Errorf("error %q does not say pack 2 left", msg)
	}
}

// TestKilledNodeDetected checks that a node that stops without leaving is
// reported dead by every member within Timing.FailureBound (plus slack for
// a loaded test machine).
func TestKilledNodeDetected(t *testing.T) {
	c := newCluster(t, 4)
	c.startAll()
	c.waitReady(10 * time.Second)
	time.Sleep(500 * time.Millisecond) // let probing settle

	members := c.packs + 1
	bound := c.timingOrDefault().FailureBound(members)
	slack := time.Second
	name := c.nodes[3].Name()
	start := time.Now()
	c.kill(3)
	c.rec.waitAll(t, c.names(), bound+slack+5*time.Second)
	checkReports(t, c, 3, Dead, name)
	worst := worstLatency(c, start)
	t.Logf("killed pack detected by all %d members in %v (bound %v)", len(c.names()), worst.Round(time.Millisecond), bound)
	if worst > bound+slack {
		t.Fatalf("killed pack detected in %v, bound %v + slack %v", worst, bound, slack)
	}
}

func TestAnnounceFailedReachesAll(t *testing.T) {
	c := newCluster(t, 4)
	c.startAll()
	c.waitReady(10 * time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := c.obs.AnnounceFailed(ctx, 2, "container exited with status 137"); err != nil {
		t.Fatalf("AnnounceFailed: %v", err)
	}
	c.rec.waitAll(t, c.names(), 5*time.Second)
	t.Logf("announcement reached all %d members in %v", len(c.names()), worstLatency(c, start).Round(time.Microsecond))

	// The pack's node then goes without being done: no second report.
	c.closePack(2)
	waitGone(t, c, 2)
	time.Sleep(2 * c.timingOrDefault().DoneGrace)
	checkReports(t, c, 2, Announced, c.obs.Name())
	for _, fs := range c.rec.snapshot() {
		if !strings.Contains(fs[0].Error(), "container exited with status 137") {
			t.Errorf("reason lost: %v", fs[0])
		}
	}
	if err := c.obs.AnnounceFailed(ctx, 9, "x"); err == nil {
		t.Error("AnnounceFailed accepts a pack out of range")
	}
}

func TestWrongSecretRefused(t *testing.T) {
	c := newCluster(t, 2)
	c.obs = c.start(c.config(ObserverPack))

	cfg := c.config(0)
	cfg.Secret = newSecret(t)
	intruderLog := &logBuffer{}
	cfg.Logger = testLogger(intruderLog, slog.LevelDebug)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	n, err := Start(ctx, cfg)
	if err == nil {
		n.Close(time.Second)
		t.Fatal("Start with a wrong secret joined the group")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "join") {
		t.Errorf("Start error %q: want a join error ending in the context's", err)
	}
	c.logs.waitLog(t, "refused traffic not encrypted with the group secret", 2*time.Second)
	if len(c.obs.Packs()) != 0 || c.obs.ml.NumMembers() != 1 {
		t.Fatalf("observer knows %v (%d members)", c.obs.Packs(), c.obs.ml.NumMembers())
	}
}

func TestOtherGroupRefused(t *testing.T) {
	c := newCluster(t, 2)
	c.obs = c.start(c.config(ObserverPack))
	c.nodes[0] = c.start(c.config(0))
	waitFor(t, 2*time.Second, "the observer sees pack 0", func() bool {
		_, ok := c.obs.Packs()[0]
		return ok
	})

	cfg := c.config(1)
	cfg.Group = "other"
	cfg.Self.Group = ""
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := Start(ctx, cfg)
	if err == nil {
		n.Close(time.Second)
		t.Fatal("a node of another group joined")
	}
	if !errors.Is(err, ErrForeignGroup) {
		t.Fatalf("Start error = %v, want ErrForeignGroup", err)
	}
	// The group's nodes log the refusal with the peer's name and group
	// (the intruder, sharing the log, logs its own side too).
	c.logs.waitLog(t, "peer_group=other", 2*time.Second)
	for _, o := range c.all() {
		if _, ok := o.Packs()[1]; ok || o.ml.NumMembers() != 2 {
			t.Errorf("%s lets the foreign node in: %v", o.Name(), o.Packs())
		}
	}

	// A foreign alive message arriving by gossip is refused as well.
	d := &delegate{c.obs}
	foreign, _ := encodeMeta(Meta{Group: "other", Pack: 1}, MaxMetaSize)
	if err := d.NotifyAlive(&memberlist.Node{Name: "x", Meta: foreign}); !errors.Is(err, ErrForeignGroup) {
		t.Errorf("NotifyAlive(foreign) = %v", err)
	}
	bad, _ := encodeMeta(Meta{Group: c.group, Pack: 7}, MaxMetaSize)
	if err := d.NotifyAlive(&memberlist.Node{Name: "y", Meta: bad}); err == nil {
		t.Error("NotifyAlive accepts a pack out of range")
	}
	if err := d.NotifyAlive(&memberlist.Node{Name: "z", Meta: []byte("junk")}); err == nil {
		t.Error("NotifyAlive accepts junk metadata")
	}
}

func TestDuplicatePackClaim(t *testing.T) {
	c := newCluster(t, 2)
	c.startAll()
	c.waitReady(10 * time.Second)
	first := c.nodes[1]

	cfg := c.config(1)
	cfg.Self.DataAddr = "127.0.0.1:29999"
	replica := c.start(cfg)
	defer replica.Close(time.Second)
	c.logs.waitLog(t, "pack claimed twice", 3*time.Second)
	waitFor(t, 5*time.Second, "every node knows the replica", func() bool {
		for _, o := range append(c.all(), replica) {
			if o.ml.NumMembers() != 4 {
				return false
			}
		}
		return true
	})
	for _, o := range c.all() {
		if got := o.Packs()[1].DataAddr; got != "127.0.0.1:20001" {
			t.Errorf("%s: pack 1 at %s, want the first claim", o.Name(), got)
		}
	}
	// The first claimant goes: the replica takes over, no failure.
	c.closePack(1)
	waitFor(t, 5*time.Second, "replica takes over", func() bool {
		for _, o := range []*Node{c.obs, c.nodes[0]} {
			if o.Packs()[1].DataAddr != "127.0.0.1:29999" {
				return false
			}
		}
		return true
	})
	_ = first
	time.Sleep(2 * c.timingOrDefault().DoneGrace)
	if got := c.rec.snapshot(); len(got) != 0 {
		t.Fatalf("failures: %v", got)
	}
}

func TestConfigErrors(t *testing.T) {
	secret := newSecret(t)
	base := Config{Group: "g", Secret: secret, Packs: 2, Self: Meta{Pack: 0, Lo: 0, Hi: 4}}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
		is   error
	}{
		{"meta too large", func(c *Config) { c.Self.DataAddr = strings.Repeat("x", 600) }, "too large", ErrMetaTooLarge},
		{"meta too large once Done", func(c *Config) { c.Self.DataAddr = addrFittingUntilDone(t, c.Self) }, "too large", ErrMetaTooLarge},
		{"no group", func(c *Config) { c.Group = "" }, "Group is empty", nil},
		{"short secret", func(c *Config) { c.Secret = []byte("short") }, "Secret", nil},
		{"no packs", func(c *Config) { c.Packs = 0 }, "Packs", nil},
		{"pack out of range", func(c *Config) { c.Self.Pack = 2 }, "out of range", nil},
		{"other group in Self", func(c *Config) { c.Self.Group = "h" }, "group", nil},
		{"bad ranks", func(c *Config) { c.Self.Lo = 5 }, "rank range", nil},
		{"bad timing", func(c *Config) { c.Timing.ProbeTimeout = time.Second }, "ProbeTimeout", nil},
		{"bad bind", func(c *Config) { c.BindAddr = "1.2.3.4:x:y" }, "BindAddr", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			n, err := Start(context.Background(), cfg)
			if err == nil {
				n.Close(time.Second)
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("Start error %q, want %q", err, tc.want)
			}
		})
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	c := newCluster(t, 1)
	c.startAll()
	c.waitReady(5 * time.Second)
	n := c.nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := n.MarkDone(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := n.WaitReady(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitReady after Close = %v", err)
	}
	if err := n.MarkDone(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("MarkDone after Close = %v", err)
	}
	if err := n.AnnounceFailed(ctx, 0, "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("AnnounceFailed after Close = %v", err)
	}
	c.nodes[0] = nil
}

// TestReadyScale measures the ready barrier for a large group started all
// at once in this process: 64 packs (16 with -short), plus the sizes in
// $VOLLEY_MEMBERSHIP_SCALE (comma-separated, e.g. 256). It then kills a
// pack and measures how long every member takes to report it. Groups of
// more than 64 nodes share this process's few cores, so they run with
// DenseTiming.
func TestReadyScale(t *testing.T) {
	sizes := []int{64}
	if testing.Short() || raceEnabled {
		// Under the race detector 64 memberlist nodes in one process on
		// two cores starve each other's probes after the barrier too, and
		// healthy nodes get declared dead: that measures the machine, not
		// the code, whose paths the smaller groups exercise with -race.
		sizes = []int{16}
	}
	for _, s := range strings.Split(os.Getenv("VOLLEY_MEMBERSHIP_SCALE"), ",") {
		if k, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && k > 0 {
			sizes = append(sizes, k)
		}
	}
	for _, packs := range sizes {
		t.Run(strconv.Itoa(packs), func(t *testing.T) {
			c := newCluster(t, packs)
			profile := "default"
			if packs > 64 || raceEnabled {
				c.timing, profile = DenseTiming(), "dense"
			}
			cpu0 := cpuTime()
			start := time.Now()
			c.startAll()
			started := time.Since(start)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if _, err := c.obs.WaitReady(ctx); err != nil {
				t.Fatalf("observer: %v", err)
			}
			obsReady := time.Since(start)
			for _, n := range c.all() {
				if _, err := n.WaitReady(ctx); err != nil {
					t.Fatalf("%s: %v", n.Name(), err)
				}
			}
			allReady := time.Since(start)
			t.Logf("%d packs (%s timing): every Start returned in %v; observer ready in %v; every node ready in %v; CPU %v",
				packs, profile, started.Round(time.Millisecond), obsReady.Round(time.Millisecond),
				allReady.Round(time.Millisecond), (cpuTime() - cpu0).Round(time.Millisecond))

			time.Sleep(time.Second)
			bound := c.timingOrDefault().FailureBound(packs + 1)
			victim := packs / 2
			name := c.nodes[victim].Name()
			killed := time.Now()
			c.kill(victim)
			c.rec.waitAll(t, c.names(), bound+15*time.Second)
			checkReports(t, c, victim, Dead, name)
			worst := worstLatency(c, killed)
			t.Logf("%d packs: killed pack reported by all %d members in %v (observer %v); bound %v",
				packs, len(c.names()), worst.Round(time.Millisecond),
				c.rec.first(c.obs.Name()).Sub(killed).Round(time.Millisecond), bound)
			// Under the race detector every node is slowed and finds
			// itself degraded, which stretches its probing (Lifeguard
			// awareness): the bound is not asserted there.
			if worst > bound+2*time.Second && !raceEnabled {
				t.Errorf("killed pack reported in %v, bound %v + 2 s slack", worst, bound)
			}
		})
	}
}

// --- helpers ---

// cpuTime returns the CPU time (user+system) used by this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cluster) timingOrDefault() Timing { return c.timing.withDefaults() }

// checkReports checks that every running member reported exactly one
// failure: pack, kind, node.
func checkReports(t *testing.T, c *cluster, pack int, kind FailureKind, node string) {
	t.Helper()
	got := c.rec.snapshot()
	for _, name := range c.names() {
		fs := got[name]
		if len(fs) != 1 {
			t.Errorf("%s: %d reports, want 1: %v", name, len(fs), fs)
			continue
		}
		if f := fs[0]; f.Pack != pack || f.Kind != kind || f.Node != node || f.Group != c.group {
			t.Errorf("%s: got %+v, want pack %d %s by %s", name, f, pack, kind, node)
		}
	}
}

// addrFittingUntilDone returns a DataAddr with which m fits in the
// metadata until Done is set.
func addrFittingUntilDone(t *testing.T, m Meta) string {
	for k := MaxMetaSize - 64; k < MaxMetaSize; k++ {
		m.Group, m.DataAddr, m.Done = "g", strings.Repeat("x", k), false
		if _, err := encodeMeta(m, MaxMetaSize); err != nil {
			break
		}
		m.Done = true
		if _, err := encodeMeta(m, MaxMetaSize); err != nil {
			return m.DataAddr
		}
	}
	t.Fatal("no such DataAddr")
	return ""
}

func worstLatency(c *cluster, since time.Time) time.Duration {
	c.rec.mu.Lock()
	defer c.rec.mu.Unlock()
	var worst time.Duration
	for _, name := range c.names() {
		if d := c.rec.when[name].Sub(since); d > worst {
			worst = d
		}
	}
	return worst
}

func waitGone(t *testing.T, c *cluster, pack int) {
	t.Helper()
	waitFor(t, 5*time.Second, fmt.Sprintf("pack %d gone from every view", pack), func() bool {
		for _, o := range c.all() {
			if _, ok := o.Packs()[pack]; ok {
				return false
			}
		}
		return true
	})
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseLeavesNoGoroutines checks that closing every node of a group,
// after a failure was reported and with timers pending, leaves no
// goroutine behind once memberlist's last probe round is over.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	c := newCluster(t, 3)
	c.startAll()
	c.waitReady(10 * time.Second)
	c.closePack(2) // leaves a pending failure (DoneGrace) at the others
	c.closeAll()
	tm := c.timingOrDefault()
	if err := leakcheck.Find(time.Duration(tm.AwarenessMaxMultiplier)*tm.ProbeInterval+time.Second, before); err != nil {
		t.Fatal(err)
	}
}
