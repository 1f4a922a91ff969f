//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestShardFileRefusesFIFO: plan, upload-shard and complete read their file
// at any offset, so a FIFO or a directory is a usage error at once, not a
// wait for a writer that never comes.
func TestShardFileRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO: %v", err)
	}
	// within runs f, releasing a reader blocked on the FIFO if it takes too long.
	within := func(what string, f func()) {
		t.Helper()
		done := make(chan struct{})
		go func() { defer close(done); f() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			<-done
			t.Errorf("%s waits for a writer", what)
		}
	}
	var code int
	var stderr string
	within("plan of a FIFO", func() {
		code, _, stderr = runCLI(t, "plan", fifo, "s3://bucket/key", "--shards", "2", "--plan-out", filepath.Join(dir, "p"))
	})
	if code != 2 || !strings.Contains(stderr, "not a regular file") {
		t.Errorf("plan of a FIFO: exit %d, %s", code, stderr)
	}
	for _, path := range []string{fifo, dir} {
		var err error
		within("opening "+path, func() {
			var f *os.File
			if f, _, err = openShardFile(path); err == nil {
				f.Close()
			}
		})
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("openShardFile(%s): %v, want not a regular file", path, err)
		}
	}
	f, err := os.CreateTemp(dir, "regular")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if g, _, err := openShardFile(f.Name()); err != nil {
		t.Errorf("a regular file refused: %v", err)
	} else {
		g.Close()
	}
}
