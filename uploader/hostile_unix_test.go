//go:build unix

package uploader

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
)

// TestResumeStateFileNotRegular checks that a state file path naming
// something other than a regular file (a FIFO nobody writes to, a
// directory, a device) fails with mpu.ErrInvalidInput at once, before any
// request, instead of blocking in open or read past the context, and is
// left as it was; AbortResumable and ReadState too.
func TestResumeStateFileNotRegular(t *testing.T) {
	fx := newResumeFixture(t, 11*mib)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.state")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// A link to a device, not the device: were it replaced, only the link
	// would be.
	dev := filepath.Join(dir, "null.state")
	if err := os.Symlink(os.DevNull, dev); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"fifo": fifo, "directory": dir, "device": dev} {
		t.Run(name, func(t *testing.T) {
			c := s3mem.New("b")
			f, err := os.Open(fx.path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			in := &ResumeInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: f}, StateFile: path}
			for _, startOver := range []bool{false, true} {
				in.StartOver = startOver
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err = New(c, testOptions(newFakeClock(), nil)).Resume(ctx, in)
				cancel()
				var ue *UploadError
				if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrInvalidInput) || errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("start over %v: err %v, want mpu.ErrInvalidInput", startOver, err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err = New(c, testOptions(newFakeClock(), nil)).AbortResumable(ctx, path)
			cancel()
			if !errors.Is(err, mpu.ErrInvalidInput) {
				t.Fatalf("AbortResumable: %v, want mpu.ErrInvalidInput", err)
			}
			if _, err := ReadState(path); !errors.Is(err, mpu.ErrInvalidInput) {
				t.Fatalf("ReadState: %v, want mpu.ErrInvalidInput", err)
			}
			if n := len(c.Calls()); n != 0 {
				t.Fatalf("%d requests sent", n)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().IsRegular() || name == "device" && fi.Mode()&os.ModeCharDevice == 0 {
				t.Fatalf("%s replaced: %v %v", path, fi, err)
			}
		})
	}
}
