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
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	say := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", a...)
		out.Flush()
	}
	cli, err := client()
	if err != nil {
		say("error %v", err)
		return 2
	}
	f, err := os.Open(file)
	if err != nil {
		say("error %v", err)
		return 2
	}
	defer f.Close()
	up := uploader.New(cli, func(o *uploader.Options) {
		o.PartSize = partSize
		o.Concurrency = concurrency
		o.RateLimit = rateLimit
		o.Listener = uploader.ListenerFunc(func(e uploader.Event) {
			switch e := e.(type) {
			case uploader.Started:
				say("started %s", e.UploadID)
			case uploader.PartDone:
				say("part %d", e.PartNumber)
			case uploader.Resumed:
				say("resumed %d %d", e.PartsStored, e.PartsToSend)
			case uploader.Restarted:
				say("restarted %s", e.OldUploadID)
			}
		})
	})
	in := uploader.UploadInput{Bucket: bucket, Key: key, Body: f}
	var res *uploader.UploadOutput
	if state != "" {
		res, err = up.Resume(context.Background(), &uploader.ResumeInput{UploadInput: in, StateFile: state})
	} else {
		res, err = up.Upload(context.Background(), &in)
	}
	if err != nil {
		say("error %v", err)
		return 1
	}
	say("completed %s", res.ETag)
	return 0
}

func client() (*s3.Client, error) {
	endpoint := os.Getenv("KILLUPLOAD_ENDPOINT")
	if endpoint == "" {
		return nil, fmt.Errorf("KILLUPLOAD_ENDPOINT is not set")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if ca := os.Getenv("KILLUPLOAD_CA_FILE"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		HTTPClient:   &http.Client{Transport: tr},
	}), nil
}
