// Package stats holds the few statistics an evaluation report needs:
// intervals for pass rates and for paired differences, McNemar's test for
// paired pass/fail outcomes, and sample quantiles. Everything is
// deterministic: the bootstrap takes its seed from the caller, so a report
// computed twice from the same results is the same report.
package stats

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Z returns the two-sided standard normal critical value for a confidence
// level, such as 1.959964 for 0.95.
func Z(level float64) float64 { return NormalQuantile(1 - (1-level)/2) }

// NormalQuantile is the inverse of the standard normal CDF.
func NormalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// Wilson returns the Wilson score interval for k successes in n trials at
// the given confidence level. Unlike the Wald interval it stays inside
// [0, 1] and keeps its coverage for rates near 0 or 1 and for small n,
// which is where evaluation sets live. n == 0 gives [0, 1].
func Wilson(k, n int, level float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	z := Z(level)
	nf := float64(n)
	p := float64(k) / nf
	d := 1 + z*z/nf
	c := (p + z*z/(2*nf)) / d
	h := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / d
	return math.Max(0, c-h), math.Min(1, c+h)
}

// McNemarExact returns the two-sided exact p-value of McNemar's test for
// b and c discordant pairs (pass/fail and fail/pass): under the null
// hypothesis of equal pass rates each discordant pair is a fair coin, so
// the p-value is twice the binomial tail of min(b, c) in b+c flips, capped
// at 1. With no discordant pairs it is 1.
func McNemarExact(b, c int) float64 {
	n := b + c
	if n == 0 {
		return 1
	}
	k := min(b, c)
	// Sum in log space: n may be in the thousands.
	tail := 0.0
	for i := 0; i <= k; i++ {
		tail += math.Exp(logChoose(n, i) - float64(n)*math.Ln2)
	}
	return math.Min(1, 2*tail)
}

func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// McNemarChi2 returns McNemar's statistic with Edwards' continuity
// correction, (|b-c|-1)²/(b+c), and its p-value from the χ² distribution
// with one degree of freedom. With no discordant pairs it returns 0, 1.
func McNemarChi2(b, c int) (stat, p float64) {
	n := b + c
	if n == 0 {
		return 0, 1
	}
	d := math.Max(0, math.Abs(float64(b-c))-1)
	stat = d * d / float64(n)
	// The χ²(1) survival function is erfc(sqrt(x/2)).
	return stat, math.Erfc(math.Sqrt(stat / 2))
}

// Mean returns the arithmetic mean of xs, or NaN for none.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Interval is a point estimate with a two-sided confidence interval.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Lo       float64 `json:"lo"`
	Hi       float64 `json:"hi"`
}

// Width is Hi - Lo.
func (iv Interval) Width() float64 { return iv.Hi - iv.Lo }

// MeanNormal returns the mean of xs with the normal-approximation
// interval mean ± z·sd/√n; it needs len(xs) >= 2 for an interval, and
// gives [mean, mean] for one value.
func MeanNormal(xs []float64, level float64) Interval {
	m := Mean(xs)
	if len(xs) < 2 {
		return Interval{Estimate: m, Lo: m, Hi: m}
	}
	ss := 0.0
	for _, v := range xs {
		ss += (v - m) * (v - m)
	}
	n := float64(len(xs))
	h := Z(level) * math.Sqrt(ss/(n-1)) / math.Sqrt(n)
	return Interval{Estimate: m, Lo: m - h, Hi: m + h}
}

// PairedNormal returns the mean of the paired differences y[i] - x[i] with
// the normal-approximation interval mean ± z·sd/√n. It is the closed form
// the bootstrap converges to for large n; it needs len(x) == len(y) >= 2.
func PairedNormal(x, y []float64, level float64) Interval {
	return MeanNormal(diffs(x, y), level)
}

// PairedBootstrap returns the mean of the paired differences y[i] - x[i]
// with a percentile bootstrap interval: resamples cases (pairs, so the
// correlation between the two models' results on one case is kept) with
// replacement, reps times, from a PCG generator seeded with seed. It makes
// no normality assumption, which matters for 0/1 outcomes on small sets.
func PairedBootstrap(x, y []float64, level float64, reps int, seed uint64) Interval {
	d := diffs(x, y)
	if len(d) == 0 {
		return Interval{Estimate: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	means := make([]float64, reps)
	n := len(d)
	for i := range means {
		s := 0.0
		for range n {
			s += d[r.IntN(n)]
		}
		means[i] = s / float64(n)
	}
	slices.Sort(means)
	a := (1 - level) / 2
	return Interval{Estimate: Mean(d), Lo: quantileSorted(means, a), Hi: quantileSorted(means, 1-a)}
}

func diffs(x, y []float64) []float64 {
	if len(x) != len(y) {
		panic("stats: paired samples of different lengths")
	}
	d := make([]float64, len(x))
	for i := range x {
		d[i] = y[i] - x[i]
	}
	return d
}

// Quantile returns the p-quantile of xs by linear interpolation between
// order statistics (Hyndman and Fan's type 7, the default of R and NumPy),
// or NaN for no values. xs is not modified.
func Quantile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return quantileSorted(s, p)
}

func quantileSorted(s []float64, p float64) float64 {
	h := (float64(len(s)) - 1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (h-lo)*(s[i+1]-s[i])
}
