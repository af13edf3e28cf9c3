package health

import (
	"testing"
	"time"
)

func TestCooldown(t *testing.T) {
	clk := newFakeClock()
	c := NewCooldown(clk.Now)
	if c.Active() {
		t.Fatal("a new cooldown is active")
	}
	start := clk.Now()
	c.Start(30*time.Second, "rate_limited")
	until, reason, ok := c.State()
	if !ok || !until.Equal(start.Add(30*time.Second)) || reason != "rate_limited" {
		t.Fatalf("State() = %v, %q, %v", until, reason, ok)
	}
	// A shorter cooldown does not cut a longer one short; a longer one
	// extends it.
	c.Start(5*time.Second, "overloaded")
	if until, reason, _ := c.State(); !until.Equal(start.Add(30*time.Second)) || reason != "rate_limited" {
		t.Errorf("a shorter cooldown replaced a longer one: %v %q", until, reason)
	}
	clk.Advance(10 * time.Second)
	c.Start(time.Minute, "quota_exhausted")
	if until, reason, _ := c.State(); !until.Equal(start.Add(70*time.Second)) || reason != "quota_exhausted" {
		t.Errorf("a longer cooldown did not extend: %v %q", until, reason)
	}
	clk.Advance(60*time.Second - time.Nanosecond)
	if !c.Active() {
		t.Error("expired 1ns early")
	}
	clk.Advance(time.Nanosecond)
	if c.Active() {
		t.Error("still active at its end")
	}
	c.Start(time.Minute, "rate_limited")
	c.End()
	if c.Active() {
		t.Error("End left it active")
	}
}
