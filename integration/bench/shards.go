package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The shards scenario (`bench shards`) measures one sharded upload of the s3mpu CLI against
// the number of worker processes W: `s3mpu plan` (W shards), then W `s3mpu upload-shard`
// processes at once, then `s3mpu complete`. Each worker reaches the server through a proxy of
// its own (netmodel.go without the slow requests: latency, a ceiling per connection and a
// link bucket of its own), standing for one host and its NIC, so that with enough server the
// upload would run at W × the per-worker link. The plan and the Complete go straight to the
// server's HTTP endpoint (the coordinator is not one of the hosts).

// shardsConfig is the configuration of the shards scenario.
type shardsConfig struct {
	commonFlags
	size     int64
	partSize int64
	workers  []int
	conc     int
	runs     int
	net      netParams // LinkRate is each worker's own link
	s3mpu    string
}

func parseShardsFlags(args []string) (shardsConfig, error) {
	fs := flag.NewFlagSet("bench shards", flag.ContinueOnError)
	cfg := shardsConfig{net: netParams{SlowFactor: 1}} // no slow requests
	sizeVar(fs, &cfg.size, "size", "256MiB", "size of the file of the sharded upload")
	sizeVar(fs, &cfg.partSize, "partsize", "8MiB", "part size of the plan")
	workers := fs.String("workers", "1,2,4,8", "comma-separated numbers of worker processes (= shards)")
	netFlags(fs, &cfg.net, "16MB", "network model: each worker's own link ceiling (its proxy's link bucket), bytes per second")
	fs.IntVar(&cfg.conc, "conc", 4, "parts in flight of each worker (upload-shard --concurrency)")
	fs.IntVar(&cfg.runs, "runs", 3, "runs per number of workers")
	fs.StringVar(&cfg.s3mpu, "s3mpu", "", "the s3mpu CLI to run (default: built from this repository's examples/s3mpu into a temporary directory)")
	cfg.commonFlags.register(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.workers, err = parseInts(*workers); err != nil {
		return cfg, err
	}
	if err := cfg.net.check(); err != nil {
		return cfg, err
	}
	parts := (cfg.size + cfg.partSize - 1) / max(cfg.partSize, 1)
	if len(cfg.workers) == 0 || cfg.runs < 1 || cfg.conc < 1 || cfg.partSize < 5<<20 || int64(slices.Max(cfg.workers)) > parts {
		return cfg, fmt.Errorf("nothing to run, or more workers than the %d parts of %s in %s parts (the part size is at least 5MiB)", parts, formatSize(cfg.size), formatSize(cfg.partSize))
	}
	return cfg, nil
}

// workerCeiling is L, the most one worker can send in MB/s: its link, or its parts in flight
// times the ceiling of each connection if that is lower.
func (c shardsConfig) workerCeiling() float64 {
	return float64(min(c.net.LinkRate, int64(c.conc)*c.net.ConnRate)) / 1e6
}

// parseInts reads a comma-separated list of positive integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// shardRunner holds what every run of the shards scenario shares.
type shardRunner struct {
	*runner
	scfg    shardsConfig
	cli     string
	home    string
	file    string
	sum     string
	proxies []*netProxy // one per worker
}

func driveShards(ctx context.Context, cfg shardsConfig, command string) error {
	r, err := openRunner(driverConfig{commonFlags: cfg.commonFlags})
	if err != nil {
		return err
	}
	sr := &shardRunner{runner: r, scfg: cfg}
	machine, started := r.start()
	defer sr.stop()
	if err := sr.prepare(ctx); err != nil {
		return err
	}
	var runs []shardRun
	err = r.withBucket(ctx, func() error {
		runs, err = sr.runAll(ctx)
		return err
	})
	if err != nil {
		return err
	}
	rep := buildShardsReport(runs, cfg, machine, command, started, time.Now().UTC())
	md := rep.markdown()
	fmt.Print(md)
	if err := writeResults(cfg.outDir, "shards", started, rep, md); err != nil {
		return err
	}
	if rep.Failures > 0 {
		return fmt.Errorf("%d run(s) failed", rep.Failures)
	}
	return nil
}

// runAll runs every number of workers cfg.runs times, in an order rotated from round to round.
func (sr *shardRunner) runAll(ctx context.Context) ([]shardRun, error) {
	cfg := sr.scfg
	logf("%d runs (%d per number of workers), bucket %s", cfg.runs*len(cfg.workers), cfg.runs, sr.bucket)
	var runs []shardRun
	for run := 1; run <= cfg.runs; run++ {
		for _, w := range turnOrder(cfg.workers, run) {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			sr.settle(ctx)
			res := sr.runOne(ctx, w, run)
			runs = append(runs, res)
			logf("[%d/%d] %s", len(runs), cfg.runs*len(cfg.workers), res.line())
		}
	}
	return runs, nil
}

// prepare makes the file, the CLI and one proxy per worker.
func (sr *shardRunner) prepare(ctx context.Context) error {
	cfg := sr.scfg
	var err error
	if sr.file, sr.sum, err = bigFile(cfg.dataDir, cfg.size); err != nil {
		return err
	}
	if sr.home, err = os.MkdirTemp("", "s3mpu-bench-home-"); err != nil {
		return err
	}
	if sr.cli = cfg.s3mpu; sr.cli == "" {
		if sr.cli, err = buildCLI(ctx, sr.home); err != nil {
			return err
		}
	}
	logf("network model of each worker: %s", cfg.net.workerString())
	for i := range slices.Max(cfg.workers) {
		np, err := startNet(fmt.Sprintf("worker-%d", i), sr.env.HTTP().Endpoint, cfg.net)
		if err != nil {
			return err
		}
		sr.proxies = append(sr.proxies, np)
	}
	return nil
}

// stop stops the proxies and removes the CLI's home directory.
func (sr *shardRunner) stop() {
	for _, np := range sr.proxies {
		np.stop()
	}
	if sr.home != "" {
		os.RemoveAll(sr.home)
	}
}

// buildCLI builds the s3mpu CLI of this repository into dir (the run's own, so that runs from
// other checkouts at the same time do not overwrite it).
func buildCLI(ctx context.Context, dir string) (string, error) {
	top, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("find the repository (or pass -s3mpu): %w", err)
	}
	bin := filepath.Join(dir, "s3mpu")
	logf("building %s", bin)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/s3mpu")
	cmd.Dir = strings.TrimSpace(string(top))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build s3mpu: %v: %s", err, out)
	}
	return bin, nil
}

// environ is the CLI's environment: the server's root user and region, nothing of the
// machine's AWS settings.
func (sr *shardRunner) environ() []string {
	var keep []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			keep = append(keep, kv)
		}
	}
	root := sr.env.Users["root"]
	return append(keep, "HOME="+sr.home,
		"AWS_CONFIG_FILE="+filepath.Join(sr.home, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(sr.home, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_REGION="+sr.env.Region(),
		"AWS_ACCESS_KEY_ID="+root.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+root.SecretKey)
}

// command returns the CLI run with endpoint and args.
func (sr *shardRunner) command(ctx context.Context, endpoint string, args ...string) *exec.Cmd {
	globals := []string{"--endpoint-url", endpoint, "--iam-endpoint-url", sr.env.IAMEndpoint, "--path-style", "--quiet"}
	cmd := exec.CommandContext(ctx, sr.cli, append(globals, args...)...)
	cmd.Env = sr.environ()
	cmd.Dir = sr.home
	cmd.Stderr = &bytes.Buffer{}
	return cmd
}

// runCLI runs the CLI to its end against the server's own HTTP endpoint.
func (sr *shardRunner) runCLI(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, sr.scfg.timeout)
	defer cancel()
	cmd := sr.command(ctx, sr.env.HTTP().Endpoint, args...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("s3mpu %s: %v: %s", args[0], err, lastLines(strings.TrimSpace(fmt.Sprint(cmd.Stderr)), 3))
	}
	return nil
}

// runOne plans, uploads with w workers, completes, checks and removes the object.
func (sr *shardRunner) runOne(ctx context.Context, w, run int) shardRun {
	res := shardRun{Workers: w, Run: run, CeilMBps: float64(w) * sr.scfg.workerCeiling(), Bytes: sr.scfg.size}
	key := fmt.Sprintf("shards/w%d/r%d", w, run)
	plan := filepath.Join(sr.home, fmt.Sprintf("plan-w%d-r%d.json", w, run))
	start := time.Now()
	err := sr.runCLI(ctx, "plan", sr.file, "s3://"+sr.bucket+"/"+key, "--shards", strconv.Itoa(w),
		"--part-size", strconv.FormatInt(sr.scfg.partSize, 10), "--plan-out", plan, "--preflight", "off")
	if err == nil {
		err = sr.workers(ctx, plan, w, &res)
	}
	if err == nil {
		err = sr.runCLI(ctx, "complete", "--plan", plan)
	}
	res.TotalSeconds = time.Since(start).Seconds()
	if err == nil {
		err = sr.verifyObject(ctx, key, sr.scfg.size, sr.sum)
	}
	res.OK = err == nil
	if err != nil {
		res.Err = err.Error()
	}
	res.addErr(sr.removeRun(ctx, key, "file"))
	res.derive(runtime.NumCPU())
	return res
}

// workers runs the w upload-shard processes at once, each through its own proxy, and records
// the time from the first start to the last exit and the CPU spent meanwhile.
func (sr *shardRunner) workers(ctx context.Context, plan string, w int, res *shardRun) error {
	ctx, cancel := context.WithTimeout(ctx, sr.scfg.timeout)
	defer cancel()
	cmds := make([]*exec.Cmd, w)
	for i := range cmds {
		cmds[i] = sr.command(ctx, sr.proxies[i].endpoint, "upload-shard", "--plan", plan, "--shard", strconv.Itoa(i),
			"--concurrency", strconv.Itoa(sr.scfg.conc), "--progress", "none")
	}
	before := takeCPU(sr.serverPID)
	var errs []error
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			errs = append(errs, fmt.Errorf("shard %d: %w", i, err))
			cmds[i] = nil
		}
	}
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		if err := cmd.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("shard %d: %v: %s", i, err, lastLines(strings.TrimSpace(fmt.Sprint(cmd.Stderr)), 3)))
		}
		res.WorkerCPUSeconds += (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	d := takeCPU(sr.serverPID).since(before)
	res.Seconds, res.ServerCPUSeconds, res.ProxyCPUSeconds, res.BusyCPUSeconds = d.wall, d.server, d.self, d.busy
	return errors.Join(errs...)
}
