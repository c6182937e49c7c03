package local

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/volley-run/volley/group"
	"github.com/volley-run/volley/invoker/nethost"
)

func init() {
	group.Register(group.App{Name: "test-ring", Summary: "passes a token around the ring of ranks", Run: func(ctx context.Context, w *group.Worker) (any, error) {
		c := w.Comm()
		next, prev := (c.Rank()+1)%c.Size(), (c.Rank()+c.Size()-1)%c.Size()
		m, err := c.SendRecv(ctx, next, 0, []byte(fmt.Sprintf("from %d", c.Rank())), prev, 0)
		if err != nil {
			return nil, err
		}
		host, _ := os.Hostname()
		return map[string]any{"got": string(m.Data), "pid": os.Getpid(), "host": host}, nil
	}})
}

// netHosts makes n network hosts (invoker/nethost) for the local runtime.
func netHosts(t *testing.T, n int) (gateway string, hosts []Host) {
	t.Helper()
	gateway, made := nethost.Make(t, n)
	for _, h := range made {
		hosts = append(hosts, Host{Netns: h.Netns, Addr: h.Addr})
	}
	return gateway, hosts
}

// TestContainersOnSeparateHosts runs a group whose containers live in
// separate network namespaces, with addresses that exist only there: they
// must find each other through membership and exchange messages.
func TestContainersOnSeparateHosts(t *testing.T) {
	bridge, hosts := netHosts(t, 3)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(Config{Binary: exe, Args: []string{}, Env: []string{envTestWorker + "=1"}, Hosts: hosts, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := group.Launch(ctx, group.Spec{App: "test-ring", Workers: 6, Granularity: 2, Transport: "tcp", ReadyTimeout: 8 * time.Second}, rt, group.BindAddr(bridge))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	for _, rr := range res.Ranks {
		var v struct{ Got string }
		if err := json.Unmarshal(rr.Result, &v); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("from %d", (rr.Rank+5)%6); v.Got != want {
			t.Errorf("rank %d got %q, want %q", rr.Rank, v.Got, want)
		}
	}
	if res.Comm.SentRemoteMsgs == 0 {
		t.Error("no message crossed between hosts")
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("VOLLEY_TEST_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
