package main

import (
	"context"
	"io"

	"github.com/s3mpu/s3mpu/uploader"
)

// newS3MPU builds s3mpu's uploader on the same S3 client the AWS peers get, with its default
// options (CRC32C checksums, retries) but the benchmark's part size and concurrency.
func newS3MPU(cs clientSetup) (uploadFunc, error) {
	cli, err := s3Client(cs)
	if err != nil {
		return nil, err
	}
	up := uploader.New(cli, func(o *uploader.Options) {
		o.PartSize = cs.partSize
		o.Concurrency = cs.conc
	})
	return func(ctx context.Context, key string, body io.Reader, size int64) error {
		in := &uploader.UploadInput{Bucket: cs.bucket, Key: key, Body: body}
		if size < 0 {
			in.Size = uploader.SizeUnknown
		}
		_, err := up.Upload(ctx, in)
		return err
	}, nil
}
