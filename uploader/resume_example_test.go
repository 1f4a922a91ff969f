package uploader_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// Resume keeps the upload's progress in a state file. A run that fails
// (here: the server refuses the third part) leaves the upload and the
// state file; running Resume again with the same state file sends only the
// parts the server does not hold, completes the upload and removes the
// state file. (The client is the in-memory S3 of package s3mem; pass an
// *s3.Client in real use.)
func ExampleUploader_Resume() {
	dir, err := os.MkdirTemp("", "resume-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "data.bin")
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 12<<20)), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	state := filepath.Join(dir, "data.bin.upload-state")

	client := s3mem.New("my-bucket")
	u := uploader.New(client, func(o *uploader.Options) {
		o.PartSize = 5 << 20
		o.Concurrency = 1
		o.Listener = event.ListenerFunc(func(e event.Event) {
			if r, ok := e.(event.Resumed); ok {
				fmt.Printf("resumed: %d parts stored, %d to send\n", r.PartsStored, r.PartsToSend)
			}
		})
	})
	upload := func() error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = u.Resume(context.Background(), &uploader.ResumeInput{
			UploadInput: uploader.UploadInput{Bucket: "my-bucket", Key: "data.bin", Body: f},
			StateFile:   state,
		})
		return err
	}

	client.Hook(s3mem.OpUploadPart, s3mem.FailIf(func(call *s3mem.Call) error {
		if call.N == 2 {
			return s3mem.AccessDenied(s3mem.OpUploadPart)
		}
		return nil
	}))
	err = upload()
	fmt.Println("first run denied:", errors.Is(err, mpu.ErrPermissionDenied))
	st, _ := uploader.ReadState(state)
	fmt.Println("parts recorded:", len(st.Parts))

	client.ClearHooks("")
	fmt.Println("second run:", upload())
	_, err = os.Stat(state)
	fmt.Println("state file removed:", errors.Is(err, os.ErrNotExist))
	// Output:
	// first run denied: true
	// parts recorded: 2
	// resumed: 2 parts stored, 1 to send
	// second run: <nil>
	// state file removed: true
}

// Copy copies on the server side: a single CopyObject below
// Options.CopyThreshold, UploadPartCopy byte ranges in parallel above it.
// The source's metadata, headers and tags are kept unless replaced.
func ExampleUploader_Copy() {
	client := s3mem.New("src", "dst")
	client.PutObjectData("src", "big.iso", []byte(strings.Repeat("y", 12<<20)))

	u := uploader.New(client, func(o *uploader.Options) {
		o.CopyThreshold = 5 << 20
		o.PartSize = 5 << 20
	})
	out, err := u.Copy(context.Background(), &uploader.CopyInput{
		SourceBucket: "src", SourceKey: "big.iso",
		Bucket: "dst", Key: "copies/big.iso",
	})
	if err != nil {
		fmt.Println("copy failed:", err)
		return
	}
	fmt.Println(out.Size, out.Parts, out.UploadID != "")
	// Output: 12582912 3 true
}
