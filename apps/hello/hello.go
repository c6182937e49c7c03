// Package hello is the smallest Volley app: every rank reports who and where
// it is. Its fault-injection parameters let users and tests check how the
// platform reports failures.
package hello

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/volley-run/volley/group"
)

// Result is what each rank returns.
type Result struct {
	Rank int    `json:"rank"`
	Size int    `json:"size"`
	Pack int    `json:"pack"`
	PID  int    `json:"pid"`
	Host string `json:"host"`
	// Procs is the container's GOMAXPROCS: its share of the cores.
	Procs int `json:"procs"`
}

func init() {
	group.Register(group.App{
		Name:    "hello",
		Summary: "every rank returns its rank, size, pack, pid, host and GOMAXPROCS",
		Params: map[string]string{
			"sleep": "duration each rank sleeps before answering (e.g. 2s); stops early when the group is cancelled",
			"fail":  "rank that returns an error (fault injection)",
			"panic": "rank that panics (fault injection)",
		},
		Check: func(p group.Params) error {
			_, err := parseParams(p)
			return err
		},
		Run: Run,
	})
}

// params are hello's parameters, parsed.
type params struct {
	sleep               time.Duration
	failRank, panicRank int
}

// parseParams reads sleep (a duration), fail and panic (ranks; -1, none,
// when absent). Its errors name the parameter and wrap group.ErrBadSpec.
func parseParams(p group.Params) (params, error) {
	var out params
	var err error
	if out.sleep, err = p.Duration("sleep", 0); err != nil {
		return params{}, err
	}
	if out.failRank, err = p.Int("fail", -1); err != nil {
		return params{}, err
	}
	if out.panicRank, err = p.Int("panic", -1); err != nil {
		return params{}, err
	}
	return out, nil
}

// Run is hello's worker function.
func Run(ctx context.Context, w *group.Worker) (any, error) {
	p, err := parseParams(w.Params())
	if err != nil {
		return nil, err
	}
	if p.sleep > 0 {
		t := time.NewTimer(p.sleep)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, fmt.Errorf("sleep interrupted: %w", context.Cause(ctx))
		}
	}
	switch w.Rank() {
	case p.failRank:
		return nil, errors.New("injected failure (fail parameter)")
	case p.panicRank:
		panic("injected panic (panic parameter)")
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("hostname: %w", err)
	}
	return Result{Rank: w.Rank(), Size: w.Size(), Pack: w.Pack().Index, PID: os.Getpid(), Host: host, Procs: runtime.GOMAXPROCS(0)}, nil
}
