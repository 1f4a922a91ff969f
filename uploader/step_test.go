package uploader_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader"
)

// The checker of the preflight package fits both hooks.
var (
	_ uploader.Checker     = (*preflight.UploadChecker)(nil)
	_ uploader.CopyChecker = (*preflight.UploadChecker)(nil)
)

// stepLogger is a Checker written, as a program outside this module would
// write it, with mpu.Step alone.
type stepLogger struct{ lines []string }

func (l *stepLogger) CheckUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, steps []mpu.Step) error {
	var names []string
	for _, s := range steps {
		names = append(names, s.String())
	}
	l.lines = append(l.lines, aws.ToString(in.Bucket)+": "+strings.Join(names, ", "))
	return nil
}

func (l *stepLogger) CheckCopy(ctx context.Context, dst *s3.CreateMultipartUploadInput, srcBucket, srcKey, srcVersionID, srcKMSKeyID string, steps []mpu.Step) error {
	return l.CheckUpload(ctx, dst, steps)
}

var _ uploader.CopyChecker = (*stepLogger)(nil)

// A Checker is told which steps an upload will take: a multipart upload
// needs every one, a single PutObject only the first.
func ExampleChecker() {
	client := s3mem.New("my-bucket")
	log := &stepLogger{}
	u := uploader.New(client, func(o *uploader.Options) {
		o.PartSize = 5 << 20
		o.Preflight = log
	})
	ctx := context.Background()
	if _, err := u.Upload(ctx, &uploader.UploadInput{Bucket: "my-bucket", Key: "big", Body: strings.NewReader(strings.Repeat("x", 6<<20))}); err != nil {
		fmt.Println(err)
	}
	if _, err := u.Upload(ctx, &uploader.UploadInput{Bucket: "my-bucket", Key: "small", Body: strings.NewReader("x")}); err != nil {
		fmt.Println(err)
	}
	fmt.Println(strings.Join(log.lines, "\n"))
	// Output:
	// my-bucket: Initiate, UploadPart, Complete, Abort
	// my-bucket: Initiate
}
