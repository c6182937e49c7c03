package group

import "fmt"

// Pack is one container's share of a group: the contiguous ranks [Lo, Hi).
type Pack struct {
	Index int `json:"pack"`
	Lo    int `json:"lo"`
	Hi    int `json:"hi"`
}

// Size is the number of workers in the pack.
func (p Pack) Size() int { return p.Hi - p.Lo }

// PlanPacks splits ranks 0..n-1 into ceil(n/g) packs of g contiguous ranks;
// the last pack holds the remainder when g does not divide n. g above n is
// treated as n (one pack).
func PlanPacks(n, g int) ([]Pack, error) {
	if n < 1 {
		return nil, fmt.Errorf("%w: workers must be >= 1, got %d", ErrBadSpec, n)
	}
	if g < 1 {
		return nil, fmt.Errorf("%w: granularity must be >= 1, got %d", ErrBadSpec, g)
	}
	if g > n {
		g = n
	}
	packs := make([]Pack, 0, (n+g-1)/g)
	for lo := 0; lo < n; lo += g {
		packs = append(packs, Pack{Index: len(packs), Lo: lo, Hi: min(lo+g, n)})
	}
	return packs, nil
}

// PackOf returns the index of the pack that holds rank when ranks are packed
// g to a container.
func PackOf(rank, g int) int { return rank / g }
