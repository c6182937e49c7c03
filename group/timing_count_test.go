package group

import "testing"

func TestCountReplicas(t *testing.T) {
	got := countReplicas([]ReplicaSummary{
		{Pack: 0, Replica: 0, Outcome: "lost"}, {Pack: 0, Replica: 1, Outcome: "won"},
		{Pack: 1, Replica: 0, Outcome: "won"}, {Pack: 1, Replica: 1, Outcome: "failed"},
		{Pack: 1, Replica: 2, Outcome: "cancelled"},
	})
	if want := (SpeculationStats{Launched: 5, Won: 2, Lost: 1, Failed: 1, Cancelled: 1}); got != want {
		t.Fatalf("countReplicas = %+v, want %+v", got, want)
	}
	if got := countReplicas(nil); got != (SpeculationStats{}) {
		t.Fatalf("no speculation gave %+v", got)
	}
}
