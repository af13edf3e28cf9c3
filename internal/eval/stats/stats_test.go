package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) {
		t.Errorf("%s = %.6g, want %.6g (±%g)", what, got, want, tol)
	}
}

func TestZ(t *testing.T) {
	near(t, "Z(0.95)", Z(0.95), 1.959964, 1e-6)
	near(t, "Z(0.90)", Z(0.90), 1.644854, 1e-6)
}

// The reference values are the textbook example (81 of 263, Wilson 1927 as
// reproduced in Newcombe 1998 and Wikipedia's "Binomial proportion
// confidence interval") and the closed form computed independently in
// Python with statistics.NormalDist.
func TestWilson(t *testing.T) {
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{
		{81, 263, 0.255289, 0.366210},
		{0, 10, 0, 0.277533},
		{10, 10, 0.722467, 1},
		{24, 30, 0.626943, 0.904949},
	} {
		lo, hi := Wilson(c.k, c.n, 0.95)
		near(t, "lo", lo, c.lo, 5e-6)
		near(t, "hi", hi, c.hi, 5e-6)
	}
	if lo, hi := Wilson(0, 0, 0.95); lo != 0 || hi != 1 {
		t.Errorf("no trials: [%g, %g], want [0, 1]", lo, hi)
	}
}

// McNemar on Wikipedia's example table (a=101, b=121, c=59, d=33) and on a
// small one where the exact and asymptotic tests differ, with reference
// values from Python (math.comb for the binomial tail, math.erfc for χ²).
func TestMcNemar(t *testing.T) {
	near(t, "exact(121,59)", McNemarExact(121, 59), 4.434449e-6, 1e-11)
	stat, p := McNemarChi2(121, 59)
	near(t, "chi2(121,59)", stat, 20.672222, 1e-6)
	near(t, "p(121,59)", p, 5.450095e-6, 1e-11)

	near(t, "exact(2,9)", McNemarExact(2, 9), 0.0654296875, 1e-12) // 134/2048
	near(t, "exact(9,2)", McNemarExact(9, 2), 0.0654296875, 1e-12)
	stat, p = McNemarChi2(2, 9)
	near(t, "chi2(2,9)", stat, 36.0/11, 1e-12)
	near(t, "p(2,9)", p, 0.070440, 1e-6)

	if p := McNemarExact(5, 5); p != 1 {
		t.Errorf("exact(5,5) = %g, want 1 (capped)", p)
	}
	if p := McNemarExact(0, 0); p != 1 {
		t.Errorf("exact(0,0) = %g, want 1", p)
	}
}

// With many pairs the percentile bootstrap of a paired mean difference
// converges to the normal closed form mean ± z·sd/√n.
func TestPairedBootstrapConvergesToNormal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4000
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		// Correlated 0/1 outcomes: y copies x 70% of the time.
		if r.Float64() < 0.6 {
			x[i] = 1
		}
		y[i] = x[i]
		if r.Float64() < 0.3 {
			y[i] = 0
			if r.Float64() < 0.75 {
				y[i] = 1
			}
		}
	}
	b := PairedBootstrap(x, y, 0.95, 4000, 42)
	c := PairedNormal(x, y, 0.95)
	near(t, "estimate", b.Estimate, c.Estimate, 1e-12)
	// The normal half-width here is about 0.013; allow 10% of it.
	tol := 0.1 * (c.Hi - c.Estimate)
	near(t, "lo", b.Lo, c.Lo, tol)
	near(t, "hi", b.Hi, c.Hi, tol)
	if c.Hi-c.Lo < 0.01 {
		t.Fatalf("degenerate data: normal interval %+v", c)
	}

	// The same seed gives the same interval; another seed does not.
	if again := PairedBootstrap(x, y, 0.95, 4000, 42); again != b {
		t.Errorf("bootstrap is not deterministic: %+v then %+v", b, again)
	}
	if other := PairedBootstrap(x, y, 0.95, 4000, 43); other == b {
		t.Errorf("the seed is ignored")
	}
}

func TestPairedBootstrapConstant(t *testing.T) {
	x := []float64{0, 0, 1, 1}
	y := []float64{1, 1, 2, 2}
	iv := PairedBootstrap(x, y, 0.95, 100, 1)
	if iv.Estimate != 1 || iv.Lo != 1 || iv.Hi != 1 {
		t.Errorf("constant difference: %+v, want 1 [1, 1]", iv)
	}
}

func TestMeanNormal(t *testing.T) {
	// mean 3, sd √2.5, se √0.5: 3 ± 1.959964·0.707107.
	iv := MeanNormal([]float64{1, 2, 3, 4, 5}, 0.95)
	near(t, "mean", iv.Estimate, 3, 0)
	near(t, "lo", iv.Lo, 1.614096, 1e-6)
	near(t, "hi", iv.Hi, 4.385904, 1e-6)
	if one := MeanNormal([]float64{0.5}, 0.95); one.Lo != 0.5 || one.Hi != 0.5 {
		t.Errorf("one value: %+v", one)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{4, 1, 3, 2}
	near(t, "p50", Quantile(xs, 0.5), 2.5, 1e-12)
	near(t, "p95", Quantile(xs, 0.95), 3.85, 1e-12)
	near(t, "p0", Quantile(xs, 0), 1, 0)
	near(t, "p100", Quantile(xs, 1), 4, 0)
	if xs[0] != 4 {
		t.Error("Quantile sorted its argument")
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("Quantile of nothing is not NaN")
	}
}
