package faults

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/controller"
	"github.com/volley-run/volley/invoker/openwhisk"
	"github.com/volley-run/volley/invoker/proctest"
	"github.com/volley-run/volley/invoker/sandbox"
)

// usage is what a launcher holds; after a group ends it must be back where
// it was.
type usage struct {
	children   int
	goroutines int
	fds        int
	heap       uint64 // bytes in use after a GC
}

func measure(t *testing.T) usage {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return usage{children: len(proctest.Children(t)), goroutines: runtime.NumGoroutine(), fds: len(fds), heap: ms.HeapInuse}
}

// settle measures until the goroutines and descriptors of finished groups
// are gone (their last goodbyes take a moment), or the deadline passes.
// closeIdle, when not nil, first drops idle keep-alive HTTP connections:
// a client's pool of them may grow up to its bound and is not a leak.
func settle(t *testing.T, base usage, closeIdle func()) usage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if closeIdle != nil {
			closeIdle()
		}
		u := measure(t)
		if (u.goroutines <= base.goroutines && u.fds <= base.fds) || time.Now().After(deadline) {
			return u
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// soak runs 200 groups in a row (N=32, g=8) on rt and checks that
// processes, goroutines, open descriptors and memory come back to what they
// were after the first group (which filled the warm pool). coldStarts
// reports how many containers were started so far; closeIdle is for settle.
func soak(t *testing.T, rt group.Runtime, coldStarts func() int, closeIdle func()) {
	spec := group.Spec{App: "fault-ring", Workers: 32, Granularity: 8, Timeout: time.Minute}
	run := func(i int) {
		res, err := group.Launch(context.Background(), spec, rt)
		if err != nil {
			t.Fatalf("group %d: %v", i, err)
		}
		if err := res.Err(); err != nil {
			t.Fatalf("group %d: %v", i, err)
		}
	}
	run(0)
	base := settle(t, usage{goroutines: 1 << 30, fds: 1 << 30}, closeIdle)
	t0 := time.Now()
	const groups = 200
	for i := 1; i < groups; i++ {
		run(i)
	}
	took := time.Since(t0)
	after := settle(t, base, closeIdle)
	t.Logf("%d groups in %v (%.1f ms each); before %+v, after %+v", groups-1, took.Round(time.Millisecond),
		float64(took.Milliseconds())/float64(groups-1), base, after)
	if after.children != base.children {
		t.Errorf("worker processes: %d after the soak, %d before", after.children, base.children)
	}
	if after.goroutines > base.goroutines {
		t.Errorf("goroutines: %d after the soak, %d before", after.goroutines, base.goroutines)
	}
	if after.fds > base.fds {
		t.Errorf("open descriptors: %d after the soak, %d before", after.fds, base.fds)
	}
	// The heap may wander a little (GC pacing, pooled buffers), never grow
	// by what 199 groups would leave behind.
	const heapSlack = 8 << 20
	if after.heap > base.heap+heapSlack {
		t.Errorf("heap in use: %d MiB after the soak, %d MiB before", after.heap>>20, base.heap>>20)
	}
	if n := coldStarts(); n != 4 {
		t.Errorf("%d cold starts over %d groups of 4 packs, want 4 (the warm pool reused)", n, groups)
	}
}

// TestSoak200Groups soaks the local runtime directly.
func TestSoak200Groups(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: 200 groups; skipped with -short")
	}
	rt := newRuntime(t, nil)
	soak(t, rt, func() int { return rt.Stats().ColdStarts }, nil)
}

// TestSoak200GroupsOnServe soaks the path a cluster takes: the openwhisk
// backend (openwhisk-client-go) against one embedded controller (`volley
// serve`'s), whose containers are worker processes.
func TestSoak200GroupsOnServe(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: 200 groups; skipped with -short")
	}
	started := &countingFactory{Factory: newRuntime(t, nil)}
	ctl, err := controller.New(controller.Config{Factory: started, ResolveImage: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ctl.Handler())
	t.Cleanup(func() { srv.Close(); ctl.Close() }) // before rt.Close
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	ow, err := openwhisk.New(ctx, openwhisk.Config{APIHost: srv.URL, Auth: controller.GuestAuth, GroupInvoke: "on",
		HTTPClient: &http.Client{Timeout: time.Minute, Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	soak(t, ow, func() int { return int(started.n.Load()) }, tr.CloseIdleConnections)
}

// countingFactory counts the containers a Factory started.
type countingFactory struct {
	sandbox.Factory
	n atomic.Int32
}

func (f *countingFactory) Start(ctx context.Context, spec sandbox.Spec) (sandbox.Sandbox, error) {
	sb, err := f.Factory.Start(ctx, spec)
	if err == nil {
		f.n.Add(1)
	}
	return sb, err
}
