// Command killupload uploads one file with the uploader and reports its progress on stdout,
// one line per event, so that a test can kill it with SIGKILL at a chosen moment:
//
//	started UPLOAD-ID
//	resumed PARTS-STORED PARTS-TO-SEND   (with -state, when an earlier upload is continued)
//	restarted OLD-UPLOAD-ID              (with -state, when it cannot be continued)
//	part N
//	completed ETAG
//	error MESSAGE
//
// With -state FILE the upload keeps its progress in FILE (uploader.Resume), and a later run
// with the same FILE continues it.
//
// The endpoint, the credentials and the CA file come from the environment
// (KILLUPLOAD_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, KILLUPLOAD_CA_FILE), never
// from the command line, where other processes could read them.
package main

import (
	"context"
	"flag"
	"os"

	"github.com/s3mpu/s3mpu/integration/cmd/internal/child"
	"github.com/s3mpu/s3mpu/uploader"
)

func main() {
	bucket := flag.String("bucket", "", "bucket")
	key := flag.String("key", "", "object key")
	file := flag.String("file", "", "file to upload")
	partSize := flag.Int64("part-size", 5<<20, "part size in bytes")
	concurrency := flag.Int("concurrency", 2, "parts in flight")
	rateLimit := flag.Int64("rate", 0, "bytes per second, 0 for no limit")
	state := flag.String("state", "", "state file: resume the upload it names, or start one recorded in it")
	flag.Parse()
	os.Exit(run(*bucket, *key, *file, *state, *partSize, *concurrency, *rateLimit))
}

func run(bucket, key, file, state string, partSize int64, concurrency int, rateLimit int64) int {
	p, cli, f, ok := child.Start("KILLUPLOAD", file)
	if !ok {
		return 2
	}
	defer f.Close()
	up := uploader.New(cli, func(o *uploader.Options) {
		o.PartSize = partSize
		o.Concurrency = concurrency
		o.RateLimit = rateLimit
		o.Listener = uploader.ListenerFunc(p.Event)
	})
	in := uploader.UploadInput{Bucket: bucket, Key: key, Body: f}
	var res *uploader.UploadOutput
	var err error
	if state != "" {
		res, err = up.Resume(context.Background(), &uploader.ResumeInput{UploadInput: in, StateFile: state})
	} else {
		res, err = up.Upload(context.Background(), &in)
	}
	if err != nil {
		p.Say("error %v", err)
		return 1
	}
	p.Say("completed %s", res.ETag)
	return 0
}
