package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc (100 on every Linux this runs on).
const clockTicks = 100

// serverMeta is what the benchmark reads from the server's env file beyond what s3test
// exposes: the server's processes (to measure the CPU they spend) and its version.
type serverMeta struct {
	PIDs    []int  `json:"pids"`
	Version string `json:"versitygw_version"`
}

func readServerMeta(path string) serverMeta {
	var m serverMeta
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &m) // both fields are optional extras
	}
	if m.Version == "" {
		m.Version = "unknown"
	}
	return m
}

// machine describes where the figures were taken.
type machine struct {
	CPUs       int    `json:"nproc"`
	CPUModel   string `json:"cpu_model"`
	MemoryGiB  string `json:"memory_gib"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"go_version"`
	Versitygw  string `json:"versitygw_version"`
	Revision   string `json:"revision"`
	LoadAvg    string `json:"loadavg_at_start"`
	LoadAvgEnd string `json:"loadavg_at_end,omitempty"`
}

func (m machine) String() string {
	return fmt.Sprintf("%d CPUs (%s), %s GiB RAM, Linux %s, %s, versitygw %s, s3mpu %s, load average %s",
		m.CPUs, m.CPUModel, m.MemoryGiB, m.Kernel, m.GoVersion, m.Versitygw, m.Revision, m.LoadAvg)
}

func describeMachine(versitygw string) machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Versitygw: versitygw, CPUModel: "unknown", MemoryGiB: "?"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					m.MemoryGiB = fmt.Sprintf("%.1f", kb/(1<<20))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadAvg = loadAvg()
	m.Revision = revision()
	return m
}

// revision names the commit the clients were built from, with "+changes" when the library's
// files differ from it.
func revision() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return rev
	}
	st, err := exec.Command("git", "-C", strings.TrimSpace(string(top)), "status", "--porcelain", "--untracked-files=no", "--", "uploader", "internal", "go.mod").Output()
	if err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += "+changes"
	}
	return rev
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// procCPU returns the user+sys CPU seconds the processes have used so far (0 for any that is gone).
func procCPU(pids []int) float64 {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses and may hold spaces.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		// f[0] is field 3 (state); utime and stime are fields 14 and 15.
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return float64(ticks) / clockTicks
}

// machineBusy returns the CPU seconds all CPUs of the machine have spent busy so far.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return float64(busy) / clockTicks
}

// cpuSample is a moment's CPU counters: the server's processes, this process (which runs the
// proxies) and the whole machine.
type cpuSample struct {
	at                 time.Time
	server, self, busy float64
}

// cpuDelta is what was spent between two samples; wall is in seconds.
type cpuDelta struct{ wall, server, self, busy float64 }

func takeCPU(serverPID []int) cpuSample {
	s := cpuSample{at: time.Now(), server: procCPU(serverPID), busy: machineBusy()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	return s
}

func (s cpuSample) since(before cpuSample) cpuDelta {
	return cpuDelta{wall: s.at.Sub(before.at).Seconds(), server: s.server - before.server, self: s.self - before.self, busy: s.busy - before.busy}
}
