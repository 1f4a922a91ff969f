package s3mem

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/internal/s3err"
)

// TestIfNoneMatch: PutObject and CompleteMultipartUpload with If-None-Match
// "*" fail with PreconditionFailed when the key holds an object and store it
// when the key is free; another value is NotImplemented, as S3 answers.
func TestIfNoneMatch(t *testing.T) {
	ctx := context.Background()
	c := New("b")
	put := func(key, inm string) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String(key), Body: bytes.NewReader([]byte(key)), IfNoneMatch: aws.String(inm)})
		return err
	}
	if err := put("k", "*"); err != nil {
		t.Fatalf("PutObject to a free key: %v", err)
	}
	if err := put("k", "*"); s3err.Code(err) != "PreconditionFailed" {
		t.Fatalf("PutObject over an object: %v, want PreconditionFailed", err)
	}
	if err := put("k", `"etag"`); s3err.Code(err) != "NotImplemented" {
		t.Fatalf("PutObject with If-None-Match of an ETag: %v, want NotImplemented", err)
	}
	complete := func(key string) error {
		cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		pr, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("b"), Key: aws.String(key), UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part"))})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String(key), UploadId: cr.UploadId, IfNoneMatch: aws.String("*"),
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: pr.ETag}}}})
		return err
	}
	if err := complete("k"); s3err.Code(err) != "PreconditionFailed" {
		t.Fatalf("CompleteMultipartUpload over an object: %v, want PreconditionFailed", err)
	}
	if o := c.Object("b", "k"); o == nil || string(o.Data) != "k" {
		t.Fatal("the object was replaced")
	}
	if n := len(c.Uploads()); n != 1 {
		t.Fatalf("%d uploads, want the refused one left", n)
	}
	if err := complete("free"); err != nil {
		t.Fatalf("CompleteMultipartUpload to a free key: %v", err)
	}
}
