package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/volley-run/volley/invoker/controller"
	"github.com/volley-run/volley/invoker/docker"
	"github.com/volley-run/volley/invoker/local"
	"github.com/volley-run/volley/invoker/sandbox"
)

// serveFlags are the flags of `volley serve`.
type serveFlags struct {
	listen       string
	addrFile     string
	runtime      string
	auth         []string
	cores        int
	pauseGrace   time.Duration
	idleTimeout  time.Duration
	maxTimeout   time.Duration
	workerBinary string
	image        string
}

func newServeCmd(g *globalFlags) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--runtime process|docker]",
		Short: "Run the embedded OpenWhisk-compatible controller",
		Long: `serve runs an in-memory controller that speaks the part of the OpenWhisk REST
API that wsk and openwhisk-client-go use (actions, invoke, activations,
namespaces, basic auth), and runs activations as containers over the
OpenWhisk action protocol, with a warm pool and core-granular admission.
POST on an action with ?granularity=G and {"value": [one entry per worker]}
invokes a whole group, admitted at once or queued.`,
		Example: `  volley serve --listen 127.0.0.1:3233
  wsk property set --apihost http://127.0.0.1:3233 --auth ` + controller.GuestAuth,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, g, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:3233", "address of the REST API")
	fl.StringVar(&f.addrFile, "addr-file", "", "write the REST API's host:port to this file once listening (with --listen 127.0.0.1:0, to find the port)")
	fl.StringVar(&f.runtime, "runtime", "process", "what containers are: process (worker processes) or docker (containers of the action's image)")
	fl.StringArrayVar(&f.auth, "auth", nil, "credential [NAMESPACE=]UUID:KEY (repeatable; default: OpenWhisk's guest credential; namespace default guest)")
	fl.IntVar(&f.cores, "cores", 1024, "admission budget: each running container takes one core")
	fl.DurationVar(&f.pauseGrace, "pause-grace", 10*time.Second, "idle time before a warm container is paused")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 10*time.Minute, "paused time before a warm container is removed")
	fl.DurationVar(&f.maxTimeout, "max-action-timeout", 5*time.Minute, "largest action time limit accepted")
	fl.StringVar(&f.workerBinary, "worker-binary", "", "worker executable for the process runtime (default: this volley binary)")
	fl.StringVar(&f.image, "image", docker.DefaultImage, "worker image for the docker runtime, used by actions that name no image of their own")
	return cmd
}

// parseAuth reads --auth values into credential -> namespace.
func parseAuth(vals []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range vals {
		ns, cred := "guest", v
		if i := strings.Index(v, "="); i >= 0 {
			ns, cred = v[:i], v[i+1:]
		}
		if u, k, ok := strings.Cut(cred, ":"); !ok || u == "" || k == "" || ns == "" {
			return nil, fmt.Errorf("--auth %q: want [NAMESPACE=]UUID:KEY", v)
		}
		out[cred] = ns
	}
	return out, nil
}

// sandboxRuntime builds a container runtime for `volley serve`: the
// factory, how to close it, and how action images map to what it starts.
type sandboxRuntime func(f *serveFlags, g *globalFlags, log *slog.Logger) (sandbox.Factory, func() error, func(string) string, error)

// sandboxRuntimes are the values of --runtime; a new runtime is one entry.
var sandboxRuntimes = map[string]sandboxRuntime{
	"process": newProcessRuntime,
}

// newProcessRuntime runs containers as worker processes.
func newProcessRuntime(f *serveFlags, g *globalFlags, log *slog.Logger) (sandbox.Factory, func() error, func(string) string, error) {
	rt, err := local.New(local.Config{Binary: f.workerBinary, Env: []string{"VOLLEY_LOG_LEVEL=" + g.logLevel}, Logger: log})
	if err != nil {
		return nil, nil, nil, err
	}
	return rt, rt.Close, processImage, nil
}

// processImage maps an action's image for the process runtime: an absolute
// path is a worker executable; any other image name (a Docker image) runs
// as the default worker binary.
func processImage(image string) string {
	if strings.HasPrefix(image, "/") {
		return image
	}
	return ""
}

func runServe(cmd *cobra.Command, g *globalFlags, f *serveFlags) error {
	log, err := g.stderrLogger()
	if err != nil {
		return err
	}
	auth, err := parseAuth(f.auth)
	if err != nil {
		return usageErr(err)
	}
	if f.cores < 1 {
		return usageErr(fmt.Errorf("--cores must be >= 1, got %d", f.cores))
	}
	newRuntime, ok := sandboxRuntimes[f.runtime]
	if !ok {
		return usageErr(fmt.Errorf("--runtime %q: want one of %s", f.runtime, strings.Join(slices.Sorted(maps.Keys(sandboxRuntimes)), ", ")))
	}
	factory, closeFactory, resolve, err := newRuntime(f, g, log)
	if err != nil {
		return usageErr(err)
	}
	defer closeFactory()
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return usageErr(fmt.Errorf("--listen %s: %w", f.listen, err))
	}
	apiHost := "http://" + ln.Addr().String()
	ctl, err := controller.New(controller.Config{
		Factory: factory, Auth: auth, ResolveImage: resolve, APIHost: apiHost, Cores: f.cores,
		PauseGrace: f.pauseGrace, IdleTimeout: f.idleTimeout, MaxTimeout: f.maxTimeout, Logger: log,
	})
	if err != nil {
		ln.Close()
		return usageErr(err)
	}
	defer ctl.Close()
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: withMetrics(ctl), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(cmd.ErrOrStderr(), "volley serve: OpenWhisk API on %s (runtime %s, %d cores)\n", apiHost, f.runtime, f.cores)
	if f.addrFile != "" {
		if err := writeAddrFile(f.addrFile, ln.Addr().String()); err != nil {
			hs.Close()
			return failedErr(err)
		}
	}
	select {
	case err := <-errc:
		return failedErr(fmt.Errorf("serve: %w", err))
	case <-ctx.Done():
	}
	ctl.Close() // in-flight activations end now, so their requests can finish
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintln(os.Stderr, "volley serve: shutdown:", err)
	}
	return nil
}

// withMetrics serves the controller's API and, on /metrics (no
// credentials, as Prometheus scrapes), its figures plus the Go runtime's
// and the process's.
func withMetrics(ctl *controller.Controller) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(ctl.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", ctl.Handler())
	return mux
}

// writeAddrFile writes addr to path whole or not at all (through a
// temporary file and a rename), so that a reader polling for it never sees
// half an address.
func writeAddrFile(path, addr string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(addr+"\n"), 0o644); err != nil {
		return fmt.Errorf("--addr-file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("--addr-file: %w", err)
	}
	return nil
}
