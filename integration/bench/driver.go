package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// scenario is one kind of upload at one concurrency, e.g. "file-c4", or with each client's
// documented defaults (part size and concurrency), e.g. "file-default".
type scenario struct {
	Name string `json:"name"`
	Kind string `json:"kind"`        // file, stream, small
	Conc int    `json:"concurrency"` // 0: the client's default (and its default part size)
}

func parseScenario(s string) (scenario, error) {
	if kind, ok := strings.CutSuffix(s, "-default"); ok && (kind == "file" || kind == "stream") {
		return scenario{Name: s, Kind: kind}, nil
	}
	kind, c, ok := strings.Cut(s, "-c")
	n, err := strconv.Atoi(c)
	if !ok || err != nil || n < 1 || (kind != "file" && kind != "stream" && kind != "small") {
		return scenario{}, fmt.Errorf("bad scenario %q (want file-cN, stream-cN, small-cN, file-default or stream-default)", s)
	}
	return scenario{Name: s, Kind: kind, Conc: n}, nil
}

// benchCase is a scenario over one protocol and network, run Runs times per client.
type benchCase struct {
	Net      string   `json:"net"` // lan (direct), wan, wan-slow
	Proto    string   `json:"proto"`
	Scenario scenario `json:"scenario"`
	Runs     int      `json:"runs"`
	Size     int64    `json:"size"` // of the file or stream
}

// Name is "proto/scenario" for lan, "net/proto/scenario" for the modelled networks.
func (c benchCase) Name() string {
	if c.Net == "" || c.Net == "lan" {
		return c.Proto + "/" + c.Scenario.Name
	}
	return c.Net + "/" + c.Proto + "/" + c.Scenario.Name
}

// defaultRuns is how many times each client runs a case in the default (full) run: 3, which
// keeps the full run (lan, wan and wan-slow) under 15 minutes on a 2-core machine.
func defaultRuns(proto string, sc scenario) int {
	return 3
}

// commonFlags are the flags of every scenario of the bench.
type commonFlags struct {
	envPath, dataDir, outDir string
	timeout                  time.Duration // of one child (or CLI) run
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.envPath, "env", s3test.EnvFile(), "server env file (written by `make server-start`)")
	fs.StringVar(&c.dataDir, "datadir", filepath.Join(os.TempDir(), "s3mpu-bench"), "where the test files are made (and kept for the next run)")
	fs.StringVar(&c.outDir, "out", filepath.Join("bench", "results"), "directory for the JSON and Markdown results")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "time limit of one run of a client")
}

type driverConfig struct {
	commonFlags
	size        int64
	wanSize     int64
	wanPartSize int64
	nets        []string
	wanScen     []scenario
	net         netParams
	smallSize   int64
	count       int
	partSize    int64
	runs        int
	scenarios   []scenario
	protos      []string
	clients     []string
	cpuProfile  string
	memProfile  string
	verify      bool
	childStderr bool
}

// untilSignal parses args with parse and runs drive with the result under
// a context cancelled on SIGINT or SIGTERM; command is how the run was
// started, which drive prints with the results (args are appended).
func untilSignal[C any](args []string, command string, parse func([]string) (C, error), drive func(context.Context, C, string) error) error {
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return drive(ctx, cfg, strings.Join(append([]string{command}, args...), " "))
}

// listFlags are the driver's comma-separated flags, checked by setLists.
type listFlags struct {
	nets, wanScen, scenarios, protos, clients string
}

// parseDriverFlags reads the driver's flags into its configuration.
func parseDriverFlags(args []string) (driverConfig, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var (
		cfg   driverConfig
		lists listFlags
	)
	sizeVar(fs, &cfg.size, "size", "256MiB", "size of the file and of the stream (lan)")
	sizeVar(fs, &cfg.wanSize, "wan-size", "256MiB", "size of the file and of the stream in the wan scenarios")
	sizeVar(fs, &cfg.wanPartSize, "wan-partsize", "8MiB", "part size of the wan scenarios with equal settings, the same for every client")
	fs.StringVar(&lists.nets, "nets", strings.Join(nets, ","), "comma-separated networks: lan (direct), wan, wan-slow (through the network model)")
	fs.StringVar(&lists.wanScen, "wan-scenarios", "file-default,file-c8", "comma-separated scenarios of the wan networks (plain HTTP)")
	netFlags(fs, &cfg.net, "48MB", "network model: bandwidth ceiling shared by all connections (the link), bytes per second")
	sizeVar(fs, &cfg.net.SlowMinBody, "slow-min-body", "1MiB", "network model: requests with smaller bodies are never slow")
	fs.Float64Var(&cfg.net.SlowFraction, "slow-fraction", 0.06, "network model (wan-slow): fraction of data requests that are slow")
	fs.Float64Var(&cfg.net.SlowFactor, "slow-factor", 8, "network model (wan-slow): a slow request's body passes this many times slower")
	fs.Uint64Var(&cfg.net.Seed, "seed", 1, "network model: seed of the slow-request draws (round r uses seed+r for every client)")
	sizeVar(fs, &cfg.smallSize, "small-size", "1MiB", "size of each small file")
	sizeVar(fs, &cfg.partSize, "partsize", "16MiB", "part size, the same for every client")
	fs.StringVar(&lists.scenarios, "scenarios", "file-c4,file-c8,stream-c4,small-c8", "comma-separated scenarios: file-cN, stream-cN, small-cN")
	fs.StringVar(&lists.protos, "protos", "http,https", "comma-separated protocols")
	fs.StringVar(&lists.clients, "clients", strings.Join(defaultClients, ","), "comma-separated clients in turn order; known: "+strings.Join(clientNames(), ","))
	fs.IntVar(&cfg.count, "count", 200, "number of small files")
	fs.IntVar(&cfg.runs, "runs", 0, "runs per client and case; 0 = 3")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "directory: write a CPU profile of every child run there")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "directory: write an allocation profile of every child run there")
	fs.BoolVar(&cfg.verify, "verify", false, "download every file or stream object and compare its SHA-256")
	fs.BoolVar(&cfg.childStderr, "child-stderr", false, "pass the children's stderr through (e.g. with GODEBUG=gctrace=1)")
	cfg.commonFlags.register(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := cfg.net.check(); err != nil {
		return cfg, err
	}
	return cfg, cfg.setLists(lists)
}

// setLists checks the comma-separated flags and sets what they name.
func (cfg *driverConfig) setLists(l listFlags) error {
	for _, n := range splitList(l.nets) {
		if !slices.Contains(nets, n) {
			return fmt.Errorf("unknown network %q (have %s)", n, strings.Join(nets, ","))
		}
		cfg.nets = append(cfg.nets, n)
	}
	var err error
	if cfg.wanScen, err = parseScenarios(l.wanScen); err != nil {
		return err
	}
	for _, sc := range cfg.wanScen {
		if sc.Kind == "small" {
			return fmt.Errorf("wan scenario %q: the wan networks model large uploads (file or stream)", sc.Name)
		}
	}
	if cfg.scenarios, err = parseScenarios(l.scenarios); err != nil {
		return err
	}
	for _, p := range splitList(l.protos) {
		if p != "http" && p != "https" {
			return fmt.Errorf("bad protocol %q", p)
		}
		cfg.protos = append(cfg.protos, p)
	}
	for _, c := range splitList(l.clients) {
		if _, ok := clients[c]; !ok {
			return fmt.Errorf("unknown client %q (have %s)", c, strings.Join(clientNames(), ","))
		}
		cfg.clients = append(cfg.clients, c)
	}
	if len(cfg.nets) == 0 || len(cfg.clients) == 0 {
		return errors.New("nothing to run")
	}
	return nil
}

// parseScenarios reads a comma-separated list of scenarios.
func parseScenarios(s string) ([]scenario, error) {
	var out []scenario
	for _, f := range splitList(s) {
		sc, err := parseScenario(f)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// runner holds what every run of one benchmark invocation shares.
type runner struct {
	cfg           driverConfig
	env           *s3test.Env
	exe           string
	bucket        string
	bigFile       string
	bigSum        string
	wanFile       string
	wanSum        string
	proxies       map[string]*netProxy
	smallDir      string
	serverPID     []int
	serverVersion string
	root          *s3.Client
}

// openRunner reads the server's env file; the bucket is made by createBucket.
func openRunner(cfg driverConfig) (*runner, error) {
	env, err := s3test.Open(cfg.envPath)
	if err != nil {
		return nil, fmt.Errorf("%w\nstart the server with `make server-start` in the repository root", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	meta := readServerMeta(cfg.envPath)
	return &runner{cfg: cfg, env: env, exe: exe, root: env.Root(env.HTTP()), serverPID: meta.PIDs, serverVersion: meta.Version}, nil
}

// start describes the machine, logs it and returns it with the start time of the runs.
func (r *runner) start() (machine, time.Time) {
	m := describeMachine(r.serverVersion)
	logf("machine: %s", m.String())
	return m, time.Now().UTC()
}

// withBucket makes the bucket every run uploads to, calls fn and deletes the bucket with
// whatever is left in it.
func (r *runner) withBucket(ctx context.Context, fn func() error) error {
	r.bucket = s3test.UniqueName("bench")
	if _, err := r.root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(r.bucket)}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if err := r.env.DeleteBucket(ctx, r.bucket); err != nil {
			logf("cleanup of bucket %s: %v", r.bucket, err)
		}
	}()
	return fn()
}

func drive(ctx context.Context, cfg driverConfig, command string) error {
	r, err := openRunner(cfg)
	if err != nil {
		return err
	}
	cases := planCases(cfg)
	if len(cases) == 0 {
		return errors.New("nothing to run")
	}
	machine, started := r.start()
	defer r.stopProxies()
	if err := r.prepare(cases); err != nil {
		return err
	}
	for _, dir := range []string{cfg.cpuProfile, cfg.memProfile} {
		if dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
	}
	return r.withBucket(ctx, func() error {
		results, err := r.runAll(ctx, cases)
		if err != nil {
			return err
		}
		return buildReport(results, cases, cfg, machine, command, started, time.Now().UTC()).print(cfg.outDir)
	})
}

// planCases lists the cases of the run: every scenario of every protocol of every network.
func planCases(cfg driverConfig) []benchCase {
	var cases []benchCase
	for _, nt := range cfg.nets {
		protos, scens, size := cfg.protos, cfg.scenarios, cfg.size
		if nt != "lan" {
			// The model sees HTTP requests on the stream: plain HTTP only (see netmodel.go).
			protos, scens, size = []string{"http"}, cfg.wanScen, cfg.wanSize
		}
		for _, p := range protos {
			for _, sc := range scens {
				n := cfg.runs
				if n <= 0 {
					n = defaultRuns(p, sc)
				}
				cases = append(cases, benchCase{Net: nt, Proto: p, Scenario: sc, Runs: n, Size: size})
			}
		}
	}
	return cases
}

// prepare makes the files the cases upload and starts the proxies of the modelled networks.
func (r *runner) prepare(cases []benchCase) error {
	needBig, needSmall, needWan := false, false, false
	for _, c := range cases {
		needBig = needBig || (c.Net == "lan" && c.Scenario.Kind != "small")
		needWan = needWan || c.Net != "lan"
		needSmall = needSmall || c.Scenario.Kind == "small"
	}
	var err error
	if needBig {
		if r.bigFile, r.bigSum, err = bigFile(r.cfg.dataDir, r.cfg.size); err != nil {
			return err
		}
	}
	if needWan {
		if r.wanFile, r.wanSum, err = bigFile(r.cfg.dataDir, r.cfg.wanSize); err != nil {
			return err
		}
		if err := r.startProxies(); err != nil {
			return err
		}
	}
	if needSmall {
		r.smallDir = filepath.Join(r.cfg.dataDir, fmt.Sprintf("small-%dx%s", r.cfg.count, formatSize(r.cfg.smallSize)))
		logf("preparing %d files of %s in %s", r.cfg.count, formatSize(r.cfg.smallSize), r.smallDir)
		if err := smallFiles(r.smallDir, r.cfg.count, r.cfg.smallSize); err != nil {
			return err
		}
	}
	return nil
}

// startProxies starts the network model's proxy of every modelled network.
func (r *runner) startProxies() error {
	logf("network model: %s", r.cfg.net.String())
	r.proxies = map[string]*netProxy{}
	for _, nt := range r.cfg.nets {
		if nt == "lan" {
			continue
		}
		np, err := startNet(nt, r.env.HTTP().Endpoint, r.cfg.net)
		if err != nil {
			return err
		}
		r.proxies[nt] = np
	}
	return nil
}

func (r *runner) stopProxies() {
	for _, np := range r.proxies {
		np.stop()
	}
}

// runsOf is how many times client runs case c. The discard client measures the program's
// floor, which does not vary from run to run: it runs once per lan case.
func runsOf(c benchCase, client string) int {
	switch {
	case client == "discard" && c.Net != "lan":
		return 0 // it sends nothing: the network does not apply
	case client == "discard":
		return 1
	}
	return c.Runs
}

// runAll runs every case, the clients taking turns within each round.
func (r *runner) runAll(ctx context.Context, cases []benchCase) ([]runResult, error) {
	total := 0
	for _, c := range cases {
		for _, cl := range r.cfg.clients {
			total += runsOf(c, cl)
		}
	}
	logf("%d cases, %d child runs, bucket %s", len(cases), total, r.bucket)
	var results []runResult
	for _, c := range cases {
		for run := 1; run <= c.Runs; run++ {
			for _, cl := range turnOrder(r.cfg.clients, run) {
				if run > runsOf(c, cl) {
					continue
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				r.settle(ctx)
				if np := r.proxies[c.Net]; np != nil {
					// Common random numbers: every client of round run meets the same draws.
					np.draws.reset(r.cfg.net.Seed + uint64(run))
				}
				res := r.runOne(ctx, c, cl, run)
				results = append(results, res)
				logf("[%d/%d] %s", len(results), total, res.line())
			}
		}
	}
	return results, nil
}

// turnOrder returns the order in which the clients take their turn in the given run: every
// client once, rotated by one place from run to run (A B C D, B C D A, ...).
//
// A fixed order (A B C D A B C D) biases the results: the server's leftover work from one
// client's run (its Go GC, for one) lands in the next client's run, so the client that always
// follows a given one pays for it. Seen here: with the order manager, s3mpu, minio, manager
// (after minio) got 494–580 MB/s and the server spent 2.6–3.1 CPU-s/GiB on its uploads, while
// s3mpu got 604–632 MB/s and 2.3–2.4; in the order s3mpu, manager, minio it was the reverse.
func turnOrder[T any](items []T, run int) []T {
	n := len(items)
	out := make([]T, 0, n)
	for i := range n {
		out = append(out, items[(i+run-1)%n])
	}
	return out
}

// settle waits, up to a second, until the server's processes have been idle (under 5% of a
// CPU) for 100 ms, so that a run starts with the server's work of the previous one done.
func (r *runner) settle(ctx context.Context) {
	if len(r.serverPID) == 0 {
		return
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		before := procCPU(r.serverPID)
		time.Sleep(100 * time.Millisecond)
		if procCPU(r.serverPID)-before < 0.005 {
			return
		}
	}
}

// runOne runs one client once in a child process, checks what landed on the server and
// removes it.
func (r *runner) runOne(ctx context.Context, c benchCase, client string, run int) runResult {
	key := fmt.Sprintf("%s/%s/%s/r%d", c.Proto, c.Scenario.Name, client, run)
	res := r.exec(ctx, c, client, run, key)
	res.addErr(r.removeRun(ctx, key, c.Scenario.Kind))
	return res
}

// exec runs the child, reads its result and checks the upload.
func (r *runner) exec(ctx context.Context, c benchCase, client string, run int, key string) runResult {
	res := runResult{Case: c.Name(), Net: c.Net, Proto: c.Proto, Scenario: c.Scenario.Name, Kind: c.Scenario.Kind, Client: client, Run: run}
	np := r.proxies[c.Net]
	if np != nil {
		res.LinkMBps = float64(r.cfg.net.LinkRate) / 1e6
	}
	args, source := r.childArgs(c, client, run, key)
	stdin := ""
	if c.Scenario.Kind == "stream" {
		stdin = source
	}
	out, err := r.runChild(ctx, args, stdin, &res)
	if err != nil {
		return res.fail(err)
	}
	var cr childResult
	if err := json.Unmarshal(lastLine(out), &cr); err != nil {
		return res.fail(fmt.Errorf("child output %q: %w", out, err))
	}
	res.fromChild(cr)
	if np != nil {
		res.DataRequests, res.SlowRequests = np.draws.all.Load(), np.draws.slow.Load()
		body, all := np.draws.settle(30 * time.Second)
		if !all {
			return res.fail(fmt.Errorf("the network model still passed bytes of the run's connections 30 s after it: bytes sent twice unknown"))
		}
		res.BodyBytes = body
	}
	if client == "discard" {
		// It sends nothing: only the bytes it read can be checked.
		if c.Scenario.Kind != "small" && cr.Bytes != c.Size {
			return res.fail(fmt.Errorf("read %d bytes, want %d", cr.Bytes, c.Size))
		}
	} else if err := r.check(ctx, c, client, key, cr); err != nil {
		return res.fail(err)
	}
	res.OK = true
	res.derive()
	return res
}

// childArgs returns the child's command line for one run and the file whose bytes it uploads
// (as a file or, for a stream, through its stdin).
func (r *runner) childArgs(c benchCase, client string, run int, key string) (args []string, source string) {
	partSize, source := r.cfg.partSize, r.bigFile
	if c.Net != "lan" {
		partSize, source = r.cfg.wanPartSize, r.wanFile
	}
	if c.Scenario.Conc == 0 {
		partSize = 0 // the client's default
	}
	args = []string{"client",
		"-env", r.cfg.envPath, "-client", client, "-proto", c.Proto, "-bucket", r.bucket,
		"-kind", c.Scenario.Kind, "-key", key, "-conc", strconv.Itoa(c.Scenario.Conc),
		"-partsize", strconv.FormatInt(partSize, 10), "-timeout", r.cfg.timeout.String(),
	}
	if np := r.proxies[c.Net]; np != nil {
		args = append(args, "-endpoint", np.endpoint)
	}
	switch c.Scenario.Kind {
	case "file":
		args = append(args, "-file", source)
	case "small":
		args = append(args, "-dir", r.smallDir)
	}
	prof := fmt.Sprintf("%s-%s-%s-r%d.prof", c.Proto, c.Scenario.Name, client, run)
	if r.cfg.cpuProfile != "" {
		args = append(args, "-cpuprofile", filepath.Join(r.cfg.cpuProfile, "cpu-"+prof))
	}
	if r.cfg.memProfile != "" {
		args = append(args, "-memprofile", filepath.Join(r.cfg.memProfile, "mem-"+prof))
	}
	return args, source
}

// runChild runs this program as a child with args (its stdin fed from the file stdin, if
// set), records the CPU it, the server and the rest of the machine spent, and returns its
// stdout.
func (r *runner) runChild(ctx context.Context, args []string, stdin string, res *runResult) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.exe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if r.cfg.childStderr {
		cmd.Stderr = io.MultiWriter(&stderr, os.Stderr)
	}
	fed := func() error { return nil }
	if stdin != "" {
		var err error
		if fed, err = feedStdin(cmd, stdin); err != nil {
			return nil, err
		}
	}
	before := takeCPU(r.serverPID)
	err := cmd.Run()
	d := takeCPU(r.serverPID).since(before)
	if perr := fed(); perr != nil && err == nil {
		err = fmt.Errorf("feeding the stream: %w", perr)
	}
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.UserCPUSeconds, res.SysCPUSeconds = tvSeconds(ru.Utime), tvSeconds(ru.Stime)
			res.CPUSeconds = res.UserCPUSeconds + res.SysCPUSeconds
			res.RusageMaxRSSMiB = float64(ru.Maxrss) / 1024 // Linux reports maxrss in KiB
		}
	}
	res.ServerCPUSeconds = d.server
	res.OtherCPUSeconds = max(0, d.busy-res.CPUSeconds-res.ServerCPUSeconds)
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, errors.New(lastLines(msg, 5))
	}
	return stdout.Bytes(), nil
}

// feedStdin pipes the file into cmd's stdin. Call the returned function once cmd has exited:
// it closes the pipe's read end (so the copy gets EPIPE and stops) and returns the copy's error.
func feedStdin(cmd *exec.Cmd, path string) (func() error, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin = pr
	pumpErr := make(chan error, 1)
	go func() { pumpErr <- pump(pw, path) }()
	return func() error {
		pr.Close()
		return <-pumpErr
	}, nil
}

// pump copies the file into the pipe the child reads as its stdin, then closes the pipe.
func pump(w *os.File, path string) error {
	defer w.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	if errors.Is(err, syscall.EPIPE) {
		return nil // the child stopped reading; its own error says why
	}
	return err
}

// check confirms the object (or the small files) arrived whole.
func (r *runner) check(ctx context.Context, c benchCase, client, key string, cr childResult) error {
	if c.Scenario.Kind == "small" {
		if cr.Objects != r.cfg.count {
			return fmt.Errorf("child uploaded %d files, want %d", cr.Objects, r.cfg.count)
		}
		return r.checkSmall(ctx, key)
	}
	if cr.Bytes != c.Size {
		return fmt.Errorf("client read %d bytes, want %d", cr.Bytes, c.Size)
	}
	// Hedged parts make s3mpu's content worth checking on every modelled network.
	if !r.cfg.verify && (c.Net == "lan" || !strings.HasPrefix(client, "s3mpu")) {
		return r.checkSize(ctx, key, c.Size)
	}
	want := r.bigSum
	if c.Net != "lan" {
		want = r.wanSum
	}
	return r.verifyObject(ctx, key, c.Size, want)
}

// checkSmall confirms that every small file is stored under prefix/ with its size.
func (r *runner) checkSmall(ctx context.Context, prefix string) error {
	n := 0
	err := r.eachPage(ctx, prefix+"/", func(objs []types.Object) error {
		for _, o := range objs {
			if aws.ToInt64(o.Size) != r.cfg.smallSize {
				return fmt.Errorf("%s: size %d, want %d", aws.ToString(o.Key), aws.ToInt64(o.Size), r.cfg.smallSize)
			}
			n++
		}
		return nil
	})
	if err == nil && n != r.cfg.count {
		err = fmt.Errorf("%d objects on the server, want %d", n, r.cfg.count)
	}
	return err
}

// eachPage calls fn with every page of the objects under prefix.
func (r *runner) eachPage(ctx context.Context, prefix string, fn func([]types.Object) error) error {
	p := s3.NewListObjectsV2Paginator(r.root, &s3.ListObjectsV2Input{Bucket: aws.String(r.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		if err := fn(page.Contents); err != nil {
			return err
		}
	}
	return nil
}

// checkSize confirms the object has size bytes.
func (r *runner) checkSize(ctx context.Context, key string, size int64) error {
	head, err := r.root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("head object: %w", err)
	}
	if got := aws.ToInt64(head.ContentLength); got != size {
		return fmt.Errorf("object has %d bytes, want %d", got, size)
	}
	return nil
}

// verifyObject confirms the object has size bytes and that its content has the SHA-256 sum.
func (r *runner) verifyObject(ctx context.Context, key string, size int64, sum string) error {
	if err := r.checkSize(ctx, key, size); err != nil {
		return err
	}
	obj, err := r.root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("get object: %w", err)
	}
	defer obj.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, obj.Body); err != nil {
		return fmt.Errorf("read object: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fmt.Errorf("object content differs from the file (sha256 %s, want %s)", got, sum)
	}
	return nil
}

// removeRun deletes what the run stored under key (the object, or the small files under
// key/), and returns an error if a multipart upload was left behind (which it aborts).
func (r *runner) removeRun(ctx context.Context, key, kind string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var errs []error
	if kind == "small" {
		errs = append(errs, r.eachPage(ctx, key+"/", func(objs []types.Object) error {
			var ids []types.ObjectIdentifier
			for _, o := range objs {
				ids = append(ids, types.ObjectIdentifier{Key: o.Key})
			}
			if len(ids) == 0 {
				return nil
			}
			if _, err := r.root.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(r.bucket), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
				return fmt.Errorf("delete objects: %w", err)
			}
			return nil
		}))
	} else if _, err := r.root.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(key)}); err != nil {
		errs = append(errs, fmt.Errorf("delete object: %w", err))
	}
	ups, err := r.env.ListUploads(ctx, r.bucket)
	if err != nil {
		errs = append(errs, fmt.Errorf("list uploads: %w", err))
	}
	for _, u := range ups {
		errs = append(errs, fmt.Errorf("multipart upload left behind: %s (%s)", aws.ToString(u.Key), aws.ToString(u.UploadId)))
		_, _ = r.root.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(r.bucket), Key: u.Key, UploadId: u.UploadId})
	}
	// Write back what the server wrote so that the next run does not pay for it.
	syscall.Sync()
	return errors.Join(errs...)
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().UTC().Format("15:04:05")+" "+format+"\n", args...)
}
