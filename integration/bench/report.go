package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// runResult is one client's one run of one case.
type runResult struct {
	Case     string `json:"case"`
	Net      string `json:"net"`
	Proto    string `json:"proto"`
	Scenario string `json:"scenario"`
	Kind     string `json:"kind"`
	Client   string `json:"client"`
	Run      int    `json:"run"`
	OK       bool   `json:"ok"`
	Err      string `json:"error,omitempty"`

	Seconds          float64 `json:"seconds"`
	Bytes            int64   `json:"bytes"`
	Objects          int     `json:"objects"`
	MBps             float64 `json:"mb_per_s"`          // 10^6 bytes per second of upload wall time
	FilesPerSec      float64 `json:"files_per_s"`       // small files only
	CPUSeconds       float64 `json:"cpu_seconds"`       // child user+sys, whole process
	UserCPUSeconds   float64 `json:"user_cpu_seconds"`  // child user time: the client's own work
	SysCPUSeconds    float64 `json:"sys_cpu_seconds"`   // child system time: the kernel's (syscalls, copies)
	CPUPerGiB        float64 `json:"cpu_s_per_gib"`     // CPUSeconds per 2^30 bytes uploaded
	RSSMiB           float64 `json:"rss_mib"`           // child's peak RSS (VmHWM, see vmHWM)
	RusageMaxRSSMiB  float64 `json:"rusage_maxrss_mib"` // child's rusage maxrss, which includes the parent's RSS at exec
	ServerCPUSeconds float64 `json:"server_cpu_seconds"`
	ServerCPUPerGiB  float64 `json:"server_cpu_s_per_gib"`
	OtherCPUSeconds  float64 `json:"other_cpu_seconds"` // machine busy time spent by neither (noise)
	Conns            int64   `json:"connections"`       // connections the client opened
	PeakConns        int64   `json:"peak_connections"`  // most connections open at once
	LinkMBps         float64 `json:"link_mb_per_s"`     // the network model's link ceiling (0 on lan)
	OfLink           float64 `json:"of_link"`           // MBps / LinkMBps
	DataRequests     int64   `json:"data_requests"`     // requests with a body the model drew for
	SlowRequests     int64   `json:"slow_requests"`     // of which slow (wan-slow)
	Hedges           int     `json:"hedges"`            // s3mpu: parts sent again
	HedgesWon        int     `json:"hedges_won"`        // s3mpu: hedges that finished first
	HedgedBytes      int64   `json:"hedged_bytes"`      // s3mpu: bytes of the hedged parts
	BodyBytes        int64   `json:"data_body_bytes"`   // bytes of the data requests' bodies that entered the network model
	SentTwice        int64   `json:"sent_twice_bytes"`  // BodyBytes beyond the object's (file and stream runs on a modelled network)
	Level            int     `json:"concurrency_level"` // s3mpu: parts in flight reached (adaptive)
}

func (r runResult) fail(err error) runResult {
	r.OK = false
	r.Err = err.Error()
	return r
}

// addErr fails the result with err too (nil: nothing to add).
func (r *runResult) addErr(err error) {
	if err == nil {
		return
	}
	if r.OK {
		r.OK = false
		r.Err = err.Error()
	} else {
		r.Err += "; " + err.Error()
	}
}

// fromChild copies what the child measured.
func (r *runResult) fromChild(cr childResult) {
	r.Seconds, r.Bytes, r.Objects = cr.Seconds, cr.Bytes, cr.Objects
	r.RSSMiB = float64(cr.HWMKiB) / 1024
	r.Conns, r.PeakConns = cr.Conns, cr.PeakConns
	r.Hedges, r.HedgedBytes, r.HedgesWon, r.Level = cr.Hedges, cr.HedgedBytes, cr.HedgesWon, cr.Level
}

func (r *runResult) derive() {
	if r.Seconds > 0 {
		r.MBps = float64(r.Bytes) / r.Seconds / 1e6
		if r.Kind == "small" {
			r.FilesPerSec = float64(r.Objects) / r.Seconds
		}
	}
	if r.LinkMBps > 0 {
		r.OfLink = r.MBps / r.LinkMBps
		if r.Kind != "small" {
			r.SentTwice = max(r.BodyBytes-r.Bytes, 0)
		}
	}
	if r.Bytes > 0 {
		gib := float64(r.Bytes) / (1 << 30)
		r.CPUPerGiB = r.CPUSeconds / gib
		r.ServerCPUPerGiB = r.ServerCPUSeconds / gib
	}
}

func (r runResult) line() string {
	if !r.OK {
		return fmt.Sprintf("%-16s %-15s run %d FAILED: %s", r.Case, r.Client, r.Run, r.Err)
	}
	s := fmt.Sprintf("%-16s %-15s run %d: %7.1f MB/s  cpu %5.2f s/GiB  rss %6.1f MiB  server cpu %5.2f s/GiB  other cpu %4.1f s  conns %d",
		r.Case, r.Client, r.Run, r.MBps, r.CPUPerGiB, r.RSSMiB, r.ServerCPUPerGiB, r.OtherCPUSeconds, r.Conns)
	if r.Kind == "small" {
		s += fmt.Sprintf("  %.1f files/s", r.FilesPerSec)
	}
	s += fmt.Sprintf("  peak conns %d", r.PeakConns)
	if r.LinkMBps > 0 {
		s += fmt.Sprintf("  %.0f%% of link  slow requests %d/%d  sent twice %.1f%%", r.OfLink*100, r.SlowRequests, r.DataRequests, 100*float64(r.SentTwice)/float64(max(r.Bytes, 1)))
	}
	if r.Hedges > 0 || r.Level > 0 {
		s += fmt.Sprintf("  hedges %d (won %d, %.1f%% of bytes)  level %d", r.Hedges, r.HedgesWon, 100*float64(r.HedgedBytes)/float64(max(r.Bytes, 1)), r.Level)
	}
	return s
}

// stat is the median and the spread of one metric over the successful runs.
type stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func newStat(v []float64) stat {
	if len(v) == 0 {
		return stat{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// MarshalJSON writes NaN (no successful run) as null.
func (s stat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(s.Median) {
		return []byte("null"), nil
	}
	type plain stat
	return json.Marshal(plain(s))
}

// summary is one client in one case over all its runs.
type summary struct {
	Case        string `json:"case"`
	Kind        string `json:"kind"`
	Client      string `json:"client"`
	Runs        int    `json:"runs"`
	Failed      int    `json:"failed"`
	MBps        stat   `json:"mb_per_s"`
	FilesPerSec stat   `json:"files_per_s"`
	CPUPerGiB   stat   `json:"cpu_s_per_gib"`
	RSSMiB      stat   `json:"rss_mib"`
	ServerCPU   stat   `json:"server_cpu_s_per_gib"`
	Conns       stat   `json:"connections"`
	PeakConns   stat   `json:"peak_connections"`
	OfLink      stat   `json:"of_link"`
	HedgedFrac  stat   `json:"hedged_fraction"`     // hedged bytes / object bytes
	TwiceFrac   stat   `json:"sent_twice_fraction"` // bytes sent twice / object bytes (modelled networks)
	Level       stat   `json:"concurrency_level"`
}

// ratio compares s3mpu with the best peer in one case.
type ratio struct {
	Case       string  `json:"case"`
	Throughput float64 `json:"throughput"`  // s3mpu / highest peer throughput (higher is better)
	CPUPerGiB  float64 `json:"cpu_per_gib"` // s3mpu / lowest peer CPU per GiB (lower is better)
	RSS        float64 `json:"rss"`         // s3mpu / lowest peer RSS (lower is better)
	BestTP     string  `json:"best_throughput_peer"`
	BestCPU    string  `json:"best_cpu_peer"`
	BestRSS    string  `json:"best_rss_peer"`
}

// runInfo says when, how and where a report's runs were made.
type runInfo struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Command  string    `json:"command"`
	Machine  machine   `json:"machine"` // with the load average at the end
}

func newRunInfo(m machine, command string, started, finished time.Time) runInfo {
	m.LoadAvgEnd = loadAvg()
	return runInfo{Started: started, Finished: finished, Command: command, Machine: m}
}

type report struct {
	runInfo
	Settings  settings    `json:"settings"`
	Cases     []benchCase `json:"cases"`
	Summaries []summary   `json:"summaries"`
	Ratios    []ratio     `json:"ratios"`
	Failures  int         `json:"failures"`
	Runs      []runResult `json:"runs"`
}

type settings struct {
	Size      int64     `json:"size"`
	WanSize   int64     `json:"wan_size"`
	WanPart   int64     `json:"wan_part_size"`
	Net       netParams `json:"network_model"`
	PartSize  int64     `json:"part_size"`
	Count     int       `json:"small_count"`
	SmallSize int64     `json:"small_size"`
	Clients   []string  `json:"clients"`
}

func buildReport(runs []runResult, cases []benchCase, cfg driverConfig, m machine, command string, started, finished time.Time) *report {
	rep := &report{
		runInfo: newRunInfo(m, command, started, finished), Cases: cases, Runs: runs,
		Settings: settings{Size: cfg.size, WanSize: cfg.wanSize, WanPart: cfg.wanPartSize, Net: cfg.net, PartSize: cfg.partSize, Count: cfg.count, SmallSize: cfg.smallSize, Clients: cfg.clients},
	}
	for _, c := range cases {
		for _, cl := range cfg.clients {
			s := summary{Case: c.Name(), Kind: c.Scenario.Kind, Client: cl}
			var mbps, fps, cpu, rss, srv, conns, peak, oflink, hedged, twice, level []float64
			for _, r := range runs {
				if r.Case != s.Case || r.Client != cl {
					continue
				}
				s.Runs++
				if !r.OK {
					s.Failed++
					continue
				}
				mbps = append(mbps, r.MBps)
				fps = append(fps, r.FilesPerSec)
				cpu = append(cpu, r.CPUPerGiB)
				rss = append(rss, r.RSSMiB)
				srv = append(srv, r.ServerCPUPerGiB)
				conns = append(conns, float64(r.Conns))
				peak = append(peak, float64(r.PeakConns))
				if r.LinkMBps > 0 {
					oflink = append(oflink, r.OfLink)
					if r.Kind != "small" && r.Bytes > 0 {
						twice = append(twice, float64(r.SentTwice)/float64(r.Bytes))
					}
				}
				if strings.HasPrefix(cl, "s3mpu") && r.Bytes > 0 {
					hedged = append(hedged, float64(r.HedgedBytes)/float64(r.Bytes))
					if r.Level > 0 {
						level = append(level, float64(r.Level))
					}
				}
			}
			if s.Runs == 0 {
				continue // discard on a modelled network
			}
			rep.Failures += s.Failed
			s.MBps, s.FilesPerSec, s.CPUPerGiB, s.RSSMiB, s.ServerCPU = newStat(mbps), newStat(fps), newStat(cpu), newStat(rss), newStat(srv)
			s.Conns, s.PeakConns, s.OfLink, s.HedgedFrac, s.Level = newStat(conns), newStat(peak), newStat(oflink), newStat(hedged), newStat(level)
			s.TwiceFrac = newStat(twice)
			rep.Summaries = append(rep.Summaries, s)
		}
		if r, ok := compare(rep.Summaries, c.Name()); ok {
			rep.Ratios = append(rep.Ratios, r)
		}
	}
	return rep
}

// compare computes s3mpu's ratios against the best peer of the case, if both have results.
func compare(sums []summary, caseName string) (ratio, bool) {
	var mine *summary
	var peers []summary
	for i, s := range sums {
		if s.Case != caseName || math.IsNaN(s.MBps.Median) {
			continue
		}
		if s.Client == "s3mpu" {
			mine = &sums[i]
		} else if peerOf(s.Client) {
			peers = append(peers, s)
		}
	}
	if mine == nil || len(peers) == 0 {
		return ratio{}, false
	}
	bestTP, bestCPU, bestRSS := peers[0], peers[0], peers[0]
	for _, p := range peers[1:] {
		if p.MBps.Median > bestTP.MBps.Median {
			bestTP = p
		}
		if p.CPUPerGiB.Median < bestCPU.CPUPerGiB.Median {
			bestCPU = p
		}
		if p.RSSMiB.Median < bestRSS.RSSMiB.Median {
			bestRSS = p
		}
	}
	return ratio{
		Case:       caseName,
		Throughput: mine.MBps.Median / bestTP.MBps.Median,
		CPUPerGiB:  mine.CPUPerGiB.Median / bestCPU.CPUPerGiB.Median,
		RSS:        mine.RSSMiB.Median / bestRSS.RSSMiB.Median,
		BestTP:     bestTP.Client, BestCPU: bestCPU.Client, BestRSS: bestRSS.Client,
	}, true
}

func (rep *report) ratioLines() []string {
	var out []string
	for _, r := range rep.Ratios {
		out = append(out, fmt.Sprintf("ratio s3mpu/best-peer %s throughput=%.2f cpu_per_gib=%.2f rss=%.2f", r.Case, r.Throughput, r.CPUPerGiB, r.RSS))
	}
	return out
}

func spread(s stat, format string) string {
	if math.IsNaN(s.Median) {
		return "—"
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+")", s.Median, s.Min, s.Max)
}

// runsText prints the number of successful runs, and of failed ones if any.
func runsText(runs, failed int) string {
	s := fmt.Sprintf("%d", runs-failed)
	if failed > 0 {
		s += fmt.Sprintf(" (%d failed)", failed)
	}
	return s
}

// spreadPct prints a fraction's median and spread in per cent.
func spreadPct(s stat) string {
	if math.IsNaN(s.Median) {
		return "—"
	}
	return fmt.Sprintf("%.0f%% (%.0f–%.0f%%)", s.Median*100, s.Min*100, s.Max*100)
}

// markdown renders the summaries as a table, followed by the targets.
func (rep *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Results %s\n\n", rep.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "`%s` — %s; lan: %s file/stream, %s parts, %d × %s small files; median (min–max) of the runs.\n\n",
		rep.Command, rep.Machine.String(), formatSize(rep.Settings.Size), formatSize(rep.Settings.PartSize), rep.Settings.Count, formatSize(rep.Settings.SmallSize))
	lan := map[string]bool{}
	wan := false
	for _, c := range rep.Cases {
		lan[c.Name()] = c.Net == "" || c.Net == "lan"
		wan = wan || !lan[c.Name()]
	}
	if wan {
		fmt.Fprintf(&b, "Network model (wan, wan-slow; plain HTTP; %s objects, %s parts at equal settings): %s.\n\n",
			formatSize(rep.Settings.WanSize), formatSize(rep.Settings.WanPart), rep.Settings.Net.String())
		b.WriteString("| case | client | runs | MB/s | of link | peak conns | hedged parts' bytes | bytes sent twice | parts in flight reached | client CPU s/GiB |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range rep.Summaries {
			if lan[s.Case] {
				continue
			}
			hedged, twice, level := "—", "—", "—"
			if !math.IsNaN(s.HedgedFrac.Median) {
				hedged = fmt.Sprintf("%.1f%% (%.1f–%.1f%%)", s.HedgedFrac.Median*100, s.HedgedFrac.Min*100, s.HedgedFrac.Max*100)
			}
			if !math.IsNaN(s.TwiceFrac.Median) {
				twice = fmt.Sprintf("%.1f%% (%.1f–%.1f%%)", s.TwiceFrac.Median*100, s.TwiceFrac.Min*100, s.TwiceFrac.Max*100)
			}
			if !math.IsNaN(s.Level.Median) {
				level = spread(s.Level, "%.0f")
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Case, s.Client, runsText(s.Runs, s.Failed),
				spread(s.MBps, "%.0f"), spreadPct(s.OfLink), spread(s.PeakConns, "%.0f"), hedged, twice, level, spread(s.CPUPerGiB, "%.2f"))
		}
		b.WriteString("\n")
	}
	b.WriteString("| case | client | runs | MB/s | files/s | client CPU s/GiB | peak RSS MiB | server CPU s/GiB | conns |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range rep.Summaries {
		if !lan[s.Case] {
			continue
		}
		fps := "—"
		if s.Kind == "small" {
			fps = spread(s.FilesPerSec, "%.0f")
		}
		conns := "—"
		if !math.IsNaN(s.Conns.Median) {
			conns = fmt.Sprintf("%.0f", s.Conns.Median)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Case, s.Client, runsText(s.Runs, s.Failed),
			spread(s.MBps, "%.0f"), fps, spread(s.CPUPerGiB, "%.2f"), spread(s.RSSMiB, "%.0f"), spread(s.ServerCPU, "%.2f"), conns)
	}
	if len(rep.Ratios) > 0 {
		b.WriteString("\n| case | throughput s3mpu/best | CPU/GiB s3mpu/best | RSS s3mpu/best |\n|---|---|---|---|\n")
		for _, r := range rep.Ratios {
			fmt.Fprintf(&b, "| %s | %.2f (vs %s) | %.2f (vs %s) | %.2f (vs %s) |\n", r.Case, r.Throughput, r.BestTP, r.CPUPerGiB, r.BestCPU, r.RSS, r.BestRSS)
		}
	}
	if rows := pairedRows(rep.Runs); len(rows) > 0 {
		b.WriteString("\nPaired by round (s3mpu's figure ÷ the other client's in the same round, median over the rounds; the clients take turns in each round):\n\n")
		b.WriteString("| case | s3mpu ÷ | rounds | CPU/GiB | user CPU | system CPU | MB/s | rounds with s3mpu's CPU ≤ |\n|---|---|---|---|---|---|---|---|\n")
		for _, r := range rows {
			b.WriteString(r + "\n")
		}
	}
	if lines := rep.targetLines(); len(lines) > 0 {
		b.WriteString("\nTargets:\n\n")
		for _, l := range lines {
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}

// targetLines states, for each case, whether s3mpu met the targets.
func (rep *report) targetLines() []string {
	var out []string
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	kind := map[string]string{}
	cs := map[string]benchCase{}
	for _, c := range rep.Cases {
		kind[c.Name()] = c.Scenario.Kind
		cs[c.Name()] = c
	}
	out = append(out, fmt.Sprintf("every run: 0 orphans, 0 corrupt objects (a multipart upload left behind, a wrong size or, for s3mpu on the modelled networks, a wrong SHA-256 fails a run): %d failed — %s",
		rep.Failures, mark(rep.Failures == 0)))
	for _, r := range rep.Ratios {
		c := cs[r.Case]
		switch {
		case c.Net == "wan-slow" && c.Scenario.Conc > 0:
			out = append(out, fmt.Sprintf("%s (equal settings): throughput ≥ 1.3× best peer: %.2f× (vs %s) — %s", r.Case, r.Throughput, r.BestTP, mark(r.Throughput >= 1.3)))
		case c.Net == "wan" && c.Scenario.Conc == 0:
			out = append(out, fmt.Sprintf("%s (each at its defaults): throughput ≥ 1.5× best peer: %.2f× (vs %s) — %s", r.Case, r.Throughput, r.BestTP, mark(r.Throughput >= 1.5)))
		}
	}
	for _, s := range rep.Summaries {
		c := cs[s.Case]
		if s.Client != "s3mpu" || c.Net == "" || c.Net == "lan" || math.IsNaN(s.OfLink.Median) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: s3mpu ≥ 85%% of the link: %.0f%% — %s; bytes sent twice ≤ 10%%: max %.1f%% — %s (hedged parts' bytes max %.1f%%); peak connections %.0f (median %.0f)",
			s.Case, s.OfLink.Median*100, mark(s.OfLink.Median >= 0.85), s.TwiceFrac.Max*100, mark(s.TwiceFrac.Max <= 0.10), s.HedgedFrac.Max*100, s.PeakConns.Max, s.PeakConns.Median))
	}
	for _, r := range rep.Ratios {
		if kind[r.Case] == "file" && (cs[r.Case].Net == "" || cs[r.Case].Net == "lan") {
			out = append(out, fmt.Sprintf("%s: throughput ≥ 1.10× best peer: %.2f× — %s; CPU/GiB ≤ 0.75× best peer: %.2f× — %s",
				r.Case, r.Throughput, mark(r.Throughput >= 1.10), r.CPUPerGiB, mark(r.CPUPerGiB <= 0.75)))
		}
	}
	for _, s := range rep.Summaries {
		if s.Client != "s3mpu" || s.Kind != "stream" || math.IsNaN(s.RSSMiB.Max) {
			continue
		}
		var conc int
		for _, c := range rep.Cases {
			if c.Name() == s.Case {
				conc = c.Scenario.Conc
			}
		}
		limit := float64(int64(conc+1)*rep.Settings.PartSize+16<<20) / (1 << 20)
		out = append(out, fmt.Sprintf("%s: s3mpu peak RSS ≤ (%d+1)×%s+16MiB = %.0f MiB: max %.0f MiB — %s",
			s.Case, conc, formatSize(rep.Settings.PartSize), limit, s.RSSMiB.Max, mark(s.RSSMiB.Max <= limit)))
	}
	return out
}

// print prints the report and its ratio lines, writes it to dir and fails if a run failed.
func (rep *report) print(dir string) error {
	md := rep.markdown()
	fmt.Print(md)
	if err := writeResults(dir, "bench", rep.Started, rep, md); err != nil {
		return err
	}
	fmt.Println()
	for _, l := range rep.ratioLines() {
		fmt.Println(l)
	}
	if n := rep.Failures; n > 0 {
		return fmt.Errorf("%d run(s) failed", n)
	}
	return nil
}

// writeResults stores a report as JSON and Markdown in dir, as PREFIX-STAMP.* (stamped with
// its start time) and as latest.* ("bench") or PREFIX-latest.* (any other prefix).
func writeResults(dir, prefix string, started time.Time, rep any, md string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	stamp := prefix + "-" + started.Format("20060102T150405Z")
	latest := prefix + "-latest"
	if prefix == "bench" {
		latest = "latest"
	}
	for name, data := range map[string][]byte{
		stamp + ".json": js, latest + ".json": js,
		stamp + ".md": []byte(md), latest + ".md": []byte(md),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	logf("results written to %s", filepath.Join(dir, stamp+".{json,md}"))
	return nil
}

// pairedRows compares s3mpu with each other client round by round: for every case and
// client, over the rounds in which both ran and succeeded, the median of s3mpu's figure
// divided by the client's, and the number of rounds in which s3mpu's CPU per GiB was no
// higher. Pairing by round takes out most of what the rest of the machine does to one
// round, which a median per client keeps.
func pairedRows(runs []runResult) []string {
	type key struct {
		c, client string
		run       int
	}
	byKey := map[key]runResult{}
	var cases, clients []string
	for _, r := range runs {
		if !r.OK || r.Bytes == 0 {
			continue
		}
		byKey[key{r.Case, r.Client, r.Run}] = r
		if !slices.Contains(cases, r.Case) {
			cases = append(cases, r.Case)
		}
		if r.Client != "s3mpu" && !slices.Contains(clients, r.Client) {
			clients = append(clients, r.Client)
		}
	}
	var rows []string
	for _, c := range cases {
		for _, cl := range clients {
			var cpu, user, sys, mbps []float64
			le := 0
			for k, mine := range byKey {
				if k.c != c || k.client != "s3mpu" {
					continue
				}
				other, ok := byKey[key{c, cl, k.run}]
				if !ok || other.CPUSeconds == 0 || other.UserCPUSeconds == 0 || other.SysCPUSeconds == 0 {
					continue
				}
				// Per GiB on each side: the clients may have uploaded different byte counts.
				per := func(v float64, r runResult) float64 { return v / float64(r.Bytes) }
				rc := per(mine.CPUSeconds, mine) / per(other.CPUSeconds, other)
				cpu = append(cpu, rc)
				user = append(user, per(mine.UserCPUSeconds, mine)/per(other.UserCPUSeconds, other))
				sys = append(sys, per(mine.SysCPUSeconds, mine)/per(other.SysCPUSeconds, other))
				mbps = append(mbps, mine.MBps/other.MBps)
				if rc <= 1 {
					le++
				}
			}
			if len(cpu) == 0 {
				continue
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %d | %.3f | %.3f | %.3f | %.2f | %d of %d |",
				c, cl, len(cpu), newStat(cpu).Median, newStat(user).Median, newStat(sys).Median, newStat(mbps).Median, le, len(cpu)))
		}
	}
	return rows
}
