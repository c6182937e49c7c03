package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/action"
	"github.com/volley-run/volley/invoker/controller"
	"github.com/volley-run/volley/invoker/local"
	"github.com/volley-run/volley/invoker/openwhisk"
	"github.com/volley-run/volley/invoker/sandbox"
)

// dirigentSandboxesPerSec is Dirigent's published cold-start throughput
// (SOSP 2024, on their cluster), the reference the serve suite compares to.
const dirigentSandboxesPerSec = 2500

// benchServe measures the embedded controller with real worker processes:
// sandboxes started per second (by the runtime alone, and as cold
// activations through the REST API), warm invocations per second through
// openwhisk-client-go, and time to all-ready of an N-worker group through
// the group endpoint vs ceil(N/g) single activations.
func benchServe(ctx context.Context, w io.Writer, o benchOptions) error {
	if err := benchSandboxRate(ctx, w, o.workers); err != nil {
		return err
	}
	srv, err := startBenchServer()
	if err != nil {
		return err
	}
	defer srv.close()
	if err := benchColdActivations(ctx, w, srv, o.workers); err != nil {
		return err
	}
	if err := benchInvokeRate(ctx, w, srv); err != nil {
		return err
	}
	return benchGroupVsSingles(ctx, w, srv, o)
}

// benchSandboxRate starts n sandboxes through the process runtime (start,
// address report, /init) with several degrees of parallelism. A second
// goroutine destroys them as they come, off the clock's critical path.
func benchSandboxRate(ctx context.Context, w io.Writer, n int) error {
	rt, err := local.New(local.Config{})
	if err != nil {
		return err
	}
	defer rt.Close()
	fmt.Fprintf(w, "sandboxes started per second: %d worker processes, process runtime (start + /init), Dirigent: %d/s on their cluster\n\n", n, dirigentSandboxesPerSec)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "parallel\tsandboxes\tseconds\tper second\tvs Dirigent\t")
	for _, par := range []int{1, 8, 32} {
		el, err := startSandboxes(ctx, rt, n, par)
		if err != nil {
			return err
		}
		rate := float64(n) / el.Seconds()
		fmt.Fprintf(tw, "%d\t%d\t%.2f\t%.0f\t%.2fx\t\n", par, n, el.Seconds(), rate, rate/dirigentSandboxesPerSec)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}

func startSandboxes(ctx context.Context, f sandbox.Factory, n, par int) (time.Duration, error) {
	doomed := make(chan sandbox.Sandbox, n)
	var reaper sync.WaitGroup
	reaper.Add(1)
	go func() {
		defer reaper.Done()
		for sb := range doomed {
			sb.Destroy()
		}
	}()
	defer func() { close(doomed); reaper.Wait() }()
	var next atomic.Int64
	errs := make(chan error, par)
	start := time.Now()
	var wg sync.WaitGroup
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				sb, err := f.Start(ctx, sandbox.Spec{})
				if err != nil {
					errs <- err
					return
				}
				if err := action.NewClient(sb.Addr()).Init(ctx, action.InitValue{Name: "volley", Main: "main"}); err != nil {
					sb.Destroy()
					errs <- err
					return
				}
				doomed <- sb
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return el, nil
}

// benchServer is a controller on loopback whose containers are processes
// of this binary.
type benchServer struct {
	rt      *local.Runtime
	ctl     *controller.Controller
	hs      *http.Server
	apihost string
}

func startBenchServer() (*benchServer, error) {
	rt, err := local.New(local.Config{})
	if err != nil {
		return nil, err
	}
	ctl, err := controller.New(controller.Config{Factory: rt, ResolveImage: processImage, PauseGrace: time.Minute})
	if err != nil {
		rt.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ctl.Close()
		rt.Close()
		return nil, err
	}
	s := &benchServer{rt: rt, ctl: ctl, hs: &http.Server{Handler: ctl.Handler()}, apihost: "http://" + ln.Addr().String()}
	go s.hs.Serve(ln)
	return s, nil
}

func (s *benchServer) close() {
	s.hs.Close()
	s.ctl.Close()
	s.rt.Close()
}

func (s *benchServer) client() (*whisk.Client, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	return whisk.NewClient(&http.Client{Transport: tr, Timeout: time.Minute}, &whisk.Config{Host: s.apihost, AuthToken: controller.GuestAuth})
}

func (s *benchServer) putAction(name string) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	timeout, mem, conc := 60000, 256, 1
	_, _, err = c.Actions.Insert(&whisk.Action{Name: name, Exec: &whisk.Exec{Kind: "blackbox", Image: openwhisk.DefaultImage},
		Limits: &whisk.Limits{Timeout: &timeout, Memory: &mem, Concurrency: &conc}}, true)
	return err
}

// pingTask is the smallest real Volley activation: a one-worker hello
// group (no other pack, so no membership peers).
func pingTask() group.PackTask {
	return group.PackTask{Group: "g-bench", App: "hello", Workers: 1, Granularity: 1, Pack: group.Pack{Index: 0, Lo: 0, Hi: 1},
		Secret: make([]byte, 32), Deadline: time.Now().Add(time.Hour), ReadyDeadline: time.Now().Add(time.Hour), Transport: "tcp"}
}

// benchColdActivations fires n non-blocking activations of a fresh
// action at once, each a one-worker hello pack that holds its container
// for a while, so every one needs a new container. It reports how fast
// the controller got all the containers started (a process up and its
// action port answering; /init follows).
func benchColdActivations(ctx context.Context, w io.Writer, s *benchServer, n int) error {
	name := "bench-cold"
	if err := s.putAction(name); err != nil {
		return err
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	task := pingTask()
	task.Params = group.Params{"sleep": "10s"}
	before := s.ctl.Stats().ColdStarts
	start := time.Now()
	ids := make([]string, n)
	for i := range ids {
		res, _, err := c.Actions.Invoke(name, task, false, false)
		if err != nil {
			return fmt.Errorf("cold invoke: %w", err)
		}
		ids[i], _ = res.(map[string]any)["activationId"].(string)
	}
	fired := time.Since(start)
	deadline := time.Now().Add(2 * time.Minute)
	for s.ctl.Stats().ColdStarts-before < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d containers started within 2 min", s.ctl.Stats().ColdStarts-before, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	el := time.Since(start)
	for _, id := range ids {
		if err := awaitRecord(ctx, c, id); err != nil {
			return err
		}
	}
	rate := float64(n) / el.Seconds()
	fmt.Fprintf(w, "cold activations through volley serve: %d invokes fired in %.2f s, all %d containers started in %.2f s: %.0f sandboxes/s (%.2fx Dirigent's %d/s)\n\n",
		n, fired.Seconds(), n, el.Seconds(), rate, rate/dirigentSandboxesPerSec, dirigentSandboxesPerSec)
	return nil
}

func awaitRecord(ctx context.Context, c *whisk.Client, id string) error {
	for {
		_, resp, err := c.Activations.Get(id)
		if err == nil {
			return nil
		}
		if resp == nil || resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("activation %s: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// benchInvokeRate runs blocking invokes from several clients for two
// seconds each on warm containers: a /run that the worker answers at once
// (an empty value, refused as an application error: the controller and
// protocol path alone) and a one-worker hello pack (a real activation).
func benchInvokeRate(ctx context.Context, w io.Writer, s *benchServer) error {
	task := pingTask()
	payloads := []struct {
		name    string
		value   any
		refused bool // the worker answers with an application error
	}{{"empty value (refused at once)", map[string]string{}, true}, {"hello, 1-worker pack", task, false}}
	fmt.Fprintln(w, "warm invocations per second: blocking invokes through openwhisk-client-go, one container per client")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "payload\tclients\tinvokes\tper second\tmean ms\t")
	for pi, p := range payloads {
		name := fmt.Sprintf("bench-warm-%d", pi)
		if err := s.putAction(name); err != nil {
			return err
		}
		for _, clients := range []int{1, 8} {
			n, el, err := invokeLoop(ctx, s, name, p.value, p.refused, clients, 2*time.Second)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.2f\t\n", p.name, clients, n, float64(n)/el.Seconds(), msf(el)*float64(clients)/float64(n))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}

// invokeLoop warms one container per client, then counts blocking invokes
// completed in d.
func invokeLoop(ctx context.Context, s *benchServer, name string, value any, refused bool, clients int, d time.Duration) (int, time.Duration, error) {
	var count atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	startAt := make(chan struct{})
	var warm sync.WaitGroup
	for range clients {
		c, err := s.client()
		if err != nil {
			return 0, 0, err
		}
		wg.Add(1)
		warm.Add(1)
		go func() {
			defer wg.Done()
			call := func() error {
				_, resp, err := c.Actions.Invoke(name, value, true, true)
				if refused && err != nil && resp != nil && resp.StatusCode == http.StatusBadGateway {
					return nil
				}
				return err
			}
			err := call() // warm-up: this client's container
			warm.Done()
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			<-startAt
			deadline := time.Now().Add(d)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := call(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				count.Add(1)
			}
		}()
	}
	warm.Wait()
	start := time.Now()
	close(startAt)
	wg.Wait()
	el := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, 0, fmt.Errorf("invoke %s: %w", name, err)
	}
	return int(count.Load()), el, nil
}

// benchGroupVsSingles launches an N-worker hello group for each g through
// the openwhisk backend, as one group invoke and as ceil(N/g) single
// activations, cold (a fresh action, so new containers) and warm (again).
func benchGroupVsSingles(ctx context.Context, w io.Writer, s *benchServer, o benchOptions) error {
	fmt.Fprintf(w, "time to all-ready, N=%d hello workers through volley serve: group endpoint vs single activations, median of %d\n\n", o.workers, o.reps)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "g\tcontainers\tgroup cold ms\tsingles cold ms\tgroup warm ms\tsingles warm ms\tsingles/group cold\t")
	for _, g := range o.grains {
		cells := map[string][]time.Duration{}
		containers := 0
		for rep := range o.reps {
			for _, mode := range []string{"on", "off"} {
				rt, err := openwhisk.New(ctx, openwhisk.Config{APIHost: s.apihost, Auth: controller.GuestAuth, GroupInvoke: mode,
					Action: fmt.Sprintf("bench-g%d-%s-%d", g, mode, rep), Timeout: 2 * time.Minute})
				if err != nil {
					return err
				}
				for _, temp := range []string{"cold", "warm"} {
					res, err := group.Launch(ctx, group.Spec{App: "hello", Workers: o.workers, Granularity: g, Timeout: 2 * time.Minute, Transport: "tcp"}, rt)
					if err != nil {
						return err
					}
					if err := res.Err(); err != nil {
						return fmt.Errorf("g=%d group invoke %s, %s: %w", g, mode, temp, err)
					}
					cells[mode+temp] = append(cells[mode+temp], res.Ready)
					containers = res.Containers
				}
			}
		}
		gc, sc, gw, sw := median(cells["oncold"]), median(cells["offcold"]), median(cells["onwarm"]), median(cells["offwarm"])
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.2fx\t\n", g, containers, msf(gc), msf(sc), msf(gw), msf(sw), ratio(sc, gc))
	}
	return tw.Flush()
}
