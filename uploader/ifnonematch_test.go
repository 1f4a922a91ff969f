package uploader

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/s3mpu/s3mpu/s3mem"
)

// TestIfNoneMatchNeverOverwrites: with IfNoneMatch "*", an upload over an
// existing key fails and leaves the object as it was, whether the body goes
// in one PutObject or in parts; over a free key it is stored.
func TestIfNoneMatchNeverOverwrites(t *testing.T) {
	for _, size := range []int{0, 1, 5 * mib, 11 * mib} {
		c := s3mem.New("b")
		old := []byte("old object")
		c.PutObjectData("b", "k", old)
		up := New(c, testOptions(newFakeClock(), nil))
		data := payload(size)
		_, err := up.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(data), IfNoneMatch: "*"})
		if err == nil {
			t.Fatalf("size %d: an upload with IfNoneMatch over an existing key succeeded", size)
		}
		var ue *UploadError
		if !errors.As(err, &ue) {
			t.Fatalf("size %d: %T %v, want an *UploadError", size, err, err)
		}
		if got := c.Object("b", "k"); got == nil || !bytes.Equal(got.Data, old) {
			t.Fatalf("size %d: the existing object was replaced", size)
		}
		if n := len(c.Uploads()); n != 0 {
			t.Fatalf("size %d: %d uploads left", size, n)
		}
		if _, err := up.Upload(context.Background(), &UploadInput{Bucket: "b", Key: "free", Body: bytes.NewReader(data), IfNoneMatch: "*"}); err != nil {
			t.Fatalf("size %d: upload to a free key: %v", size, err)
		}
		if got := c.Object("b", "free"); got == nil || !bytes.Equal(got.Data, data) {
			t.Fatalf("size %d: the free key holds something else", size)
		}
	}
}
