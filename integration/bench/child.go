package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// childResult is what a child prints on stdout, as one JSON line, when its upload is done.
type childResult struct {
	Seconds float64 `json:"seconds"` // wall time of the upload call(s) alone
	Bytes   int64   `json:"bytes"`   // bytes the client was given (the object's size is checked by the parent)
	Objects int     `json:"objects"`
	HWMKiB  int64   `json:"vm_hwm_kib"`  // peak RSS of this process's address space (VmHWM)
	Conns   int64   `json:"connections"` // connections the client opened
	// PeakConns is the most connections the client had open at once.
	PeakConns int64 `json:"peak_connections"`
	// s3mpu only (from its events): hedges sent, their bytes, hedges that finished first, and
	// the parts in flight the adaptive concurrency reached (0 when fixed).
	Hedges      int   `json:"hedges,omitempty"`
	HedgedBytes int64 `json:"hedged_bytes,omitempty"`
	HedgesWon   int   `json:"hedges_won,omitempty"`
	Level       int   `json:"concurrency_level,omitempty"`
}

// clientMain runs one upload in this process: `bench client -client NAME -kind file|stream|small ...`.
func clientMain(args []string) error {
	fs := flag.NewFlagSet("bench client", flag.ContinueOnError)
	var (
		envPath    = fs.String("env", s3test.EnvFile(), "server env file")
		name       = fs.String("client", "", "client name")
		proto      = fs.String("proto", "https", "http or https")
		bucket     = fs.String("bucket", "", "bucket")
		kind       = fs.String("kind", "file", "file, stream (body from stdin) or small")
		path       = fs.String("file", "", "file to upload (kind file)")
		dir        = fs.String("dir", "", "directory of small files (kind small)")
		key        = fs.String("key", "", "object key, or key prefix for kind small")
		partSize   = fs.Int64("partsize", 16<<20, "part size in bytes; 0: the client's default")
		conc       = fs.Int("conc", 4, "parts (or files) in flight; 0: the client's default")
		endpoint   = fs.String("endpoint", "", "send to this endpoint (the network model's proxy) instead of the server's")
		timeout    = fs.Duration("timeout", 5*time.Minute, "give up after this long")
		cpuProfile = fs.String("cpuprofile", "", "write a CPU profile of the upload to this file")
		memProfile = fs.String("memprofile", "", "write an allocation profile to this file after the upload")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	mk, ok := clients[*name]
	if !ok {
		return fmt.Errorf("unknown client %q (have %v)", *name, clientNames())
	}
	env, err := openEnv(*envPath)
	if err != nil {
		return err
	}
	tgt := env.HTTPS()
	if *proto == "http" {
		tgt = env.HTTP()
	}
	if *endpoint != "" {
		tgt.Endpoint = *endpoint
	}
	stats := &childStats{}
	up, err := mk(clientSetup{env: env, tgt: tgt, user: env.Users["root"], bucket: *bucket, partSize: *partSize, conc: *conc, stats: stats})
	if err != nil {
		return fmt.Errorf("%s: %w", *name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	var run func() (childResult, error)
	switch *kind {
	case "file":
		run = func() (childResult, error) { return uploadFile(ctx, up, *path, *key) }
	case "stream":
		// A plain io.Reader: the client cannot see that stdin is an *os.File (a pipe), so it
		// must treat the body as a stream of unknown length.
		run = func() (childResult, error) { return uploadStream(ctx, up, struct{ io.Reader }{os.Stdin}, *key) }
	case "small":
		run = func() (childResult, error) { return uploadSmall(ctx, up, *dir, *key, *conc) }
	default:
		return fmt.Errorf("unknown kind %q", *kind)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	res, err := run()
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", *name, *kind, err)
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	res.Conns, res.PeakConns = dials.Load(), peakConns.Load()
	stats.fill(&res)
	if res.HWMKiB, err = vmHWM(); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// vmHWM returns the peak resident set size of this process's address space, in KiB.
//
// This, not the maxrss of the child's rusage, is the client's peak RSS: Linux carries the
// parent's peak RSS over into a child that it starts with vfork+exec (which Go's os/exec
// uses), so the rusage maxrss of a small child is never below the parent's RSS at the time.
// VmHWM belongs to the address space made by exec and counts the child's pages alone.
func vmHWM() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

func uploadFile(ctx context.Context, up uploadFunc, path, key string) (childResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return childResult{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return childResult{}, err
	}
	start := time.Now()
	if err := up(ctx, key, f, st.Size()); err != nil {
		return childResult{}, err
	}
	return childResult{Seconds: time.Since(start).Seconds(), Bytes: st.Size(), Objects: 1}, nil
}

// countingReader counts the bytes the client read from the stream.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func uploadStream(ctx context.Context, up uploadFunc, r io.Reader, key string) (childResult, error) {
	cr := &countingReader{r: r}
	start := time.Now()
	if err := up(ctx, key, cr, -1); err != nil {
		return childResult{}, err
	}
	return childResult{Seconds: time.Since(start).Seconds(), Bytes: cr.n, Objects: 1}, nil
}

// uploadSmall uploads every file in dir under prefix/NAME, conc files at a time, each with the
// client's single-object upload call (the files are smaller than a part).
func uploadSmall(ctx context.Context, up uploadFunc, dir, prefix string, conc int) (childResult, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return childResult{}, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return childResult{}, fmt.Errorf("no files in %s", dir)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		total atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
	)
	one := func(name string) error {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if err := up(ctx, prefix+"/"+name, f, st.Size()); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		total.Add(st.Size())
		return nil
	}
	start := time.Now()
	for range min(conc, len(names)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(names) || ctx.Err() != nil {
					return
				}
				if err := one(names[i]); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return childResult{}, err
	}
	return childResult{Seconds: time.Since(start).Seconds(), Bytes: total.Load(), Objects: len(names)}, nil
}

// openEnv reads the server's env file without s3test.Open, which also builds an HTTP client
// from the system's certificate pool: parsing that pool costs the process several MiB that
// no client under test needs (each builds its own transport trusting the server's certificate).
func openEnv(path string) (*s3test.Env, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := &s3test.Env{}
	if err := json.Unmarshal(b, env); err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	if env.HTTPEndpoint == "" || env.Users["root"].AccessKey == "" {
		return nil, fmt.Errorf("env file %s is incomplete", path)
	}
	return env, nil
}
