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
	"github.com/s3mpu/s3mpu/uploader/event"
)

func main() {
	fl := child.RegisterFlags(2)
	rateLimit := flag.Int64("rate", 0, "bytes per second, 0 for no limit")
	flag.Parse()
	os.Exit(run(fl, *rateLimit))
}

func run(fl *child.Flags, rateLimit int64) int {
	p, cli, f, ok := child.Start("KILLUPLOAD", fl.File)
	if !ok {
		return 2
	}
	defer f.Close()
	up := uploader.New(cli, func(o *uploader.Options) {
		o.PartSize = fl.PartSize
		o.Concurrency = fl.Concurrency
		o.RateLimit = rateLimit
		o.Listener = event.ListenerFunc(p.Event)
	})
	in := uploader.UploadInput{Bucket: fl.Bucket, Key: fl.Key, Body: f}
	var res *uploader.UploadOutput
	var err error
	if fl.State != "" {
		res, err = up.Resume(context.Background(), &uploader.ResumeInput{UploadInput: in, StateFile: fl.State})
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
