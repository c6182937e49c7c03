package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/group/metrics"
	"github.com/volley-run/volley/group/trace"
)

// observer is what `volley run` does besides running the group: serve
// Prometheus metrics (--metrics-addr) and write a trace (--trace).
type observer struct {
	log    *slog.Logger
	stderr io.Writer

	m      *metrics.Metrics
	srv    *http.Server
	served chan struct{} // closed when the server has stopped
	addr   string
	linger time.Duration

	// traceFile is a temporary file beside tracePath; it replaces
	// tracePath once the trace is written.
	traceFile *os.File
	tracePath string
}

// startObserving opens what the flags ask for before the group starts, so
// a bad address or an unwritable trace file is a usage error, not a
// failure after the work is done.
func startObserving(f *runFlags, log *slog.Logger, stderr io.Writer) (*observer, error) {
	o := &observer{log: log, stderr: stderr, linger: f.metricsLinger}
	if f.metricsLinger < 0 {
		return nil, usageErr(fmt.Errorf("--metrics-linger %v: must not be negative", f.metricsLinger))
	}
	if f.traceFile != "" {
		tf, err := createBeside(f.traceFile)
		if err != nil {
			return nil, usageErr(fmt.Errorf("--trace: %w", err))
		}
		o.traceFile, o.tracePath = tf, f.traceFile
	}
	if f.metricsAddr != "" {
		m, err := metrics.New(nil)
		if err != nil {
			o.abort()
			return nil, err
		}
		ln, err := net.Listen("tcp", f.metricsAddr)
		if err != nil {
			o.abort()
			return nil, usageErr(fmt.Errorf("--metrics-addr: %w", err))
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		o.m, o.addr = m, ln.Addr().String()
		o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		o.served = make(chan struct{})
		go func() {
			defer close(o.served)
			if err := o.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server stopped", "err", err)
			}
		}()
		fmt.Fprintf(stderr, "volley: metrics on http://%s/metrics\n", o.addr)
	}
	return o, nil
}

// launchOptions asks the containers to record what metrics and traces need.
func (o *observer) launchOptions() []group.LaunchOption {
	var opts []group.LaunchOption
	if o.m != nil {
		opts = append(opts, group.Record(group.RecordTimings))
	}
	if o.traceFile != nil {
		opts = append(opts, group.Record(group.RecordSpans))
	}
	return opts
}

// started counts the group as launched.
func (o *observer) started(app string) {
	if o.m != nil {
		o.m.Started(app)
	}
}

// ended records the group's outcome: res when Launch returned one,
// launchErr otherwise. The trace is written for failed groups too; a
// group that could not be attempted writes none, and leaves a file
// already at the --trace path as it was.
func (o *observer) ended(app string, res *group.Result, launchErr error) error {
	if o.m != nil {
		if launchErr != nil {
			o.m.Failed(app)
		} else {
			o.m.Observe(res)
		}
	}
	if o.traceFile == nil {
		return nil
	}
	if launchErr != nil {
		o.abort()
		return nil
	}
	tf := o.traceFile
	o.traceFile = nil
	err := trace.Write(tf, res)
	if cerr := tf.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tf.Name(), o.tracePath)
	}
	if err != nil {
		os.Remove(tf.Name())
		return fmt.Errorf("--trace %s: %w", o.tracePath, err)
	}
	return nil
}

// createBeside creates a temporary file in path's directory, to be
// renamed to path (so path itself is replaced whole or not at all). A
// directory at path is refused now rather than after the run.
func createBeside(path string) (*os.File, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	tf, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	// CreateTemp's 0600 would be kept by the rename; a trace is for sharing.
	if err := tf.Chmod(0o644); err != nil {
		tf.Close()
		os.Remove(tf.Name())
		return nil, err
	}
	return tf, nil
}

// abort removes the temporary trace file, for a run that never got to
// launch or whose launch failed; the --trace path is left as it was.
func (o *observer) abort() {
	if o.traceFile != nil {
		o.traceFile.Close()
		os.Remove(o.traceFile.Name())
		o.traceFile = nil
	}
}

// close keeps the metrics server up for the linger period (or until ctx
// ends, e.g. on Ctrl-C), then stops it.
func (o *observer) close(ctx context.Context) {
	o.abort()
	if o.srv == nil {
		return
	}
	if o.linger > 0 && ctx.Err() == nil {
		fmt.Fprintf(o.stderr, "volley: serving metrics on http://%s/metrics for %v more (interrupt to stop)\n", o.addr, o.linger)
		t := time.NewTimer(o.linger)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.srv.Shutdown(sctx); err != nil {
		o.srv.Close()
	}
	<-o.served
}
