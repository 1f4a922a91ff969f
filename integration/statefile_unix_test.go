//go:build unix

package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// TestCLIStateFileNotRegular runs `s3mpu upload --state PATH
// --start-over` with PATH a FIFO nobody writes to and a directory: the
// command must end at once with exit status 2 and say the state file is
// not a regular file, send nothing, and leave PATH as it was (it used to
// block opening the FIFO, then replace it with a regular file).
func TestCLIStateFileNotRegular(t *testing.T) {
	env := s3test.Load(t)
	bin := buildCLI(t)
	bucket := env.NewBucket(t)
	u := env.NewUser(t, "cli-fifo")
	env.PutUserPolicy(t, u.Name, cliPolicyAll(bucket))
	c := newCLIUser(t, env, env.HTTP(), u)
	dir := t.TempDir()
	file := cliWriteFile(t, dir, "data.bin", cliRandomBytes(t, 2*upPart+1))
	fifo := filepath.Join(dir, "fifo.state")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "dir.state")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, state := range []string{fifo, sub} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		args := append(append([]string{}, c.global...), "upload", file, "s3://"+bucket+"/data.bin", "--part-size", "5MiB",
			"--preflight", "off", "--progress", "none", "--state", state, "--start-over")
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = c.env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		cancel()
		t.Logf("%s: %v after %v: %s", filepath.Base(state), err, time.Since(start).Round(time.Millisecond), stderr.String())
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("%s: %v, want exit status 2", state, err)
		}
		if !strings.Contains(stderr.String(), "not a regular file") {
			t.Fatalf("stderr %q does not say the state file is not a regular file", stderr.String())
		}
		fi, err := os.Lstat(state)
		if err != nil || fi.Mode().IsRegular() {
			t.Fatalf("%s replaced: %v %v", state, fi, err)
		}
	}
	if left := owUploadIDs(t, env, bucket); len(left) != 0 {
		t.Fatalf("uploads left %v", left)
	}
}
