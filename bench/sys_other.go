//go:build !linux

package main

import (
	"os/exec"
	"time"
)

// setDeathSignal does nothing here: only Linux has a parent-death signal.
// The child still exits when its stdin closes, which happens when the
// parent dies.
func setDeathSignal(cmd *exec.Cmd) {}

// preciseSleep sleeps for d.
func preciseSleep(d time.Duration) { time.Sleep(d) }
