// Package health tracks how each upstream target has been behaving, so the
// router can prefer targets that serve and can pick hedging delays from the
// latencies it actually sees.
//
// A [Breaker] is a circuit breaker over a sliding window of outcomes; a
// [Cooldown] is the rest a vendor asked for (a rate limit); a [Latency]
// keeps the most recent latencies and answers quantile queries from a
// cached sorted copy. All are safe for concurrent use and cheap enough to
// consult on every request. How the router uses them is in
// docs/routing.md.
package health
