package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseShardsFlags(t *testing.T) {
	cfg, err := parseShardsFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.size != 256<<20 || cfg.partSize != 8<<20 || cfg.net.LinkRate != 16e6 || cfg.net.ConnRate != 6e6 || len(cfg.workers) != 4 || cfg.net.SlowFraction != 0 {
		t.Errorf("defaults: %+v", cfg)
	}
	for _, args := range [][]string{
		{"-workers", "1,33"},                // more workers than the 32 parts
		{"-workers", "0"},                   // not a number of workers
		{"-partsize", "1MiB"},               // below S3's minimum part size
		{"-link-rate", "10"},                // below what the model takes
		{"-latency", "1ms"},                 // jitter above the latency
		{"-runs", "0"},                      // nothing to run
		{"-size", "64MiB", "-workers", "9"}, // 8 parts
	} {
		if _, err := parseShardsFlags(args); err == nil {
			t.Errorf("parseShardsFlags(%q) accepted", args)
		}
	}
}

func TestShardsReportHolds(t *testing.T) {
	cfg, err := parseShardsFlags([]string{"-workers", "1,2,4", "-runs", "2"})
	if err != nil {
		t.Fatal(err)
	}
	// Throughput per W: W=1 at the link, W=2 at 90% of 2 links in one run and failed in the
	// other, W=4 at half of 4 links.
	mk := func(w, run int, mbps float64, ok bool) shardRun {
		r := shardRun{Workers: w, Run: run, OK: ok, Bytes: cfg.size, CeilMBps: float64(w) * cfg.workerCeiling(),
			Seconds: float64(cfg.size) / 1e6 / mbps, TotalSeconds: 2 * float64(cfg.size) / 1e6 / mbps}
		r.derive(2)
		return r
	}
	runs := []shardRun{mk(1, 1, 16, true), mk(1, 2, 16, true), mk(2, 1, 28.8, true), mk(2, 2, 1, false), mk(4, 1, 32, true), mk(4, 2, 32, true)}
	rep := buildShardsReport(runs, cfg, machine{CPUs: 2}, "test", time.Now(), time.Now())
	if cfg.workerCeiling() != 16 {
		t.Errorf("ceiling %v MB/s, want the 16 MB/s link (4 × 6 MB/s connections is more)", cfg.workerCeiling())
	}
	if rep.Failures != 1 {
		t.Errorf("failures = %d, want 1", rep.Failures)
	}
	if got, want := rep.holds(), "at W = 1, 2; not at W = 4 (50%)."; !strings.HasSuffix(got, want) {
		t.Errorf("holds() = %q, want it to end with %q", got, want)
	}
	md := rep.markdown()
	for _, want := range []string{"| 2 | 1 (1 failed) | 32 | 29 (29–29) | 90% (90–90%) | 0.9 (0.9–0.9) | 14 (14–14) |", "16 MB/s per worker"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
