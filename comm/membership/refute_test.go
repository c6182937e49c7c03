package membership

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// refuteTiming detects a silent node in about a second and gives it
// DeadGrace to come back.
func refuteTiming() Timing {
	return Timing{
		ProbeInterval: 200 * time.Millisecond, ProbeTimeout: 100 * time.Millisecond,
		SuspicionMult: 1, DeadGrace: 4 * time.Second, PushPullInterval: time.Second,
	}
}

// childEnv names the environment that turns the test binary into one
// pack's membership node (see runChildNode).
const childEnv = "VOLLEY_MEMBERSHIP_CHILD"

// runChildNode runs pack 2 of the group described by the environment until
// its stdin closes: a node in a process of its own, which a test can stop
// (SIGSTOP) as the kernel would starve it, or kill.
func runChildNode() int {
	secret, _ := hex.DecodeString(os.Getenv("CHILD_SECRET"))
	packs, _ := strconv.Atoi(os.Getenv("CHILD_PACKS"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Start(ctx, Config{
		Group: os.Getenv("CHILD_GROUP"), Name: os.Getenv("CHILD_GROUP") + "/pack-2.child", Secret: secret,
		Self: Meta{Pack: 2, Lo: 8, Hi: 12, DataAddr: "127.0.0.1:20002"}, Packs: packs,
		Seeds: []string{os.Getenv("CHILD_SEED")}, Timing: refuteTiming(),
	})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer n.Close(time.Second)
	fmt.Println("started")
	bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// TestStarvedNodeRefutesItsDeath stops a pack's process (SIGSTOP) until
// the others declare it dead, then resumes it within Timing.DeadGrace: it
// refutes its death and nobody reports the pack failed. Killed (SIGKILL),
// the same pack is reported failed by every member within FailureBound,
// which includes the grace.
func TestStarvedNodeRefutesItsDeath(t *testing.T) {
	c := newCluster(t, 3)
	c.timing = refuteTiming()
	c.obs = c.start(c.config(ObserverPack))
	for _, p := range []int{0, 1} {
		c.nodes[p] = c.start(c.config(p))
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"=1", "CHILD_GROUP="+c.group, "CHILD_SECRET="+hex.EncodeToString(c.secret),
		"CHILD_PACKS=3", "CHILD_SEED="+c.obs.Addr())
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		child.Process.Kill()
		stdin.Close()
		child.Wait()
	}()
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "started\n" {
		t.Fatalf("child node: %q", line)
	}
	c.waitReady(10 * time.Second)

	child.Process.Signal(syscall.SIGSTOP)
	c.logs.waitLog(t, "declared dead; waiting for it to refute", 15*time.Second)
	child.Process.Signal(syscall.SIGCONT)
	c.logs.waitLog(t, "came back before its grace ended", 10*time.Second)
	time.Sleep(c.timing.DeadGrace + time.Second)
	if got := c.rec.snapshot(); len(got) != 0 {
		t.Fatalf("a starved pack that came back was reported failed: %v", got)
	}
	if _, ok := c.obs.Packs()[2]; !ok {
		t.Fatalf("pack 2 is not in the observer's view after it came back")
	}

	bound := c.timingOrDefault().FailureBound(4)
	start := time.Now()
	child.Process.Kill()
	c.rec.waitAll(t, c.names(), bound+5*time.Second)
	checkReports(t, c, 2, Dead, c.group+"/pack-2.child")
	t.Logf("killed pack reported by every member in %v (bound %v, with a grace of %v)",
		worstLatency(c, start).Round(time.Millisecond), bound, c.timing.DeadGrace)
}
