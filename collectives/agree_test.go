package collectives

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestAgreeError: with no failure every rank gets nil; with failures every
// rank gets the lowest failing rank's error, that rank its own (wrapped
// errors intact), across packs and inside one.
func TestAgreeError(t *testing.T) {
	for _, s := range []struct{ n, g int }{{1, 1}, {5, 2}, {8, 8}, {7, 3}} {
		for _, failing := range [][]int{nil, {s.n - 1}, {s.n / 2, s.n - 1}} {
			own := errors.New("disk on fire")
			errs := group(t, newMemNet(s.n, s.g), 30*time.Second, nil, nil, func(ctx context.Context, c *Collectives) error {
				var err error
				for _, f := range failing {
					if c.Rank() == f {
						err = fmt.Errorf("rank-local step of %d: %w", f, own)
					}
				}
				return c.AgreeError(ctx, err)
			})
			for r, err := range errs {
				switch {
				case len(failing) == 0 && err != nil:
					t.Errorf("N=%d g=%d no failure: rank %d got %v", s.n, s.g, r, err)
				case len(failing) == 0:
				case r == failing[0] && !errors.Is(err, own):
					t.Errorf("N=%d g=%d: failing rank %d got %v, want its own error", s.n, s.g, r, err)
				case r != failing[0] && (err == nil || err.Error() != fmt.Sprintf("rank %d: rank-local step of %d: disk on fire", failing[0], failing[0])):
					t.Errorf("N=%d g=%d failing %v: rank %d got %v", s.n, s.g, failing, r, err)
				}
			}
		}
	}
}

// TestAgreeErrorCutsLongText: a text longer than MaxAgreedErrorText
// arrives cut to that length.
func TestAgreeErrorCutsLongText(t *testing.T) {
	long := strings.Repeat("x", 3*MaxAgreedErrorText)
	errs := group(t, newMemNet(3, 1), 30*time.Second, nil, nil, func(ctx context.Context, c *Collectives) error {
		var err error
		if c.Rank() == 0 {
			err = errors.New(long)
		}
		return c.AgreeError(ctx, err)
	})
	if want := "rank 0: " + long[:MaxAgreedErrorText]; errs[1] == nil || errs[1].Error() != want {
		t.Fatalf("rank 1 got %d bytes of error, want %d", len(fmt.Sprint(errs[1])), len(want))
	}
}
