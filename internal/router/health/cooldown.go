package health

import (
	"sync"
	"time"
)

// Cooldown is a target's rest after its vendor asked for one: a 429, a 503
// with retry-after, an exhausted quota. Such an answer says the vendor is
// up but will not serve right now, so it is no failure for the [Breaker];
// a cooling target is merely passed over while another can serve (see
// docs/routing.md).
//
// A Cooldown is safe for concurrent use.
type Cooldown struct {
	now func() time.Time

	mu     sync.Mutex
	until  time.Time
	reason string
}

// NewCooldown returns a target that is not cooling down. now is its
// clock; nil means time.Now.
func NewCooldown(now func() time.Time) *Cooldown {
	if now == nil {
		now = time.Now
	}
	return &Cooldown{now: now}
}

// Start cools the target down for d from now, for reason (such as
// "rate_limited"). A cooldown already running that ends later is kept: a
// vendor's longer wait is not cut short by a shorter one.
func (c *Cooldown) Start(d time.Duration, reason string) {
	until := c.now().Add(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	if until.After(c.until) {
		c.until, c.reason = until, reason
	}
}

// End ends a cooldown early: the target has just served a request.
func (c *Cooldown) End() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.until, c.reason = time.Time{}, ""
}

// Active reports whether the target is cooling down now.
func (c *Cooldown) Active() bool {
	_, _, ok := c.State()
	return ok
}

// State returns when the running cooldown ends and why it began; ok is
// false when the target is not cooling down.
func (c *Cooldown) State() (until time.Time, reason string, ok bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !now.Before(c.until) {
		return time.Time{}, "", false
	}
	return c.until, c.reason, true
}
