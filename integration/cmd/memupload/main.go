// Command memupload uploads one file, or standard input, with the uploader
// at its default options, so that the peak memory of an upload can be
// measured from outside:
//
//	/usr/bin/time -v memupload -file big.bin
//	head -c 1G /dev/urandom | /usr/bin/time -v memupload
//	head -c 1G /dev/urandom | /usr/bin/time -v memupload -concurrency 10000
//
// The endpoint and root credentials come from the test server's env file
// (integration/.server/env.json, or $S3MPU_SERVER_ENV). Without -bucket it
// makes a bucket, and removes the object and the bucket when done. It prints
// the size, the time, the rate and the process's peak RSS (VmHWM) on stderr.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

func main() {
	file := flag.String("file", "", "file to upload (default: standard input, streamed)")
	bucket := flag.String("bucket", "", "bucket (default: a new one, removed afterwards)")
	key := flag.String("key", "memupload", "object key")
	target := flag.String("target", "http", "http or https")
	concurrency := flag.Int("concurrency", 0, "parts in flight (0: the uploader's default)")
	partSize := flag.Int64("part-size", 0, "part size in bytes (0: the uploader's default)")
	maxMem := flag.Int64("max-buffer-memory", 0, "ceiling on the part buffers of a stream, in bytes (0: the uploader's default)")
	flag.Parse()
	started := event.ListenerFunc(func(e event.Event) {
		if s, ok := e.(event.Started); ok {
			fmt.Fprintf(os.Stderr, "started: part size %d, %d parts at once (clamped %v), buffer memory ceiling %d\n",
				s.PartSize, s.Concurrency, s.ConcurrencyClamped, s.BufferMemory)
		}
	})
	opts := func(o *uploader.Options) {
		o.Concurrency, o.PartSize, o.MaxBufferMemory, o.Listener = *concurrency, *partSize, *maxMem, started
	}
	if err := run(*file, *bucket, *key, *target, opts); err != nil {
		fmt.Fprintln(os.Stderr, "memupload:", err)
		os.Exit(1)
	}
}

func run(file, bucket, key, target string, opts func(*uploader.Options)) error {
	env, err := s3test.Open(s3test.EnvFile())
	if err != nil {
		return err
	}
	tgt := env.HTTP()
	if target == "https" {
		tgt = env.HTTPS()
	}
	cli := env.Root(tgt)
	ctx := context.Background()
	if bucket == "" {
		bucket = s3test.UniqueName("memupload")
		if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			return err
		}
		defer func() {
			_, _ = cli.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			_, _ = cli.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
		}()
	}
	var body io.Reader = os.Stdin
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		body = f
	}
	start := time.Now()
	out, err := uploader.New(cli, opts).Upload(ctx, &uploader.UploadInput{Bucket: bucket, Key: key, Body: body})
	if err != nil {
		return err
	}
	d := time.Since(start)
	fmt.Fprintf(os.Stderr, "uploaded %d bytes in %d parts over %s in %v (%.1f MiB/s); peak RSS %s\n",
		out.Size, len(out.Parts), tgt.Name, d.Round(time.Millisecond), float64(out.Size)/(1<<20)/d.Seconds(), vmHWM())
	return nil
}

// vmHWM returns the process's peak resident set size from /proc.
func vmHWM() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
