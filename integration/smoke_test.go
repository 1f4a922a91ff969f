package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// rawMultipart uploads data in parts of partSize with the plain SDK and completes it.
func rawMultipart(ctx context.Context, cli *s3.Client, bucket, key string, data []byte, partSize int) error {
	cr, err := cli.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	var parts []types.CompletedPart
	for n, off := int32(1), 0; off < len(data); n, off = n+1, off+partSize {
		end := min(off+partSize, len(data))
		out, err := cli.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: cr.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(data[off:end])})
		if err != nil {
			_, aerr := cli.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: cr.UploadId})
			return errors.Join(fmt.Errorf("part %d: %w", n, err), aerr)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag})
	}
	_, err = cli.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	return err
}

func TestSmokeMultipartUpload(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	const partSize = 5 << 20
	data := randomBytes(t, 2*partSize+12345) // three parts, the last one short
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			ctx := testCtx(t)
			cli := env.S3(t, tgt, "root")
			key := "smoke/" + tgt.Name + "/three-parts.bin"
			if err := rawMultipart(ctx, cli, bucket, key, data, partSize); err != nil {
				t.Fatal(err)
			}
			got, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
			if err != nil {
				t.Fatal(err)
			}
			defer got.Body.Close()
			b, err := io.ReadAll(got.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, data) {
				t.Fatalf("downloaded %d bytes differ from the %d uploaded", len(b), len(data))
			}
		})
	}
}

// TestSmokeDenyAbortOnly checks that the server enforces a single denied multipart action:
// with s3:* allowed but s3:AbortMultipartUpload denied, every step works but Abort.
func TestSmokeDenyAbortOnly(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	u := env.NewUser(t, "noabort")
	env.PutUserPolicy(t, u.Name, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::`+bucket+`","arn:aws:s3:::`+bucket+`/*"]},
		{"Effect":"Deny","Action":"s3:AbortMultipartUpload","Resource":"arn:aws:s3:::`+bucket+`/*"}]}`)
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			ctx := testCtx(t)
			cli := env.S3For(tgt, u)
			key := "deny-abort/" + tgt.Name
			cr, err := cli.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			part, err := cli.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("hello")})
			if err != nil {
				t.Fatalf("upload part: %v", err)
			}
			if _, err := cli.ListParts(ctx, &s3.ListPartsInput{Bucket: &bucket, Key: &key, UploadId: cr.UploadId}); err != nil {
				t.Fatalf("list parts: %v", err)
			}
			if _, err := cli.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket}); err != nil {
				t.Fatalf("list uploads: %v", err)
			}
			_, err = cli.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: cr.UploadId})
			if code := apiCode(err); code != "AccessDenied" {
				t.Fatalf("abort: got error %v (code %q), want AccessDenied", err, code)
			}
			if _, err := cli.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}); err != nil {
				t.Fatalf("complete: %v", err)
			}
		})
	}
}

// tbRecorder stands in for a test so the orphan check's verdict can be observed.
type tbRecorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *tbRecorder) Helper() {}
func (r *tbRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *tbRecorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *tbRecorder) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// TestOrphanCheckReportsLeftUpload leaves an upload behind on purpose and checks that the
// harness's bucket cleanup reports it, aborts it and removes the bucket.
func TestOrphanCheckReportsLeftUpload(t *testing.T) {
	env := s3test.Load(t)
	rec := &tbRecorder{TB: t}
	bucket := env.NewBucket(rec)
	ctx := testCtx(t)
	root := env.Root(env.HTTP())
	cr, err := root.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("orphan")})
	if err != nil {
		t.Fatal(err)
	}
	rec.runCleanups()
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "left behind") || !strings.Contains(rec.errs[0], aws.ToString(cr.UploadId)) {
		t.Fatalf("orphan check reported %q, want one error naming upload %s", rec.errs, aws.ToString(cr.UploadId))
	}
	if _, err := root.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err == nil {
		t.Fatalf("bucket %s still exists after cleanup", bucket)
	}
}
