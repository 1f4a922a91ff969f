// Command bench uploads the same data with s3mpu's uploader and with the Go clients people use
// today (aws-sdk-go-v2 feature/s3/manager, feature/s3/transfermanager, minio-go v7), against the
// local test server, and reports throughput, client CPU per GiB and peak RSS side by side.
//
// Run it from the integration module (or with `make bench` from the repository root) once the
// server is up (`make server-start`):
//
//	go run ./bench                                   # the full run, under 15 minutes on 2 cores
//	go run ./bench -size 64MiB -wan-size 64MiB -runs 1   # a quick check
//	go run ./bench -nets wan-slow -clients s3mpu,manager # one network only
//	go run ./bench -clients s3mpu -protos https -scenarios file-c8 -runs 1 -cpuprofile /tmp/prof
//
// Every upload runs in its own child process (this binary, re-executed with the `client`
// subcommand), so the CPU time and the peak RSS reported are the client's own: user+sys time
// and maxrss come from the child's rusage. The wall time is measured by the child around the
// upload call alone (client set-up and process start are excluded); the parent checks the
// object's size afterwards and deletes it before the next run.
//
// Scenarios (each over plain HTTP and HTTPS on lan):
//
//	file-cN       the -size file (default 256 MiB, page-cached), N parts in flight, 16 MiB parts
//	stream-cN     the same bytes piped into the child's stdin, seen by the client as a plain io.Reader
//	small-cN      -count files of -small-size (default 200 × 1 MiB), N files in flight
//	file-default  the file with each client's documented defaults (part size, concurrency)
//
// Networks (-nets): lan is the direct connection to the server; wan and wan-slow put the
// network model of netmodel.go (an in-process toxiproxy with latency and jitter, a bandwidth
// ceiling per connection, a link ceiling shared by all connections and, in wan-slow, a
// fraction of requests several times slower, drawn per request with the same draws for every
// client of a round) between each client and the server's plain-HTTP endpoint, with
// -wan-scenarios (default file-default,file-c8) on a -wan-size file (default 256 MiB, in
// -wan-partsize parts at equal settings, default 8 MiB). Its
// parameters are flags (-latency, -jitter, -conn-rate, -link-rate, -slow-fraction,
// -slow-factor, -slow-min-body, -seed) and are printed with the results; the defaults make
// the model, not the server, the bottleneck. On a modelled network a run also reports its
// throughput against the link's ceiling, the most connections the client had open at once
// and, for s3mpu, its hedged bytes and the parts in flight its adaptive concurrency reached.
//
// `go run ./bench shards` (or `make bench-shards`) measures something else: one sharded upload
// of the s3mpu CLI (plan, then W upload-shard processes at once, then complete) against the
// number of workers W (-workers, default 1,2,4,8), each worker behind a network-model proxy of
// its own with its own link ceiling (-link-rate, default 16 MB/s; -conn-rate, -latency,
// -jitter as above), on a -size file (default 256 MiB) in -partsize parts (default 8 MiB),
// -runs times per W (default 3; about 2 minutes in all). See shards.go.
//
// For every case the clients take turns (A B C D A B C D ...), and the table shows the median
// of the runs and the min–max spread. The results also go to a JSON file under bench/results/
// and the output ends with lines
//
//	ratio s3mpu/best-peer <case> throughput=X cpu_per_gib=Y rss=Z
//
// where "best" is the highest throughput, the lowest CPU per GiB and the lowest RSS among the
// peers, each taken separately.
package main

import (
	"fmt"
	"os"
)

func main() {
	name, args := "bench", os.Args[1:]
	run := func(args []string) error { return untilSignal(args, "go run ./bench", parseDriverFlags, drive) }
	switch {
	case len(args) > 0 && args[0] == "client":
		name, args, run = "bench client", args[1:], clientMain
	case len(args) > 0 && args[0] == "shards": // the shards scenario: bench shards [flags]
		name, args = "bench shards", args[1:]
		run = func(args []string) error {
			return untilSignal(args, "go run ./bench shards", parseShardsFlags, driveShards)
		}
	}
	if err := run(args); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
