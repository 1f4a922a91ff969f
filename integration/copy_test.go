package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// copySourceObject uploads a 23 MiB multipart object (5 MiB parts) with a content type,
// user metadata and tags, and returns its content.
func copySourceObject(t *testing.T, cli *s3.Client, bucket, key string) relSource {
	t.Helper()
	src := relSource{seed: 9, size: 23 * resumeMiB}
	out, err := uploader.New(cli, func(o *uploader.Options) { o.PartSize = 5 * resumeMiB }).Upload(testCtx(t), &uploader.UploadInput{
		Bucket: bucket, Key: key, Body: src.reader(), Size: src.size,
		ContentType: "application/x-copy-test", Metadata: map[string]string{"origin": "copy-test", "n": "1"},
		Tagging: "team=storage&tier=gold",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Parts) != 5 {
		t.Fatalf("source has %d parts, want 5", len(out.Parts))
	}
	return src
}

func objectTags(t *testing.T, cli *s3.Client, bucket, key string) url.Values {
	t.Helper()
	out, err := cli.GetObjectTagging(testCtx(t), &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{}
	for _, tag := range out.TagSet {
		v.Add(aws.ToString(tag.Key), aws.ToString(tag.Value))
	}
	return v
}

// TestCopyAcrossBuckets copies a multipart object to another bucket, in parts with
// UploadPartCopy (8 MiB ranges, unrelated to the source's 5 MiB parts) and with a single
// CopyObject: both copies are byte-identical and keep the content type, the user metadata
// and the tags; no multipart upload is left.
func TestCopyAcrossBuckets(t *testing.T) {
	env := s3test.Load(t)
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			cli := env.Root(tgt)
			srcBucket := env.NewBucket(t, s3test.WithPrefix("copysrc"))
			dstBucket := env.NewBucket(t, s3test.WithPrefix("copydst"))
			src := copySourceObject(t, cli, srcBucket, "dir/source object")
			srcHead, err := cli.HeadObject(testCtx(t), &s3.HeadObjectInput{Bucket: aws.String(srcBucket), Key: aws.String("dir/source object")})
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name      string
				threshold int64
				parts     int
			}{
				{"UploadPartCopy", 5 * resumeMiB, 3},
				{"CopyObject", 64 * resumeMiB, 0},
			} {
				t.Run(tc.name, func(t *testing.T) {
					var partEvents int
					key := "copy/" + tc.name
					out, err := uploader.New(cli, func(o *uploader.Options) {
						o.CopyThreshold = tc.threshold
						o.PartSize = 8 * resumeMiB
						o.Listener = event.ListenerFunc(func(e event.Event) {
							if _, ok := e.(event.PartDone); ok {
								partEvents++
							}
						})
					}).Copy(testCtx(t), &uploader.CopyInput{
						SourceBucket: srcBucket, SourceKey: "dir/source object", Bucket: dstBucket, Key: key,
					})
					if err != nil {
						t.Fatal(err)
					}
					if out.Parts != tc.parts || partEvents != tc.parts || out.Size != src.size || out.SourceETag != aws.ToString(srcHead.ETag) {
						t.Fatalf("output %+v, %d part events", out, partEvents)
					}
					ctx := testCtx(t)
					n, sum, err := relObjectSum(ctx, cli, dstBucket, key)
					if err != nil || n != src.size || sum != src.sum() {
						t.Fatalf("copy differs from the source (%d bytes, %v)", n, err)
					}
					head, err := cli.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(dstBucket), Key: aws.String(key)})
					if err != nil {
						t.Fatal(err)
					}
					if aws.ToString(head.ContentType) != "application/x-copy-test" || !maps.Equal(head.Metadata, srcHead.Metadata) {
						t.Fatalf("content type %q, metadata %v; source %v", aws.ToString(head.ContentType), head.Metadata, srcHead.Metadata)
					}
					if got, want := objectTags(t, cli, dstBucket, key), objectTags(t, cli, srcBucket, "dir/source object"); got.Encode() != want.Encode() || len(want) != 2 {
						t.Fatalf("tags %v, source %v", got, want)
					}
					if left, err := env.ListUploads(ctx, dstBucket); err != nil || len(left) != 0 {
						t.Fatalf("uploads left: %v %v", left, err)
					}
					t.Logf("%s: %d bytes in %d parts, ETag %s, checksum %s %s", tc.name, out.Size, out.Parts, out.ETag, out.ChecksumAlgorithm, out.Checksum)
				})
			}
		})
	}
}

// TestCopyDeniedOnSource: a user whose policy denies s3:GetObject on the source gets a
// permission error that names the source, before anything is created at the destination.
func TestCopyDeniedOnSource(t *testing.T) {
	env := s3test.Load(t)
	root := env.Root(env.HTTP())
	srcBucket := env.NewBucket(t, s3test.WithPrefix("copysrc"))
	dstBucket := env.NewBucket(t, s3test.WithPrefix("copydst"))
	copySourceObject(t, root, srcBucket, "secret")
	u := env.NewUser(t, "copier")
	env.PutUserPolicy(t, u.Name, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*","arn:aws:s3:::%[2]s","arn:aws:s3:::%[2]s/*"]},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::%[1]s/*"}]}`, srcBucket, dstBucket))
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			cli := env.S3(t, tgt, u.Name)
			for _, threshold := range []int64{5 * resumeMiB, 64 * resumeMiB} {
				key := fmt.Sprintf("copy-%d", threshold)
				_, err := uploader.New(cli, func(o *uploader.Options) { o.CopyThreshold = threshold }).Copy(testCtx(t), &uploader.CopyInput{
					SourceBucket: srcBucket, SourceKey: "secret", Bucket: dstBucket, Key: key,
				})
				var ue *uploader.UploadError
				if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrPermissionDenied) || ue.UploadID != "" {
					t.Fatalf("threshold %d: got %v", threshold, err)
				}
				t.Logf("threshold %d: %v", threshold, err)
				ctx := testCtx(t)
				if left, err := env.ListUploads(ctx, dstBucket); err != nil || len(left) != 0 {
					t.Fatalf("uploads left: %v %v", left, err)
				}
				if _, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(dstBucket), Key: aws.String(key)}); err == nil {
					t.Fatal("an object was stored")
				}
			}
		})
	}
}

// TestCopySourceReplacedAborts: the source is replaced once the multipart copy has
// started; the part copies, conditional on the ETag HeadObject saw, fail with
// ErrSourceChanged, and the upload is aborted rather than completed from two versions.
func TestCopySourceReplacedAborts(t *testing.T) {
	env := s3test.Load(t)
	tgt := env.HTTPS()
	cli := env.Root(tgt)
	srcBucket := env.NewBucket(t, s3test.WithPrefix("copysrc"))
	dstBucket := env.NewBucket(t, s3test.WithPrefix("copydst"))
	copySourceObject(t, cli, srcBucket, "obj")
	replaced := false
	_, err := uploader.New(cli, func(o *uploader.Options) {
		o.CopyThreshold = 5 * resumeMiB
		o.Concurrency = 1
		o.Listener = event.ListenerFunc(func(e event.Event) {
			if _, ok := e.(event.Started); ok && !replaced {
				replaced = true
				data, err := io.ReadAll(relSource{seed: 10, size: 23 * resumeMiB}.reader())
				if err != nil {
					t.Error(err)
				}
				if _, err := cli.PutObject(testCtx(t), &s3.PutObjectInput{Bucket: aws.String(srcBucket), Key: aws.String("obj"),
					Body: bytes.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c}); err != nil {
					t.Error(err)
				}
			}
		})
	}).Copy(testCtx(t), &uploader.CopyInput{SourceBucket: srcBucket, SourceKey: "obj", Bucket: dstBucket, Key: "copy"})
	var ue *uploader.UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrSourceChanged) || !ue.Aborted {
		t.Fatalf("got %v", err)
	}
	t.Logf("%v", err)
	if left, err := env.ListUploads(testCtx(t), dstBucket); err != nil || len(left) != 0 {
		t.Fatalf("uploads left: %v %v", left, err)
	}
}
