package uploader

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/s3mpu/s3mpu/s3mem"
)

// TestResumeStateFileInUse checks that a second Resume (or an
// AbortResumable) of a state file that a running Resume holds fails at
// once with ErrStateInUse, sending nothing and leaving the file, instead
// of sending the same parts into the same upload (or creating a second
// upload whose ID overwrites the first's in the file) or aborting the
// running upload under it; the running Resume completes.
func TestResumeStateFileInUse(t *testing.T) {
	fx := newResumeFixture(t, 16*mib)
	probe, err := os.Open(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	held, _ := tryLockFile(probe)
	probe.Close()
	if !held {
		t.Skip("no file locks on this platform or file system")
	}
	c := s3mem.New("b")
	release, started := make(chan struct{}), make(chan *s3mem.Call, 1)
	c.Hook(s3mem.OpUploadPart, s3mem.Block(release, started))
	first := make(chan error, 1)
	go func() {
		_, err := fx.resume(t, c, nil, nil, func(o *Options) { o.Concurrency = 1 })
		first <- err
	}()
	<-started // the first Resume holds the state file and sends a part
	before := len(c.Calls())
	_, err = fx.resume(t, c, nil, nil)
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, ErrStateInUse) || ue.Aborted {
		t.Fatalf("second Resume: %v, want ErrStateInUse", err)
	}
	if err := New(c, testOptions(newFakeClock(), nil)).AbortResumable(context.Background(), fx.state); !errors.Is(err, ErrStateInUse) {
		t.Fatalf("AbortResumable: %v, want ErrStateInUse", err)
	}
	if n := len(c.Calls()) - before; n != 0 {
		t.Fatalf("%d requests sent by the second Resume and AbortResumable", n)
	}
	if _, err := ReadState(fx.state); err != nil {
		t.Fatalf("state file: %v", err)
	}
	c.ClearHooks(s3mem.OpUploadPart)
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if obj := c.Object("b", "k"); obj == nil || !bytes.Equal(obj.Data, fx.data) {
		t.Fatal("object not stored whole")
	}
	if n := len(c.Uploads()); n != 0 {
		t.Fatalf("%d uploads left", n)
	}
	ents, _ := os.ReadDir(fx.state[:len(fx.state)-len("/upload.state")])
	for _, e := range ents {
		if e.Name() != "data.bin" {
			t.Fatalf("%s left beside the data", e.Name())
		}
	}
	// The lock is free again: the same state file serves a later Resume.
	if _, err := fx.resume(t, c, nil, nil); err != nil {
		t.Fatal(err)
	}
}
