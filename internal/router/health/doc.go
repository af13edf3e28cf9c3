// Package health tracks how each upstream target has been behaving, so the
// router can stop sending traffic to a target that is failing and can pick
// hedging delays from the latencies it actually sees.
//
// A [Breaker] is a circuit breaker over a sliding window of outcomes; a
// [Latency] keeps the most recent latencies and answers quantile queries
// from a cached sorted copy. Both are safe for concurrent use and cheap
// enough to consult on every request.
package health
