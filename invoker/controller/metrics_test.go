package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollectorCountsActivations(t *testing.T) {
	f := serve(t, Config{Cores: 8})
	f.putAction(t, "echo", 10000, nil)
	for range 3 {
		if _, _, err := f.client.Actions.Invoke("echo", map[string]any{"x": 1}, true, true); err != nil {
			t.Fatal(err)
		}
	}
	// A blocking invoke answers before its logs are read; the record
	// (and its count) follows a moment later, with the core.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if s := f.ctl.Stats(); s.Activations == 3 && s.FreeCores == 8 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("stats %+v: 3 activations not recorded", s)
		}
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(f.ctl.Collector()); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP volley_serve_activations_total Finished activations.
# TYPE volley_serve_activations_total counter
volley_serve_activations_total 3
# HELP volley_serve_container_starts_total Activations by how their container started: cold (a new container) or warm (a pooled one).
# TYPE volley_serve_container_starts_total counter
volley_serve_container_starts_total{start="cold"} 1
volley_serve_container_starts_total{start="warm"} 2
# HELP volley_serve_free_cores Cores of the admission budget not taken by a running container.
# TYPE volley_serve_free_cores gauge
volley_serve_free_cores 8
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"volley_serve_activations_total", "volley_serve_container_starts_total", "volley_serve_free_cores"); err != nil {
		t.Fatal(err)
	}
}
