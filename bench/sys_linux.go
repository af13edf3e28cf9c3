package main

import (
	"os/exec"
	"syscall"
	"time"
)

// setDeathSignal has the kernel kill the child when the parent dies, even
// by SIGKILL or a crash that skips deferred cleanup.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// preciseSleep sleeps for d in the kernel rather than on a Go timer: an
// idle Go runtime fires timers with about a millisecond of slack, which
// would make the open-loop sender late by up to that much. The caller
// should hold its OS thread (runtime.LockOSThread).
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var rem syscall.Timespec
		if err := syscall.Nanosleep(&ts, &rem); err != syscall.EINTR {
			return
		}
		ts = rem
	}
}
