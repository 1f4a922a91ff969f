package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

const upPart = 5 << 20 // the smallest part size keeps these tests fast

// upStream hides every method but Read, so the uploader streams the body.
type upStream struct{ r io.Reader }

func (s upStream) Read(p []byte) (int, error) { return s.r.Read(p) }

func upCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func upRandom(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// upVerify downloads the object as root and compares it with data, and
// compares the object's checksum (HeadObject, checksum mode) with the one
// the upload reported.
func upVerify(t *testing.T, root *s3.Client, bucket, key string, data []byte, out *uploader.UploadOutput) {
	t.Helper()
	ctx := upCtx(t)
	get, err := root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, get.Body)
	get.Body.Close()
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if want := sha256.Sum256(data); n != int64(len(data)) || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("downloaded %d bytes differing from the %d uploaded", n, len(data))
	}
	head, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	var got string
	switch out.ChecksumAlgorithm {
	case types.ChecksumAlgorithmCrc32:
		got = aws.ToString(head.ChecksumCRC32)
	case types.ChecksumAlgorithmCrc32c:
		got = aws.ToString(head.ChecksumCRC32C)
	case types.ChecksumAlgorithmCrc64nvme:
		got = aws.ToString(head.ChecksumCRC64NVME)
	case types.ChecksumAlgorithmSha1:
		got = aws.ToString(head.ChecksumSHA1)
	case types.ChecksumAlgorithmSha256:
		got = aws.ToString(head.ChecksumSHA256)
	}
	if got != out.Checksum && got+fmt.Sprintf("-%d", len(out.Parts)) != out.Checksum {
		t.Fatalf("object %s checksum %q (type %s), upload computed %q (type %s)", out.ChecksumAlgorithm, got, head.ChecksumType, out.Checksum, out.ChecksumType)
	}
}

// upPolicy is an identity policy allowing what an uploading user needs,
// abort included (versitygw does not grant the initiator abort by default).
func upPolicy(bucket string, actions ...string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["%s"],"Resource":["arn:aws:s3:::%s/*"]}]}`,
		strings.Join(actions, `","`), bucket)
}

// TestUploaderSizes uploads files and streams of the sizes around the part
// boundaries, over HTTP and HTTPS, as root and as a user allowed only
// s3:PutObject and s3:AbortMultipartUpload, and checks each object by download.
func TestUploaderSizes(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	user := env.NewUser(t, "uploader")
	env.PutUserPolicy(t, user.Name, upPolicy(bucket, "s3:PutObject", "s3:AbortMultipartUpload"))
	dir := t.TempDir()
	sizes := []int{0, 1, upPart - 1, upPart, upPart + 1, 3 * upPart, 2*upPart + 1}
	big := upRandom(t, 100<<20)
	for _, tgt := range env.Targets() {
		root := env.Root(tgt)
		for _, who := range []string{"root", user.Name} {
			cli := env.S3(t, tgt, who)
			for _, kind := range []string{"file", "stream"} {
				for _, size := range append(sizes, len(big)) {
					if size == len(big) && who != "root" {
						continue // 100 MiB once per target and body kind is enough
					}
					name := fmt.Sprintf("%s/%s/%s/%d", tgt.Name, who, kind, size)
					t.Run(name, func(t *testing.T) {
						data := big[:size]
						var body io.Reader = upStream{bytes.NewReader(data)}
						if kind == "file" {
							p := filepath.Join(dir, strings.ReplaceAll(name, "/", "_"))
							if err := os.WriteFile(p, data, 0o600); err != nil {
								t.Fatal(err)
							}
							f, err := os.Open(p)
							if err != nil {
								t.Fatal(err)
							}
							defer f.Close()
							body = f
						}
						var sent atomic.Int64
						l := event.ListenerFunc(func(e event.Event) {
							if b, ok := e.(event.BytesSent); ok {
								sent.Add(b.Bytes)
							}
						})
						out, err := uploader.New(cli, func(o *uploader.Options) { o.PartSize = upPart; o.Listener = l }).
							Upload(upCtx(t), &uploader.UploadInput{Bucket: bucket, Key: name, Body: body, ContentType: "application/x-test"})
						if err != nil {
							t.Fatal(err)
						}
						wantParts := 0
						if size > upPart {
							wantParts = (size + upPart - 1) / upPart
						}
						if out.Size != int64(size) || len(out.Parts) != wantParts {
							t.Fatalf("size %d parts %d, want %d", out.Size, len(out.Parts), wantParts)
						}
						if sent.Load() != int64(size) {
							t.Fatalf("BytesSent counted %d of %d bytes", sent.Load(), size)
						}
						upVerify(t, root, bucket, name, data, out)
					})
				}
			}
		}
	}
}

// TestUploaderChecksums uploads with each checksum algorithm and type the
// server accepts and checks the object's checksum against the local one.
func TestUploaderChecksums(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	data := upRandom(t, 2*upPart+123)
	for _, tgt := range env.Targets() {
		cli := env.Root(tgt)
		for _, c := range []struct {
			algo types.ChecksumAlgorithm
			typ  types.ChecksumType
		}{
			{"CRC32C", "FULL_OBJECT"}, {"CRC32C", "COMPOSITE"}, {"CRC32", "FULL_OBJECT"}, {"CRC32", "COMPOSITE"},
			{"CRC64NVME", "FULL_OBJECT"}, {"SHA1", "COMPOSITE"}, {"SHA256", "COMPOSITE"},
		} {
			for _, size := range []int{len(data), 1000} {
				name := fmt.Sprintf("%s/%s/%s/%d", tgt.Name, c.algo, c.typ, size)
				t.Run(name, func(t *testing.T) {
					out, err := uploader.New(cli, func(o *uploader.Options) { o.PartSize = upPart }).Upload(upCtx(t), &uploader.UploadInput{
						Bucket: bucket, Key: name, Body: upStream{bytes.NewReader(data[:size])}, ChecksumAlgorithm: c.algo, ChecksumType: c.typ,
					})
					if err != nil {
						t.Fatal(err)
					}
					upVerify(t, cli, bucket, name, data[:size], out)
				})
			}
		}
	}
}

// TestUploaderDeniedMidway denies the user s3:PutObject by bucket policy
// after two parts: the upload fails with a permission (or, as versitygw
// sometimes answers a denied large PUT, a connection) error, is aborted,
// and leaves no upload behind (the bucket's cleanup checks).
func TestUploaderDeniedMidway(t *testing.T) {
	env := s3test.Load(t)
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			bucket := env.NewBucket(t)
			user := env.NewUser(t, "midway")
			env.PutUserPolicy(t, user.Name, upPolicy(bucket, "s3:PutObject", "s3:AbortMultipartUpload"))
			root := env.Root(tgt)
			deny := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"%s"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::%s/*"}]}`, user.ARN, bucket)
			var once sync.Once
			var policyErr error
			l := event.ListenerFunc(func(e event.Event) {
				if pd, ok := e.(event.PartDone); ok && pd.PartNumber == 2 {
					once.Do(func() {
						ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
						defer cancel()
						_, policyErr = root.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(deny)})
					})
				}
			})
			t.Cleanup(func() {
				_, _ = root.DeleteBucketPolicy(context.Background(), &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)})
			})
			cli := env.S3For(tgt, user)
			_, err := uploader.New(cli, func(o *uploader.Options) {
				o.PartSize = upPart
				o.Concurrency = 1
				o.Listener = l
				o.MaxAttempts = 3
				o.InitialBackoff = 10 * time.Millisecond
			}).Upload(upCtx(t), &uploader.UploadInput{Bucket: bucket, Key: "midway", Body: upStream{bytes.NewReader(upRandom(t, 6*upPart))}})
			if policyErr != nil {
				t.Fatalf("PutBucketPolicy: %v", policyErr)
			}
			var ue *uploader.UploadError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v", err)
			}
			if ue.Op != mpu.OpUploadPart || ue.PartNumber < 3 || !ue.Aborted || ue.AbortErr != nil {
				t.Fatalf("%+v", ue)
			}
			if !errors.Is(err, mpu.ErrPermissionDenied) && !errors.Is(err, mpu.ErrTransient) {
				t.Fatalf("neither denied nor a connection failure: %v", err)
			}
			t.Logf("failed as expected: %v", err)
			if _, herr := root.HeadObject(upCtx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("midway")}); herr == nil {
				t.Fatal("an object was created")
			}
		})
	}
}

// TestUploaderCanceled cancels the context after the first part: the upload
// is aborted on a context of its own and nothing is left.
func TestUploaderCanceled(t *testing.T) {
	env := s3test.Load(t)
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			bucket := env.NewBucket(t)
			ctx, cancel := context.WithCancel(upCtx(t))
			defer cancel()
			l := event.ListenerFunc(func(e event.Event) {
				if _, ok := e.(event.PartDone); ok {
					cancel()
				}
			})
			_, err := uploader.New(env.Root(tgt), func(o *uploader.Options) { o.PartSize = upPart; o.Concurrency = 2; o.Listener = l }).
				Upload(ctx, &uploader.UploadInput{Bucket: bucket, Key: "canceled", Body: bytes.NewReader(upRandom(t, 8*upPart))})
			var ue *uploader.UploadError
			if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrCanceled) || !ue.Aborted || ue.UploadID == "" {
				t.Fatalf("%v", err)
			}
		})
	}
}

// TestUploaderAbortDenied: a user allowed s3:PutObject only may not abort
// on versitygw (which does not apply S3's initiator default). A canceled
// upload then reports Aborted=false, the denial, and who may clean up; root
// cleans up so the orphan check passes.
func TestUploaderAbortDenied(t *testing.T) {
	env := s3test.Load(t)
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			bucket := env.NewBucket(t)
			user := env.NewUser(t, "noabort")
			env.PutUserPolicy(t, user.Name, upPolicy(bucket, "s3:PutObject"))
			ctx, cancel := context.WithCancel(upCtx(t))
			defer cancel()
			l := event.ListenerFunc(func(e event.Event) {
				if _, ok := e.(event.PartDone); ok {
					cancel()
				}
			})
			_, err := uploader.New(env.S3For(tgt, user), func(o *uploader.Options) {
				o.PartSize = upPart
				o.Listener = l
				o.InitialBackoff = 10 * time.Millisecond
			}).Upload(ctx, &uploader.UploadInput{Bucket: bucket, Key: "orphan", Body: upStream{bytes.NewReader(upRandom(t, 4*upPart))}})
			var ue *uploader.UploadError
			if !errors.As(err, &ue) || ue.Aborted || ue.UploadID == "" {
				t.Fatalf("%v", err)
			}
			if !errors.Is(ue.AbortErr, mpu.ErrPermissionDenied) || !errors.Is(err, mpu.ErrCanceled) {
				t.Fatalf("abort error %v; err %v", ue.AbortErr, err)
			}
			msg := err.Error()
			for _, s := range []string{"bucket owner", "initiator", "AbortIncompleteMultipartUpload", ue.UploadID} {
				if !strings.Contains(msg, s) {
					t.Errorf("message lacks %q: %s", s, msg)
				}
			}
			t.Logf("message: %s", msg)
			// Clean up as the bucket owner.
			if _, err := env.Root(tgt).AbortMultipartUpload(upCtx(t), &s3.AbortMultipartUploadInput{
				Bucket: aws.String(bucket), Key: aws.String("orphan"), UploadId: aws.String(ue.UploadID),
			}); err != nil {
				t.Fatalf("root abort: %v", err)
			}
		})
	}
}

// TestUploaderRateLimit checks the bytes-per-second limit against the real
// clock: 2 MiB at 4 MiB/s, after a first burst of 256 KiB, takes at least
// 0.4375 s.
func TestUploaderRateLimit(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	tgt := env.HTTP()
	data := upRandom(t, 2<<20)
	start := time.Now()
	out, err := uploader.New(env.Root(tgt), func(o *uploader.Options) { o.RateLimit = 4 << 20 }).
		Upload(upCtx(t), &uploader.UploadInput{Bucket: bucket, Key: "limited", Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 430*time.Millisecond || d > 30*time.Second {
		t.Fatalf("2 MiB at 4 MiB/s took %v", d)
	}
	upVerify(t, env.Root(tgt), bucket, "limited", data, out)
}
