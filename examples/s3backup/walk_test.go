package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func writeFile(t *testing.T, root, rel, data string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func rels(files []localFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Rel)
	}
	return out
}

func skippedReasons(s []skippedPath) map[string]string {
	m := map[string]string{}
	for _, x := range s {
		m[x.Rel] = x.Reason
	}
	return m
}

func TestWalkTree(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "b.txt", "bb")
	writeFile(t, root, "a/z.txt", "z")
	writeFile(t, root, "a/ünï cødé.txt", "u")
	writeFile(t, root, "empty", "")
	writeFile(t, root, "skip/me.txt", "x")
	writeFile(t, root, "x.tmp", "tmp")
	writeFile(t, root, ".s3backup/manifest.json", "{}")
	if err := os.Symlink("b.txt", filepath.Join(root, "link-file")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(root, "link-dir")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "esc\x1b[31m", "e")
	writeFile(t, root, "new\nline/inner", "n")
	for _, d := range []string{"a/empty-dir", "deep/er/empty", "skip/empty"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	flt, err := newFilter(nil, []string{"skip", "*.tmp"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := walkTree(context.Background(), root, walkOptions{filter: flt, reserved: isReserved})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a/z.txt", "a/ünï cødé.txt", "b.txt", "empty"}
	if got := rels(res.files); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("files = %q, want %q", got, want)
	}
	if res.excluded != 1 { // x.tmp; skip/ is pruned as a directory
		t.Errorf("excluded = %d, want 1", res.excluded)
	}
	sk := skippedReasons(res.skipped)
	var dirs []string
	for _, d := range res.dirs {
		dirs = append(dirs, d.Rel)
	}
	if strings.Join(dirs, "|") != "a/empty-dir|deep/er/empty" {
		t.Errorf("empty dirs = %q", dirs)
	}
	for rel, frag := range map[string]string{"link-file": "symbolic link", "link-dir": "symbolic link", "pipe": "named pipe", ".s3backup": "reserved",
		"esc\x1b[31m": "control character", "new\nline": "control character"} {
		if !strings.Contains(sk[rel], frag) {
			t.Errorf("skipped[%q] = %q, want it to mention %q", rel, sk[rel], frag)
		}
	}
	for _, f := range res.files {
		if f.Rel == "b.txt" && (f.Size != 2 || f.Mode != 0o644 || f.ModTime.IsZero()) {
			t.Errorf("b.txt recorded as %+v", f)
		}
	}
}

func TestWalkFollowSymlinks(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a/f.txt", "f")
	writeFile(t, root, "target.txt", "target!")
	if err := os.Symlink("target.txt", filepath.Join(root, "link-file")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(root, "link-dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(root, "a", "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("missing", filepath.Join(root, "dangling")); err != nil {
		t.Fatal(err)
	}
	res, err := walkTree(context.Background(), root, walkOptions{followSymlinks: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a/f.txt", "link-dir/f.txt", "link-file", "target.txt"}
	if got := rels(res.files); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("files = %q, want %q", got, want)
	}
	for _, f := range res.files {
		if f.Rel == "link-file" && f.Size != int64(len("target!")) {
			t.Errorf("a followed link must carry its target's size, got %d", f.Size)
		}
	}
	sk := skippedReasons(res.skipped)
	if !strings.Contains(sk["a/loop"], "loop") || !strings.Contains(sk["link-dir/loop"], "loop") {
		t.Errorf("symlink loops not reported: %q", sk)
	}
	if !strings.Contains(sk["dangling"], "broken") {
		t.Errorf("broken link not reported: %q", sk)
	}
}

func TestWalkUnreadableDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		// root reads any directory: use a name that is not a directory at all instead.
		root := t.TempDir()
		if _, err := walkTree(context.Background(), filepath.Join(root, "nope"), walkOptions{}); err == nil {
			t.Fatal("walking a missing directory must fail")
		}
		return
	}
	root := t.TempDir()
	writeFile(t, root, "locked/f", "x")
	if err := os.Chmod(filepath.Join(root, "locked"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(root, "locked"), 0o755) })
	res, err := walkTree(context.Background(), root, walkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.errors) != 1 || res.errors[0].Rel != "locked" {
		t.Fatalf("errors = %+v, want the locked directory", res.errors)
	}
}

func TestWalkCanceled(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a/b", "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := walkTree(ctx, root, walkOptions{}); err == nil {
		t.Fatal("a canceled walk must fail")
	}
}
