package uploader_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// A stream of unknown size is sent as a multipart upload with parts of
// PartSize; each part carries a CRC32C checksum and the object's
// full-object CRC32C is checked after Complete. (The client here is an
// in-memory S3 of package s3mem; pass an *s3.Client in real use.)
func ExampleUploader_Upload() {
	client := s3mem.New("my-bucket")
	u := uploader.New(client, func(o *uploader.Options) {
		o.PartSize = 5 << 20
	})
	body := strings.NewReader(strings.Repeat("x", 12<<20))
	out, err := u.Upload(context.Background(), &uploader.UploadInput{
		Bucket:      "my-bucket",
		Key:         "backups/db.dump",
		Body:        body,
		ContentType: "application/octet-stream",
	})
	if err != nil {
		fmt.Println("upload failed:", err)
		return
	}
	fmt.Println(out.Size, len(out.Parts), out.ChecksumAlgorithm, out.ChecksumType)
	// Output: 12582912 3 CRC32C FULL_OBJECT
}

// errors.As reaches the *UploadError, which tells which step failed and
// whether the upload was aborted; errors.Is tests the category.
func ExampleUploadError() {
	client := s3mem.New("my-bucket")
	client.Hook(s3mem.OpUploadPart, s3mem.Fail(s3mem.AccessDenied(s3mem.OpUploadPart)))
	u := uploader.New(client, func(o *uploader.Options) { o.PartSize = 5 << 20; o.Concurrency = 1 })
	_, err := u.Upload(context.Background(), &uploader.UploadInput{
		Bucket: "my-bucket", Key: "k", Body: strings.NewReader(strings.Repeat("x", 6<<20)),
	})
	var ue *uploader.UploadError
	if errors.As(err, &ue) {
		fmt.Println(ue.Op, ue.PartNumber, ue.Aborted)
	}
	fmt.Println(errors.Is(err, mpu.ErrPermissionDenied))
	// Output:
	// UploadPart 1 true
	// true
}

// A Listener receives progress events; it is called synchronously and
// never concurrently for one upload.
func ExampleListenerFunc() {
	client := s3mem.New("my-bucket")
	var sent int64
	progress := event.ListenerFunc(func(e event.Event) {
		switch e := e.(type) {
		case event.BytesSent:
			sent = e.Total
		case event.Completed:
			fmt.Println("done:", sent, "bytes")
		}
	})
	u := uploader.New(client, func(o *uploader.Options) { o.Listener = progress })
	_, _ = u.Upload(context.Background(), &uploader.UploadInput{
		Bucket: "my-bucket", Key: "k", Body: strings.NewReader("hello, world"),
	})
	// Output: done: 12 bytes
}
