package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dist summarises a set of durations.
type dist struct {
	N                        int
	Mean, P50, P90, P99, Max time.Duration
}

func summarize(ds []time.Duration) dist {
	if len(ds) == 0 {
		return dist{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	q := func(p float64) time.Duration {
		// Nearest rank.
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return dist{N: len(ds), Mean: sum / time.Duration(len(ds)), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: ds[len(ds)-1]}
}

// errCounts counts failed requests by cause and keeps an example of each.
type errCounts struct {
	mu      sync.Mutex
	total   int
	byCause map[string]int
	example map[string]string
}

func (e *errCounts) add(cause, example string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byCause == nil {
		e.byCause, e.example = map[string]int{}, map[string]string{}
	}
	e.total++
	e.byCause[cause]++
	if _, ok := e.example[cause]; !ok {
		e.example[cause] = example
	}
}

func (e *errCounts) n() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.total
}

// String lists the causes, most frequent first.
func (e *errCounts) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.total == 0 {
		return "none"
	}
	causes := make([]string, 0, len(e.byCause))
	for c := range e.byCause {
		causes = append(causes, c)
	}
	slices.SortFunc(causes, func(a, b string) int { return e.byCause[b] - e.byCause[a] })
	var b strings.Builder
	for i, c := range causes {
		if i > 0 {
			b.WriteString("; ")
		}
		ex := e.example[c]
		if len(ex) > 160 {
			ex = ex[:160] + "…"
		}
		fmt.Fprintf(&b, "%d× %s (e.g. %q)", e.byCause[c], c, ex)
	}
	return b.String()
}

// memStatus is a process's resident memory, in bytes.
type memStatus struct {
	RSS, HWM int64 // VmRSS and VmHWM (peak RSS over the process's life)
}

// readMem reads /proc/PID/status.
func readMem(pid int) (memStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, err
	}
	var m memStatus
	for line := range bytes.Lines(b) {
		var dst *int64
		switch {
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst = &m.RSS
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst = &m.HWM
		default:
			continue
		}
		f := bytes.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil {
			return m, err
		}
		*dst = kb << 10
	}
	if m.RSS == 0 {
		return m, errors.New("no VmRSS in /proc status")
	}
	return m, nil
}

// clkTck is USER_HZ, the unit of /proc/PID/stat CPU times. It is 100 on
// every mainstream Linux configuration; Go cannot ask sysconf without cgo.
const clkTck = 100

// cpuTime reads a process's user+system CPU time from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, field 2, is parenthesised and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(string(f[11]), 10, 64)
	st, _ := strconv.ParseInt(string(f[12]), 10, 64)
	return time.Duration(ut+st) * time.Second / clkTck
}

// machineBusy reads the CPU time the whole machine has spent not idle,
// from the first line of /proc/stat.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0
	}
	var busy int64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseInt(string(f[i]), 10, 64)
		busy += v
	}
	return time.Duration(busy) * time.Second / clkTck
}

// cpuMeter measures the CPU used by the bench process, its children and
// the whole machine over a span of wall time.
type cpuMeter struct {
	gatewayPID, proxyPID            int
	wall                            time.Time
	parent, gateway, proxy, machine time.Duration
}

// cpuUse is CPU time used over a span of wall time.
type cpuUse struct {
	Wall    time.Duration
	Parent  time.Duration // the bench process: load generator and fake upstream
	Gateway time.Duration // the gateway child
	Proxy   time.Duration // the reference proxy child, if any
	Machine time.Duration // every process on the machine
}

func (u cpuUse) add(v cpuUse) cpuUse {
	return cpuUse{Wall: u.Wall + v.Wall, Parent: u.Parent + v.Parent, Gateway: u.Gateway + v.Gateway,
		Proxy: u.Proxy + v.Proxy, Machine: u.Machine + v.Machine}
}

// Other is the CPU time used by processes other than ours.
func (u cpuUse) Other() time.Duration {
	return max(u.Machine-u.Parent-u.Gateway-u.Proxy, 0)
}

// startCPU starts measuring; a zero pid is not measured.
func startCPU(gatewayPID, proxyPID int) cpuMeter {
	return cpuMeter{gatewayPID: gatewayPID, proxyPID: proxyPID, wall: time.Now(), parent: cpuTime(os.Getpid()),
		gateway: cpuTime(gatewayPID), proxy: cpuTime(proxyPID), machine: machineBusy()}
}

func (m cpuMeter) stop() cpuUse {
	return cpuUse{
		Wall:    time.Since(m.wall),
		Parent:  cpuTime(os.Getpid()) - m.parent,
		Gateway: cpuTime(m.gatewayPID) - m.gateway,
		Proxy:   cpuTime(m.proxyPID) - m.proxy,
		Machine: machineBusy() - m.machine,
	}
}

// cores formats CPU time over wall time as a number of cores.
func cores(cpu, wall time.Duration) string {
	if wall <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", cpu.Seconds()/wall.Seconds())
}

// rssSample is one reading of the child's memory.
type rssSample struct {
	At    time.Time
	Mem   memStatus
	Extra int64 // what the caller was doing, e.g. chunks received so far
}

// sampler reads the child's memory periodically.
type sampler struct {
	stopc chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	out   []rssSample
}

// sampleRSS starts reading pid's memory every interval; extra, if not nil,
// is recorded alongside each sample.
func sampleRSS(pid int, interval time.Duration, extra func() int64) *sampler {
	s := &sampler{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			m, err := readMem(pid)
			if err == nil {
				smp := rssSample{At: time.Now(), Mem: m}
				if extra != nil {
					smp.Extra = extra()
				}
				s.mu.Lock()
				s.out = append(s.out, smp)
				s.mu.Unlock()
			}
			select {
			case <-s.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) stop() []rssSample {
	close(s.stopc)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out
}

// machine describes the host for the report.
type machine struct {
	CPUs       int
	GOMAXPROCS int
	CPUModel   string
	Kernel     string
	MemTotal   string
	GoVersion  string
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), CPUModel: "unknown", Kernel: "unknown", MemTotal: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(v)
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					m.MemTotal = fmt.Sprintf("%.1f GB", float64(kb<<10)/1e9)
				}
				break
			}
		}
	}
	return m
}

// codeVersion describes the checked-out code: the commit, and whether the
// working tree has changes.
func codeVersion() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (no git)"
	}
	v := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		v += " with uncommitted changes in " + strconv.Itoa(len(bytes.Split(bytes.TrimSpace(st), []byte("\n")))) + " tracked files"
	}
	return v
}

// loadAvg returns the 1-, 5- and 15-minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// mb formats bytes as decimal megabytes.
func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

// us formats a duration in microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
