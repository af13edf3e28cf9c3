package router

import (
	"fmt"
	"testing"
)

func split(weights ...float64) *Route {
	rt := &Route{Name: "chat-default"}
	total := 0.0
	for _, w := range weights {
		total += w
	}
	for i, w := range weights {
		rt.Targets = append(rt.Targets, Target{stub{"p"}, fmt.Sprint("m", i)})
		rt.Weights = append(rt.Weights, w/total)
	}
	return rt
}

// chiSquared is Pearson's statistic of observed counts against the
// expected shares.
func chiSquared(observed []int, shares []float64) float64 {
	n := 0
	for _, o := range observed {
		n += o
	}
	x := 0.0
	for i, o := range observed {
		e := shares[i] * float64(n)
		x += (float64(o) - e) * (float64(o) - e) / e
	}
	return x
}

// The split follows the weights: a chi-squared goodness-of-fit test at
// α = 0.001 over 20,000 distinct units. The hash is deterministic, so this
// cannot flake; it fails if the mapping is biased.
func TestSplitRatios(t *testing.T) {
	tests := []struct {
		weights  []float64
		critical float64 // χ² at α = 0.001 for len(weights)-1 degrees of freedom
	}{
		{[]float64{90, 10}, 10.83},
		{[]float64{50, 30, 20}, 13.82},
		{[]float64{1, 1, 1, 1}, 16.27},
	}
	for _, tt := range tests {
		rt := split(tt.weights...)
		idx := map[string]int{}
		for i, tg := range rt.Targets {
			idx[tg.Model] = i
		}
		counts := make([]int, len(tt.weights))
		for u := range 20000 {
			counts[idx[rt.Pick(fmt.Sprint("key:", u)).Model]]++
		}
		if x := chiSquared(counts, rt.Weights); x > tt.critical {
			t.Errorf("weights %v: counts %v, χ² = %.2f > %.2f", tt.weights, counts, x, tt.critical)
		}
	}
}

func TestSplitSticky(t *testing.T) {
	rt := split(50, 50)
	for u := range 1000 {
		unit := fmt.Sprint("user:", u)
		first := rt.Pick(unit)
		for range 3 {
			if rt.Pick(unit) != first {
				t.Fatalf("unit %s moved between calls", unit)
			}
		}
	}
}

// Ramping a challenger from 10% to 30% moves units only from the incumbent
// to the challenger, and about 20% of them.
func TestSplitRamp(t *testing.T) {
	before, after := split(90, 10), split(70, 30)
	moved := 0
	const n = 20000
	for u := range n {
		unit := fmt.Sprint("key:", u)
		b, a := before.Pick(unit).Model, after.Pick(unit).Model
		if b == a {
			continue
		}
		if b != "m0" || a != "m1" {
			t.Fatalf("unit %s moved from %s to %s", unit, b, a)
		}
		moved++
	}
	if share := float64(moved) / n; share < 0.18 || share > 0.22 {
		t.Errorf("%.3f of units moved, want about 0.20", share)
	}
}

func TestSplitZeroWeight(t *testing.T) {
	rt := split(1, 0)
	for u := range 1000 {
		if rt.Pick(fmt.Sprint(u)).Model != "m0" {
			t.Fatal("a target with weight 0 got traffic")
		}
	}
}
