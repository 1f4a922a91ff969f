package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// BenchmarkShardedWorkers measures a sharded upload on loopback: one plan of a 256 MiB file
// (16 parts of 16 MiB), then 1, 2, 4 or 8 `s3mpu upload-shard` processes at once (each
// with the default 4 parts in flight) against the test server over HTTPS. The timed part is
// from starting the workers to the last one's exit; the plan and the Complete are not
// timed. Besides MB/s it reports the workers' CPU (user+sys of their processes) and the
// server's (from /proc, when the server runs on this machine) per GiB sent. There is no
// network model here: every worker shares the loopback and the machine's cores with the
// server, so this shows where the machine, not a host's link, stops the scaling.
//
//	cd integration && go test -run '^$' -bench BenchmarkShardedWorkers -benchtime 1x -count 5 .
func BenchmarkShardedWorkers(b *testing.B) {
	env := s3test.Load(b)
	bucket := env.NewBucket(b, s3test.WithPrefix("shardbench"))
	tgt := env.HTTPS()
	c := newRelCLI(b, env, tgt, env.Users["root"])
	const size = 256 * relMiB
	src := relSource{seed: 7, size: size}
	dir := b.TempDir()
	file, err := src.writeFile(dir, "source.bin")
	if err != nil {
		b.Fatal(err)
	}
	srv := serverPID(env, tgt)
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			b.SetBytes(size)
			var workerCPU, serverCPU time.Duration
			for i := range b.N {
				b.StopTimer()
				plan := filepath.Join(dir, fmt.Sprintf("plan-%d-%d-%d.json", n, i, time.Now().UnixNano()))
				r := c.run(b, nil, "plan", file, "s3://"+bucket+"/bench.bin", "--shards", strconv.Itoa(n), "--plan-out", plan, "--preflight", "off", "--quiet")
				if r.Code != 0 {
					b.Fatalf("plan: exit %d: %s", r.Code, r.Stderr)
				}
				cmds := make([]*exec.Cmd, n)
				for j := range cmds {
					cmds[j] = exec.Command(c.bin, append(c.globals(), "upload-shard", "--plan", plan, "--shard", strconv.Itoa(j), "--progress", "none", "--quiet")...)
					cmds[j].Env = c.environ()
					cmds[j].Stderr = &bytes.Buffer{}
				}
				s0 := procCPU(srv)
				b.StartTimer()
				for _, cmd := range cmds {
					if err := cmd.Start(); err != nil {
						b.Fatal(err)
					}
				}
				for j, cmd := range cmds {
					if err := cmd.Wait(); err != nil {
						b.Fatalf("shard %d: %v: %s", j, err, cmd.Stderr)
					}
				}
				b.StopTimer()
				serverCPU += procCPU(srv) - s0
				for _, cmd := range cmds {
					workerCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				}
				if r := c.run(b, nil, "complete", "--plan", plan, "--quiet"); r.Code != 0 {
					b.Fatalf("complete: exit %d: %s", r.Code, r.Stderr)
				}
				b.StartTimer()
			}
			gib := float64(int64(b.N)*size) / (1 << 30)
			b.ReportMetric(workerCPU.Seconds()/gib, "worker-cpu-s/GiB")
			if srv > 0 {
				b.ReportMetric(serverCPU.Seconds()/gib, "server-cpu-s/GiB")
			}
		})
	}
}

// serverPID returns the process ID of the server listening at tgt's port, from the server
// directory's env.json, or 0 when it cannot be found there.
func serverPID(env *s3test.Env, tgt s3test.Target) int {
	data, err := os.ReadFile(filepath.Join(env.Dir, "env.json"))
	if err != nil {
		return 0
	}
	var e struct {
		PIDs []int `json:"pids"`
	}
	u, err := url.Parse(tgt.Endpoint)
	if json.Unmarshal(data, &e) != nil || err != nil {
		return 0
	}
	for _, pid := range e.PIDs {
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.Contains(string(cmd), ":"+u.Port()+"\x00") {
			return pid
		}
	}
	return 0
}

// procCPU returns the user+sys CPU time of process pid from /proc, or 0.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which is in parentheses and may hold spaces).
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}
