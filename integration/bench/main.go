// Command bench uploads the same data with s3mpu's uploader and with the Go clients people use
// today (aws-sdk-go-v2 feature/s3/manager, feature/s3/transfermanager, minio-go v7), against the
// local test server, and reports throughput, client CPU per GiB and peak RSS side by side.
//
// Run it from the integration module (or with `make bench` from the repository root) once the
// server is up (`make server-start`):
//
//	go run ./bench                                   # the full run, under 10 minutes on 2 cores
//	go run ./bench -size 64MiB -runs 1               # a quick check
//	go run ./bench -clients s3mpu -protos https -scenarios file-c8 -runs 1 -cpuprofile /tmp/prof
//
// Every upload runs in its own child process (this binary, re-executed with the `client`
// subcommand), so the CPU time and the peak RSS reported are the client's own: user+sys time
// and maxrss come from the child's rusage. The wall time is measured by the child around the
// upload call alone (client set-up and process start are excluded); the parent checks the
// object's size afterwards and deletes it before the next run.
//
// Scenarios (each over plain HTTP and HTTPS):
//
//	file-cN    the -size file (default 1 GiB, page-cached), N parts in flight, 16 MiB parts
//	stream-cN  the same bytes piped into the child's stdin, seen by the client as a plain io.Reader
//	small-cN   -count files of -small-size (default 200 × 1 MiB), N files in flight
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
	if len(os.Args) > 1 && os.Args[1] == "client" {
		if err := clientMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench client:", err)
			os.Exit(1)
		}
		return
	}
	if err := driverMain(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
