package main

import (
	"math"
	"strings"
	"testing"
)

func TestNewStat(t *testing.T) {
	for _, tc := range []struct {
		in            []float64
		med, min, max float64
	}{
		{[]float64{3, 1, 2}, 2, 1, 3},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},
		{[]float64{7}, 7, 7, 7},
	} {
		s := newStat(tc.in)
		if s.Median != tc.med || s.Min != tc.min || s.Max != tc.max {
			t.Errorf("newStat(%v) = %+v, want median %v min %v max %v", tc.in, s, tc.med, tc.min, tc.max)
		}
	}
	if s := newStat(nil); !math.IsNaN(s.Median) {
		t.Errorf("newStat(nil).Median = %v, want NaN", s.Median)
	}
	in := []float64{3, 1, 2}
	newStat(in)
	if in[0] != 3 {
		t.Errorf("newStat sorted its input in place: %v", in)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": 1 << 30, "16MiB": 16 << 20, "1.5KiB": 1536, "1MB": 1e6, "42": 42, "7B": 7} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1MiB", "1TiB", "x"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
	for n, want := range map[int64]string{1 << 30: "1GiB", 256 << 20: "256MiB", 1500: "1500B", 3 << 10: "3KiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseScenario(t *testing.T) {
	sc, err := parseScenario("stream-c8")
	if err != nil || sc.Kind != "stream" || sc.Conc != 8 {
		t.Errorf("parseScenario(stream-c8) = %+v, %v", sc, err)
	}
	for _, bad := range []string{"file", "file-c0", "files-c4", "file-cx", "file-4"} {
		if _, err := parseScenario(bad); err == nil {
			t.Errorf("parseScenario(%q) succeeded", bad)
		}
	}
}

func TestCompareAgainstBestPeer(t *testing.T) {
	sum := func(client string, mbps, cpu, rss float64) summary {
		return summary{Case: "https/file-c4", Kind: "file", Client: client,
			MBps: stat{Median: mbps}, CPUPerGiB: stat{Median: cpu}, RSSMiB: stat{Median: rss}}
	}
	sums := []summary{
		sum("s3mpu", 440, 0.3, 20),
		sum("manager", 400, 0.6, 40),
		sum("minio", 300, 0.4, 80),
		sum("discard", 9000, 0.1, 10), // not a peer: must not be "best"
		{Case: "https/file-c4", Client: "transfermanager", MBps: stat{Median: math.NaN()}},
		{Case: "http/file-c4", Client: "manager", MBps: stat{Median: 1000}, CPUPerGiB: stat{Median: 0.01}, RSSMiB: stat{Median: 1}},
	}
	r, ok := compare(sums, "https/file-c4")
	if !ok {
		t.Fatal("compare found nothing")
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(r.Throughput, 1.1) || r.BestTP != "manager" {
		t.Errorf("throughput ratio %v vs %s, want 1.1 vs manager", r.Throughput, r.BestTP)
	}
	if !near(r.CPUPerGiB, 0.75) || r.BestCPU != "minio" {
		t.Errorf("cpu ratio %v vs %s, want 0.75 vs minio", r.CPUPerGiB, r.BestCPU)
	}
	if !near(r.RSS, 0.5) || r.BestRSS != "manager" {
		t.Errorf("rss ratio %v vs %s, want 0.5 vs manager", r.RSS, r.BestRSS)
	}
	if _, ok := compare(sums[1:], "https/file-c4"); ok {
		t.Error("compare without s3mpu reported a ratio")
	}

	rep := &report{Ratios: []ratio{r}, Cases: []benchCase{{Proto: "https", Scenario: scenario{Name: "file-c4", Kind: "file", Conc: 4}}}}
	lines := rep.ratioLines()
	if len(lines) != 1 || lines[0] != "ratio s3mpu/best-peer https/file-c4 throughput=1.10 cpu_per_gib=0.75 rss=0.50" {
		t.Errorf("ratio lines %q", lines)
	}
	if tl := rep.targetLines(); len(tl) != 2 || !strings.Contains(tl[0], "0 failed — met") || !strings.Contains(tl[1], "1.10× — met") || !strings.Contains(tl[1], "0.75× — met") {
		t.Errorf("target lines %q", tl)
	}
}

func TestStreamRSSTarget(t *testing.T) {
	rep := &report{
		Settings:  settings{PartSize: 16 << 20},
		Cases:     []benchCase{{Proto: "https", Scenario: scenario{Name: "stream-c4", Kind: "stream", Conc: 4}}},
		Summaries: []summary{{Case: "https/stream-c4", Kind: "stream", Client: "s3mpu", RSSMiB: stat{Median: 90, Min: 90, Max: 97}}},
	}
	tl := rep.targetLines()
	if len(tl) != 2 || !strings.Contains(tl[1], "= 96 MiB: max 97 MiB — NOT met") {
		t.Errorf("target lines %q", tl)
	}
}

// TestWanTargets: the modelled networks' targets: wan-slow at equal settings against 1.3×, wan
// at defaults against 1.5×, s3mpu's share of the link, its bytes sent twice, and failed runs.
func TestWanTargets(t *testing.T) {
	rep := &report{
		Failures: 1,
		Cases: []benchCase{
			{Net: "wan-slow", Proto: "http", Scenario: scenario{Name: "file-c8", Kind: "file", Conc: 8}},
			{Net: "wan", Proto: "http", Scenario: scenario{Name: "file-default", Kind: "file"}},
		},
		Ratios: []ratio{
			{Case: "wan-slow/http/file-c8", Throughput: 1.31, BestTP: "manager"},
			{Case: "wan/http/file-default", Throughput: 1.49, BestTP: "minio"},
		},
		Summaries: []summary{
			{Case: "wan/http/file-default", Client: "s3mpu", OfLink: stat{Median: 0.86}, HedgedFrac: stat{Max: 0.14}, TwiceFrac: stat{Max: 0.11}, PeakConns: stat{Median: 16, Max: 17}},
			{Case: "wan/http/file-default", Client: "manager", OfLink: stat{Median: 0.5}},
		},
	}
	got := strings.Join(rep.targetLines(), "\n")
	for _, want := range []string{
		"1 failed — NOT met",
		"wan-slow/http/file-c8 (equal settings): throughput ≥ 1.3× best peer: 1.31× (vs manager) — met",
		"wan/http/file-default (each at its defaults): throughput ≥ 1.5× best peer: 1.49× (vs minio) — NOT met",
		"wan/http/file-default: s3mpu ≥ 85% of the link: 86% — met; bytes sent twice ≤ 10%: max 11.0% — NOT met (hedged parts' bytes max 14.0%); peak connections 17",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("target lines lack %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "of the link") != 1 {
		t.Errorf("a link line for a peer:\n%s", got)
	}
}

func TestTurnOrder(t *testing.T) {
	cl := []string{"a", "b", "c"}
	for run, want := range map[int]string{1: "a b c", 2: "b c a", 3: "c a b", 4: "a b c"} {
		if got := strings.Join(turnOrder(cl, run), " "); got != want {
			t.Errorf("turnOrder(run %d) = %q, want %q", run, got, want)
		}
	}
}

// TestPairedRows: ratios are taken within a round, per GiB on each side, and a round where
// either client failed is left out.
func TestPairedRows(t *testing.T) {
	run := func(client string, round int, cpu float64, ok bool) runResult {
		return runResult{Case: "https/file-c4", Client: client, Run: round, OK: ok, Bytes: 1 << 30, MBps: 100,
			CPUSeconds: cpu, UserCPUSeconds: cpu * 0.6, SysCPUSeconds: cpu * 0.4}
	}
	runs := []runResult{
		run("s3mpu", 1, 1.0, true), run("manager", 1, 2.0, true), // 0.5
		run("s3mpu", 2, 3.0, true), run("manager", 2, 1.0, true), // 3.0
		run("s3mpu", 3, 1.1, true), run("manager", 3, 1.0, true), // 1.1
		run("s3mpu", 4, 9.0, true), run("manager", 4, 1.0, false), // left out
	}
	rows := pairedRows(runs)
	want := "| https/file-c4 | manager | 3 | 1.100 | 1.100 | 1.100 | 1.00 | 1 of 3 |"
	if len(rows) != 1 || rows[0] != want {
		t.Fatalf("rows %q, want %q", rows, want)
	}
}
