package s3mem_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader"
)

// The Client serves every client interface of the public packages that
// it documents.
var (
	_ uploader.API       = (*s3mem.Client)(nil)
	_ uploader.FullAPI   = (*s3mem.Client)(nil)
	_ preflight.ProbeAPI = (*s3mem.Client)(nil)
)

// Every fault the package builds, injected into every operation of an
// upload, reaches the caller as the uploader's category for it, and the
// upload leaves nothing behind.
func TestFaultsReachUploaderCategories(t *testing.T) {
	faults := []struct {
		name string
		err  func(op string) error
		want error
	}{
		{"AccessDenied", s3mem.AccessDenied, mpu.ErrPermissionDenied},
		{"SlowDown", s3mem.SlowDown, mpu.ErrThrottled},
		{"InternalError", s3mem.InternalError, mpu.ErrTransient},
		{"NoSuchUpload", s3mem.NoSuchUpload, mpu.ErrNotFound},
		{"NoSuchBucket", func(op string) error {
			return s3mem.APIError(op, 404, "NoSuchBucket", "The specified bucket does not exist")
		}, mpu.ErrNotFound},
	}
	ops := []string{s3mem.OpCreateMultipartUpload, s3mem.OpUploadPart, s3mem.OpCompleteMultipartUpload}
	for _, f := range faults {
		for _, op := range ops {
			if f.name == "NoSuchUpload" && op == s3mem.OpCreateMultipartUpload {
				continue // S3 never answers an initiation with NoSuchUpload
			}
			t.Run(f.name+"/"+op, func(t *testing.T) {
				client := s3mem.New("b")
				client.Hook(op, s3mem.Fail(f.err(op)))
				u := uploader.New(client, func(o *uploader.Options) {
					o.PartSize = 5 << 20
					o.MaxAttempts = 2
					o.InitialBackoff = 1
				})
				_, err := u.Upload(context.Background(), &uploader.UploadInput{
					Bucket: "b", Key: "k", Body: strings.NewReader(strings.Repeat("z", 5<<20+1)),
				})
				if !errors.Is(err, f.want) {
					t.Fatalf("Upload error %v does not match %v", err, f.want)
				}
				var ue *uploader.UploadError
				if !errors.As(err, &ue) || ue.Op != mpu.Op(op) {
					t.Fatalf("Upload error %v: want an *UploadError for %s", err, op)
				}
				if left := client.Uploads(); len(left) != 0 {
					t.Fatalf("%d multipart uploads left behind", len(left))
				}
				if client.Object("b", "k") != nil {
					t.Fatal("a failed upload stored an object")
				}
			})
		}
	}
}

// Hooks of one operation nest, the last installed outermost, and
// ClearHooks removes them.
func TestHookOrderAndClear(t *testing.T) {
	client := s3mem.New("b")
	var order []string
	mark := func(name string) s3mem.Hook {
		return func(ctx context.Context, _ *s3mem.Call, next s3mem.Next) (any, error) {
			order = append(order, name)
			return next(ctx)
		}
	}
	client.Hook(s3mem.OpPutObject, mark("first"))
	client.Hook(s3mem.OpPutObject, mark("second"))
	u := uploader.New(client)
	in := &uploader.UploadInput{Bucket: "b", Key: "k", Body: strings.NewReader("x")}
	if _, err := u.Upload(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ",") != "second,first" {
		t.Fatalf("hooks ran in order %v, want second,first", order)
	}
	client.ClearHooks(s3mem.OpPutObject)
	client.Hook(s3mem.OpPutObject, s3mem.Fail(s3mem.AccessDenied(s3mem.OpPutObject)))
	in.Body = strings.NewReader("y")
	if _, err := u.Upload(context.Background(), in); !errors.Is(err, mpu.ErrPermissionDenied) {
		t.Fatalf("after ClearHooks and a Fail hook: %v", err)
	}
	if len(order) != 2 {
		t.Fatalf("a cleared hook ran again: %v", order)
	}
	if got := string(client.Object("b", "k").Data); got != "x" {
		t.Fatalf("a failed PutObject changed the object to %q", got)
	}
}
