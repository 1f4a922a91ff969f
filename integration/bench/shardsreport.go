package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// shardRun is one sharded upload with a number of workers.
type shardRun struct {
	Workers int    `json:"workers"`
	Run     int    `json:"run"`
	OK      bool   `json:"ok"`
	Err     string `json:"error,omitempty"`
	Bytes   int64  `json:"bytes"`

	Seconds          float64 `json:"seconds"`            // first worker's start to last worker's exit
	TotalSeconds     float64 `json:"total_seconds"`      // plan to the end of complete
	MBps             float64 `json:"mb_per_s"`           // Bytes / Seconds, 10^6 bytes per second
	TotalMBps        float64 `json:"total_mb_per_s"`     // Bytes / TotalSeconds
	CeilMBps         float64 `json:"ceiling_mb_per_s"`   // W × L, L the per-worker ceiling (see workerCeiling)
	OfCeil           float64 `json:"of_ceiling"`         // MBps / CeilMBps
	WorkerCPUSeconds float64 `json:"worker_cpu_seconds"` // user+sys of the upload-shard processes
	ProxyCPUSeconds  float64 `json:"proxy_cpu_seconds"`  // this process (the proxies) while the workers ran
	ServerCPUSeconds float64 `json:"server_cpu_seconds"` // the server's processes while the workers ran
	BusyCPUSeconds   float64 `json:"busy_cpu_seconds"`   // the whole machine while the workers ran
	WorkerCPUPerGiB  float64 `json:"worker_cpu_s_per_gib"`
	ProxyCPUPerGiB   float64 `json:"proxy_cpu_s_per_gib"`
	ServerCPUPerGiB  float64 `json:"server_cpu_s_per_gib"`
	Busy             float64 `json:"machine_busy"` // BusyCPUSeconds / (Seconds × CPUs)
	ServerCPUs       float64 `json:"server_cpus"`  // ServerCPUSeconds / Seconds: CPUs the server kept busy
	RunCPUs          float64 `json:"run_cpus"`     // (workers + proxies + server) CPU seconds / Seconds
	// Excess is the time over Bytes / (W × L): what the links alone do not explain (process
	// starts, listing the parts, connections through the latency, the last parts' tail, CPU).
	Excess float64 `json:"excess_seconds"`
}

// addErr fails the run with err too (nil: nothing to add).
func (r *shardRun) addErr(err error) {
	if err == nil {
		return
	}
	if r.OK {
		r.OK, r.Err = false, err.Error()
	} else {
		r.Err += "; " + err.Error()
	}
}

func (r *shardRun) derive(cpus int) {
	if r.Seconds > 0 {
		r.MBps = float64(r.Bytes) / r.Seconds / 1e6
		r.Busy = r.BusyCPUSeconds / (r.Seconds * float64(max(cpus, 1)))
		r.ServerCPUs = r.ServerCPUSeconds / r.Seconds
		r.RunCPUs = (r.WorkerCPUSeconds + r.ProxyCPUSeconds + r.ServerCPUSeconds) / r.Seconds
	}
	if r.TotalSeconds > 0 {
		r.TotalMBps = float64(r.Bytes) / r.TotalSeconds / 1e6
	}
	if r.CeilMBps > 0 {
		r.OfCeil = r.MBps / r.CeilMBps
		r.Excess = r.Seconds - float64(r.Bytes)/(r.CeilMBps*1e6)
	}
	gib := float64(r.Bytes) / (1 << 30)
	r.WorkerCPUPerGiB, r.ProxyCPUPerGiB, r.ServerCPUPerGiB = r.WorkerCPUSeconds/gib, r.ProxyCPUSeconds/gib, r.ServerCPUSeconds/gib
}

func (r shardRun) line() string {
	if !r.OK {
		return fmt.Sprintf("workers %d run %d FAILED: %s", r.Workers, r.Run, r.Err)
	}
	return fmt.Sprintf("workers %d run %d: %6.1f MB/s (%3.0f%% of %3.0f)  end to end %6.1f MB/s  cpu s/GiB: workers %5.2f proxies %5.2f server %5.2f  CPUs: server %4.2f run %4.2f  machine busy %3.0f%%  %.2f s over bytes/(W × L)",
		r.Workers, r.Run, r.MBps, r.OfCeil*100, r.CeilMBps, r.TotalMBps, r.WorkerCPUPerGiB, r.ProxyCPUPerGiB, r.ServerCPUPerGiB, r.ServerCPUs, r.RunCPUs, r.Busy*100, r.Excess)
}

// shardRow is one number of workers over its runs.
type shardRow struct {
	Workers    int     `json:"workers"`
	Runs       int     `json:"runs"`
	Failed     int     `json:"failed"`
	CeilMBps   float64 `json:"ceiling_mb_per_s"`
	MBps       stat    `json:"mb_per_s"`
	OfCeil     stat    `json:"of_ceiling"`
	TotalMBps  stat    `json:"total_mb_per_s"`
	WorkerCPU  stat    `json:"worker_cpu_s_per_gib"`
	ProxyCPU   stat    `json:"proxy_cpu_s_per_gib"`
	ServerCPU  stat    `json:"server_cpu_s_per_gib"`
	Busy       stat    `json:"machine_busy"`
	ServerCPUs stat    `json:"server_cpus"`
	RunCPUs    stat    `json:"run_cpus"`
	Excess     stat    `json:"excess_seconds"`
}

// shardsSettings are the parameters of a shards run.
type shardsSettings struct {
	Size        int64     `json:"size"`
	PartSize    int64     `json:"part_size"`
	Parts       int64     `json:"parts"`
	Concurrency int       `json:"concurrency_per_worker"`
	Runs        int       `json:"runs"`
	Workers     []int     `json:"workers"`
	Net         netParams `json:"network_model_per_worker"`
	CeilMBps    float64   `json:"worker_ceiling_mb_per_s"` // L
}

type shardsReport struct {
	runInfo
	Settings shardsSettings `json:"settings"`
	Rows     []shardRow     `json:"rows"`
	Failures int            `json:"failures"`
	Runs     []shardRun     `json:"runs"`
}

func buildShardsReport(runs []shardRun, cfg shardsConfig, m machine, command string, started, finished time.Time) *shardsReport {
	rep := &shardsReport{runInfo: newRunInfo(m, command, started, finished), Runs: runs,
		Settings: shardsSettings{Size: cfg.size, PartSize: cfg.partSize, Parts: (cfg.size + cfg.partSize - 1) / cfg.partSize,
			Concurrency: cfg.conc, Runs: cfg.runs, Workers: cfg.workers, Net: cfg.net, CeilMBps: cfg.workerCeiling()}}
	for _, w := range cfg.workers {
		row := shardRow{Workers: w, CeilMBps: float64(w) * cfg.workerCeiling()}
		var mbps, oflink, total, wcpu, pcpu, scpu, busy, scpus, rcpus, excess []float64
		for _, r := range runs {
			if r.Workers != w {
				continue
			}
			row.Runs++
			if !r.OK {
				row.Failed++
				continue
			}
			mbps, oflink, total = append(mbps, r.MBps), append(oflink, r.OfCeil), append(total, r.TotalMBps)
			wcpu, pcpu, scpu, busy = append(wcpu, r.WorkerCPUPerGiB), append(pcpu, r.ProxyCPUPerGiB), append(scpu, r.ServerCPUPerGiB), append(busy, r.Busy)
			scpus, rcpus, excess = append(scpus, r.ServerCPUs), append(rcpus, r.RunCPUs), append(excess, r.Excess)
		}
		rep.Failures += row.Failed
		row.MBps, row.OfCeil, row.TotalMBps = newStat(mbps), newStat(oflink), newStat(total)
		row.WorkerCPU, row.ProxyCPU, row.ServerCPU, row.Busy = newStat(wcpu), newStat(pcpu), newStat(scpu), newStat(busy)
		row.ServerCPUs, row.RunCPUs, row.Excess = newStat(scpus), newStat(rcpus), newStat(excess)
		rep.Rows = append(rep.Rows, row)
	}
	return rep
}

// markdown renders the parameters, the table and where the W × L line holds.
func (rep *shardsReport) markdown() string {
	var b strings.Builder
	st := rep.Settings
	fmt.Fprintf(&b, "## Sharded upload against the number of workers: %s\n\n", rep.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "`%s` — %s (at the end: %s).\n\n", rep.Command, rep.Machine.String(), rep.Machine.LoadAvgEnd)
	fmt.Fprintf(&b, "One %s file (page-cached) in %d parts of %s; `s3mpu plan --shards W`, then W `s3mpu upload-shard` processes started together (%d parts in flight each), then `s3mpu complete`; the object's size and SHA-256 are checked and no multipart upload may be left. "+
		"Each worker reaches the server through its own proxy: %s; its ceiling L = min(link, parts in flight × connection rate) = %.0f MB/s. The plan and the complete go straight to the server (plain HTTP). "+
		"MB/s: the object's bytes (10^6 B/s) over the time from the first worker's start to the last one's exit; end to end: from the plan's start to the complete's exit; s over: the workers' time less the object's bytes / (W × L), the time the ceilings do not explain. "+
		"CPU per GiB: the workers' (user+sys), the proxies' (the bench process), the server's (versitygw); CPUs: the server's CPU time, and the workers', proxies' and server's together, over the workers' time; machine busy: the machine's busy CPU time (other work included) over the workers' time × %d CPUs. "+
		"%d runs per W, the order rotated from round to round; median (min–max).\n\n",
		formatSize(st.Size), st.Parts, formatSize(st.PartSize), st.Concurrency, st.Net.workerString(), st.CeilMBps, rep.Machine.CPUs, st.Runs)
	b.WriteString("| workers | runs | W × L MB/s | MB/s | of W × L | s over | end to end MB/s | worker CPU s/GiB | proxy CPU s/GiB | server CPU s/GiB | server CPUs | run CPUs | machine busy |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "| %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Workers, runsText(r.Runs, r.Failed), r.CeilMBps,
			spread(r.MBps, "%.0f"), spreadPct(r.OfCeil), spread(r.Excess, "%.1f"), spread(r.TotalMBps, "%.0f"),
			spread(r.WorkerCPU, "%.2f"), spread(r.ProxyCPU, "%.2f"), spread(r.ServerCPU, "%.2f"),
			spread(r.ServerCPUs, "%.2f"), spread(r.RunCPUs, "%.2f"), spreadPct(r.Busy))
	}
	fmt.Fprintf(&b, "\n%s\n", rep.holds())
	return b.String()
}

// ceilHolds is the share of W × L the median must reach for the line to count as held.
const ceilHolds = 0.85

// holds says for which numbers of workers the median reached ceilHolds of W × L.
func (rep *shardsReport) holds() string {
	var held, not []string
	for _, r := range rep.Rows {
		if math.IsNaN(r.OfCeil.Median) {
			continue
		}
		w := fmt.Sprintf("%d", r.Workers)
		if r.OfCeil.Median >= ceilHolds {
			held = append(held, w)
		} else {
			not = append(not, fmt.Sprintf("%s (%.0f%%)", w, r.OfCeil.Median*100))
		}
	}
	list := func(s []string) string {
		if len(s) == 0 {
			return "none"
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("W × L held (median ≥ %.0f%% of it) at W = %s; not at W = %s.", ceilHolds*100, list(held), list(not))
}
