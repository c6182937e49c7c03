package group

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestPlanPacks(t *testing.T) {
	tests := []struct {
		n, g  int
		sizes []int
	}{
		{64, 8, []int{8, 8, 8, 8, 8, 8, 8, 8}},
		{10, 4, []int{4, 4, 2}},
		{3, 1, []int{1, 1, 1}},
		{5, 5, []int{5}},
		{5, 9, []int{5}},
		{1, 1, []int{1}},
	}
	for _, tt := range tests {
		packs, err := PlanPacks(tt.n, tt.g)
		if err != nil {
			t.Fatalf("PlanPacks(%d,%d): %v", tt.n, tt.g, err)
		}
		var sizes []int
		next := 0
		for i, p := range packs {
			if p.Index != i || p.Lo != next {
				t.Fatalf("PlanPacks(%d,%d): pack %d = %+v, want index %d starting at %d", tt.n, tt.g, i, p, i, next)
			}
			for r := p.Lo; r < p.Hi; r++ {
				if got := PackOf(r, min(tt.g, tt.n)); got != i {
					t.Fatalf("PackOf(%d,%d) = %d, want %d", r, tt.g, got, i)
				}
			}
			next = p.Hi
			sizes = append(sizes, p.Size())
		}
		if next != tt.n || !reflect.DeepEqual(sizes, tt.sizes) {
			t.Errorf("PlanPacks(%d,%d) sizes %v (covering %d), want %v", tt.n, tt.g, sizes, next, tt.sizes)
		}
	}
}

func TestPlanPacksRejects(t *testing.T) {
	for _, c := range [][2]int{{0, 1}, {-1, 1}, {4, 0}, {4, -2}} {
		if _, err := PlanPacks(c[0], c[1]); !errors.Is(err, ErrBadSpec) {
			t.Errorf("PlanPacks(%d,%d) err = %v, want ErrBadSpec", c[0], c[1], err)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	ok := Spec{App: "hello", Workers: 4, Granularity: 2}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	bad := map[string]Spec{
		"no app":      {Workers: 1, Granularity: 1},
		"n=0":         {App: "a", Workers: 0, Granularity: 1},
		"g=0":         {App: "a", Workers: 1, Granularity: 0},
		"neg timeout": {App: "a", Workers: 1, Granularity: 1, Timeout: -1},
	}
	for name, s := range bad {
		if err := s.Validate(); !errors.Is(err, ErrBadSpec) {
			t.Errorf("%s: err = %v, want ErrBadSpec", name, err)
		}
	}
}

func TestSpecAutoMembershipTiming(t *testing.T) {
	for _, tc := range []struct {
		workers, g int
		want       string
	}{
		{64, 2, "default"},  // 32 packs
		{66, 2, "dense"},    // 33
		{256, 2, "dense"},   // 128
		{258, 2, "crowded"}, // 129
		{256, 1, "crowded"},
	} {
		if got := (Spec{App: "a", Workers: tc.workers, Granularity: tc.g}).withDefaults().MembershipTiming; got != tc.want {
			t.Errorf("N=%d g=%d: timing %q, want %q", tc.workers, tc.g, got, tc.want)
		}
	}
	if got := (Spec{App: "a", Workers: 256, Granularity: 1, MembershipTiming: "default"}).withDefaults().MembershipTiming; got != "default" {
		t.Errorf("an explicit timing was replaced by %q", got)
	}
	if err := (Spec{App: "a", Workers: 1, Granularity: 1, MembershipTiming: "lazy"}).Validate(); !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), "crowded") {
		t.Errorf("unknown timing: %v", err)
	}
}
