// Command resumechild runs one resumable upload (uploader.Resume) and stops dead at a chosen
// point, so that a test can kill it with SIGKILL there and resume the upload in-process.
//
// -pause POINT names the point; when the upload reaches it the child prints
// "paused POINT" and blocks until it is killed:
//
//	before-create    the state file is written, CreateMultipartUpload not sent
//	after-create     CreateMultipartUpload answered, its upload ID not yet in the state file
//	started          the upload ID is in the state file, no part sent
//	part-N           the Nth part was stored (and not yet recorded in the state file)
//	mid-part-N       part N is half sent
//	before-complete  every part stored, the state file says "completing", Complete not sent
//	after-complete   Complete answered, the state file not yet removed
//
// Without -pause the upload runs to its end (or until killed). Progress goes to stdout, one
// line per event: "started ID", "resumed STORED TO-SEND", "restarted OLD-ID", "part N",
// "completed ETAG", "error MESSAGE".
//
// The endpoint, the credentials and the CA file come from the environment
// (RESUMECHILD_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, RESUMECHILD_CA_FILE),
// never from the command line, where other processes could read them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/integration/cmd/internal/child"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

func main() {
	fl := child.RegisterFlags(4)
	pause := flag.String("pause", "", "point at which to stop and wait to be killed")
	flag.Parse()
	os.Exit(run(fl, *pause))
}

// hold announces the pause point and blocks forever: the test kills the process.
func hold(p *child.Printer, point string) {
	p.Say("paused %s", point)
	select {}
}

// client wraps the S3 client to stop at the points around CreateMultipartUpload and
// CompleteMultipartUpload.
type client struct {
	*s3.Client
	p     *child.Printer
	pause string
}

// around makes the call, stopping at the point before it and, when it succeeds, at the
// point after it.
func (c *client) around(before, after string, call func() error) {
	if c.pause == before {
		hold(c.p, c.pause)
	}
	if err := call(); err == nil && c.pause == after {
		hold(c.p, c.pause)
	}
}

func (c *client) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (out *s3.CreateMultipartUploadOutput, err error) {
	c.around("before-create", "after-create", func() error {
		out, err = c.Client.CreateMultipartUpload(ctx, in, optFns...)
		return err
	})
	return out, err
}

func (c *client) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (out *s3.CompleteMultipartUploadOutput, err error) {
	c.around("before-complete", "after-complete", func() error {
		out, err = c.Client.CompleteMultipartUpload(ctx, in, optFns...)
		return err
	})
	return out, err
}

func run(fl *child.Flags, pause string) int {
	p, s3c, f, ok := child.Start("RESUMECHILD", fl.File)
	if !ok {
		return 2
	}
	defer f.Close()
	var partsDone atomic.Int32
	partBytes := map[int32]int64{}
	listener := event.ListenerFunc(func(e event.Event) {
		p.Event(e)
		switch e := e.(type) {
		case event.Started:
			if pause == "started" {
				hold(p, pause)
			}
		case event.PartDone:
			if n := partsDone.Add(1); pause == fmt.Sprintf("part-%d", n) {
				hold(p, pause)
			}
		case event.BytesSent:
			// Events are serialized: no lock needed for partBytes.
			partBytes[e.PartNumber] += e.Bytes
			if pause == fmt.Sprintf("mid-part-%d", e.PartNumber) && partBytes[e.PartNumber] >= fl.PartSize/2 {
				hold(p, pause)
			}
		}
	})
	up := uploader.New(&client{Client: s3c, p: p, pause: pause}, func(o *uploader.Options) {
		o.PartSize = fl.PartSize
		o.Concurrency = fl.Concurrency
		o.Listener = listener
	})
	res, err := up.Resume(context.Background(), &uploader.ResumeInput{
		UploadInput: uploader.UploadInput{Bucket: fl.Bucket, Key: fl.Key, Body: f},
		StateFile:   fl.State,
	})
	if err != nil {
		kind := "other"
		if errors.Is(err, mpu.ErrSourceChanged) {
			kind = "source-changed"
		}
		p.Say("error %s %v", kind, err)
		return 1
	}
	p.Say("completed %s", res.ETag)
	return 0
}
