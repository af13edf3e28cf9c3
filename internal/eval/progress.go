package eval

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress shows cases done, errors, spend so far and the time left.
type progress struct {
	w        io.Writer
	tty      bool
	mu       sync.Mutex
	total    int
	done     int
	skipped  int // done before this process started (resume)
	errors   int
	spend    float64
	priced   bool
	start    time.Time
	lastStep int  // tenths of the run shown so far (plain lines)
	started  bool // the first show has happened
}

func newProgress(w io.Writer, tty bool, total, done int) *progress {
	p := &progress{w: w, tty: tty, total: total, done: done, skipped: done, start: time.Now()}
	p.show()
	return p
}

// spent counts what a call cost.
func (p *progress) spent(usd float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spend += usd
	p.priced = true
}

// caseDone counts a stored case and its failed calls.
func (p *progress) caseDone(failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.errors += failed
	p.show()
}

// finish ends the display with a newline on a terminal.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w == nil {
		return
	}
	if p.tty {
		fmt.Fprintln(p.w)
	} else if p.done < p.total {
		fmt.Fprintln(p.w, p.line()) // interrupted: say where it stopped
	}
}

// show draws the progress; p.mu is held. A terminal gets one line redrawn
// in place; a log gets a line at each tenth of the run, so a CI log stays
// short.
func (p *progress) show() {
	if p.w == nil {
		return
	}
	if p.tty {
		const width = 24
		filled := 0
		if p.total > 0 {
			filled = p.done * width / p.total
		}
		fmt.Fprintf(p.w, "\r\x1b[K[%s%s] %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.line())
		return
	}
	step := 10
	if p.total > 0 {
		step = p.done * 10 / p.total
	}
	if !p.started {
		p.started, p.lastStep = true, step
		if p.done > 0 {
			fmt.Fprintf(p.w, "resuming: %d of %d cases already done\n", p.done, p.total)
		}
		return
	}
	if step > p.lastStep {
		p.lastStep = step
		fmt.Fprintln(p.w, p.line())
	}
}

func (p *progress) line() string {
	spend := "spend —"
	if p.priced {
		spend = fmt.Sprintf("spend $%.4f", p.spend)
	}
	eta := "ETA —"
	if n := p.done - p.skipped; n > 0 && p.done < p.total {
		left := time.Duration(float64(time.Since(p.start)) / float64(n) * float64(p.total-p.done))
		eta = "ETA " + left.Round(time.Second).String()
	} else if p.done >= p.total {
		eta = "in " + time.Since(p.start).Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%d/%d cases · errors %d · %s · %s", p.done, p.total, p.errors, spend, eta)
}
