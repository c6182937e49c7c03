package sleepexp

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestRunTimeIsSeededExponential(t *testing.T) {
	if RunTime(7, 3, 1, 100) != RunTime(7, 3, 1, 100) {
		t.Fatal("same seed, rank and replica draw different times")
	}
	if RunTime(7, 3, 0, 100) == RunTime(7, 3, 1, 100) {
		t.Fatal("two replicas of a rank draw the same time")
	}
	// Mean and the exponential's P(X > mean) = 1/e, over many streams.
	const n, mean = 20000, 100.0
	var sum float64
	over := 0
	for i := range n {
		d := float64(RunTime(uint64(i), i%64, i%3, mean)) / float64(time.Millisecond)
		sum += d
		if d > mean {
			over++
		}
	}
	if got := sum / n; math.Abs(got-mean)/mean > 0.03 {
		t.Errorf("mean %.1f ms, want %.0f within 3%%", got, mean)
	}
	if got := float64(over) / n; math.Abs(got-1/math.E) > 0.02 {
		t.Errorf("P(X > mean) = %.3f, want 1/e = 0.368", got)
	}
}

func TestDelayedFraction(t *testing.T) {
	const n = 20000
	k := 0
	for i := range n {
		if Delayed(uint64(i/100), i%100, 0, 0.1) {
			k++
		}
	}
	if got := float64(k) / n; math.Abs(got-0.1) > 0.01 {
		t.Errorf("delayed fraction %.3f, want 0.10", got)
	}
	if Delayed(1, 0, 0, 0) || !Delayed(1, 0, 0, 1) {
		t.Error("frac 0 or 1 not honoured")
	}
}

func TestSleepStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	t0 := time.Now()
	err := sleep(ctx, time.Minute)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("sleep = %v, want cancelled", err)
	}
	if took := time.Since(t0); took > time.Second {
		t.Errorf("cancelled sleep returned after %v", took)
	}
	if err := sleep(context.Background(), 5*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
