package s3mem_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader"
)

// A Client stands in for an *s3.Client: here it holds the object an
// upload made, and Uploads shows that no multipart upload was left behind.
func ExampleNew() {
	client := s3mem.New("my-bucket")
	u := uploader.New(client, func(o *uploader.Options) { o.PartSize = 5 << 20 })
	_, err := u.Upload(context.Background(), &uploader.UploadInput{
		Bucket: "my-bucket", Key: "report.csv", Body: strings.NewReader(strings.Repeat("a,b\n", 3<<20)),
	})
	fmt.Println("upload:", err)
	obj := client.Object("my-bucket", "report.csv")
	fmt.Println(len(obj.Data), obj.PartsCount, obj.ChecksumAlgo, obj.ChecksumType)
	fmt.Println("uploads left:", len(client.Uploads()))
	// Output:
	// upload: <nil>
	// 12582912 3 CRC32C FULL_OBJECT
	// uploads left: 0
}

// A hook injects a fault into one operation: here the second part is
// denied, as a policy denying s3:PutObject on it would. The uploader
// aborts the upload, and the recorded calls show the sequence.
func ExampleClient_Hook() {
	client := s3mem.New("my-bucket")
	client.Hook(s3mem.OpUploadPart, s3mem.FailIf(func(call *s3mem.Call) error {
		if aws.ToInt32(call.Input.(*s3.UploadPartInput).PartNumber) == 2 {
			return s3mem.AccessDenied(call.Op)
		}
		return nil
	}))
	u := uploader.New(client, func(o *uploader.Options) { o.PartSize = 5 << 20; o.Concurrency = 1 })
	_, err := u.Upload(context.Background(), &uploader.UploadInput{
		Bucket: "my-bucket", Key: "k", Body: strings.NewReader(strings.Repeat("x", 12<<20)),
	})
	var apiErr smithy.APIError
	fmt.Println(errors.Is(err, mpu.ErrPermissionDenied), errors.As(err, &apiErr) && apiErr.ErrorCode() == "AccessDenied")
	fmt.Println(client.Ops())
	fmt.Println("uploads left:", len(client.Uploads()))
	// Output:
	// true true
	// [CreateMultipartUpload UploadPart UploadPart AbortMultipartUpload ListParts]
	// uploads left: 0
}

// FailTimes makes the first calls fail and lets the rest through: the
// uploader retries a throttled part and the upload succeeds.
func ExampleFailTimes() {
	client := s3mem.New("my-bucket")
	client.Hook(s3mem.OpPutObject, s3mem.FailTimes(2, s3mem.SlowDown(s3mem.OpPutObject)))
	u := uploader.New(client, func(o *uploader.Options) { o.InitialBackoff = 1 })
	_, err := u.Upload(context.Background(), &uploader.UploadInput{
		Bucket: "my-bucket", Key: "small.txt", Body: strings.NewReader("hello"),
	})
	fmt.Println(err, client.Count(s3mem.OpPutObject))
	// Output: <nil> 3
}
