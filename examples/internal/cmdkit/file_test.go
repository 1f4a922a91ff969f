package cmdkit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"
)

// TestWriteFile: a write replaces the file whole, with the mode asked; an
// exclusive write never replaces an existing file; no temporary file is left
// beside it either way.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.json")
	check := func(want string) {
		t.Helper()
		got, err := os.ReadFile(p)
		if err != nil || string(got) != want {
			t.Fatalf("file holds %q (%v), want %q", got, err, want)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Fatalf("%d entries in the directory, want the file alone: %v", len(ents), ents)
		}
	}
	if err := WriteFile(p, []byte("one"), 0o600, true); err != nil {
		t.Fatal(err)
	}
	check("one")
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	err := WriteFile(p, []byte("two"), 0o600, true)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("exclusive write over an existing file: %v, want fs.ErrExist", err)
	}
	check("one")
	if err := WriteFile(p, []byte("three"), 0o640, false); err != nil {
		t.Fatal(err)
	}
	check("three")
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want 0640", fi.Mode().Perm())
	}
	// A missing directory is an error, and leaves nothing.
	if err := WriteFile(filepath.Join(dir, "no", "f"), []byte("x"), 0o600, false); err == nil {
		t.Fatal("a write into a missing directory succeeded")
	}
	check("three")
}

// TestWriteFileLongName: any name the file system takes for the file itself
// is written, though the temporary name beside it adds a prefix and suffix.
func TestWriteFileLongName(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"n", strings.Repeat("n", 200), strings.Repeat("n", 239), strings.Repeat("n", 240),
		strings.Repeat("n", 255), "n" + strings.Repeat("é", 127)} {
		n := len(name)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Skipf("the file system takes no name of %d bytes: %v", n, err)
		}
		os.Remove(p)
		for _, excl := range []bool{false, true} {
			if err := WriteFile(p, []byte(name), 0o600, excl); err != nil {
				t.Fatalf("name of %d bytes, exclusive %v: %v", n, excl, err)
			}
			if got, err := os.ReadFile(p); err != nil || string(got) != name || !utf8.ValidString(name) {
				t.Fatalf("name of %d bytes: read %d bytes (%v)", n, len(got), err)
			}
			os.Remove(p)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("left beside the file: %v", ents)
		}
	}
}

// TestWriteFileNeverFollowsSymlink: a symbolic link at the path, to a file
// outside the directory or to nothing, is never written through: a write
// replaces the link, an exclusive write is refused, and the target is left
// as it was (or absent).
func TestWriteFileNeverFollowsSymlink(t *testing.T) {
	outside := t.TempDir()
	for _, dangling := range []bool{false, true} {
		for _, excl := range []bool{false, true} {
			dir := t.TempDir()
			target := filepath.Join(outside, "target")
			os.Remove(target)
			if !dangling {
				if err := os.WriteFile(target, []byte("outside"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p := filepath.Join(dir, "f")
			if err := os.Symlink(target, p); err != nil {
				t.Skipf("no symbolic links: %v", err)
			}
			err := WriteFile(p, []byte("new"), 0o600, excl)
			if excl && !errors.Is(err, fs.ErrExist) {
				t.Fatalf("dangling %v: exclusive write over a link: %v, want fs.ErrExist", dangling, err)
			}
			if !excl {
				if err != nil {
					t.Fatalf("dangling %v: %v", dangling, err)
				}
				if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
					t.Fatalf("dangling %v: the path is not a regular file (%v)", dangling, err)
				}
			}
			got, err := os.ReadFile(target)
			switch {
			case dangling && !errors.Is(err, fs.ErrNotExist):
				t.Fatalf("exclusive %v: the link's missing target was created (%q, %v)", excl, got, err)
			case !dangling && string(got) != "outside":
				t.Fatalf("exclusive %v: the link's target holds %q (%v)", excl, got, err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Fatalf("dangling %v, exclusive %v: %d entries left, want 1", dangling, excl, len(ents))
			}
		}
	}
}

// TestWriteFileOverDirectory: a directory at the path is an error and is
// left as it was, with nothing beside it.
func TestWriteFileOverDirectory(t *testing.T) {
	for _, excl := range []bool{false, true} {
		dir := t.TempDir()
		p := filepath.Join(dir, "d")
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(p, []byte("x"), 0o600, excl); err == nil {
			t.Fatalf("exclusive %v: a write over a directory succeeded", excl)
		}
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			t.Fatalf("exclusive %v: the directory is gone (%v)", excl, err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("exclusive %v: %d entries left, want 1", excl, len(ents))
		}
	}
}

// TestWriteFileExclusiveWithoutHardLinks: on a file system that refuses hard
// links, an exclusive write still never replaces a file that is there when it
// comes to move its temporary file.
func TestWriteFileExclusiveWithoutHardLinks(t *testing.T) {
	defer func(l func(string, string) error) { link = l }(link)
	link = func(oldname, newname string) error {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: syscall.EPERM}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("one"), 0o600, true); err != nil {
		t.Fatalf("exclusive write to a free path: %v", err)
	}
	for _, existing := range []string{"file", "link"} {
		if existing == "link" {
			os.Remove(p)
			if err := os.Symlink(filepath.Join(dir, "absent"), p); err != nil {
				t.Fatal(err)
			}
		}
		err := WriteFile(p, []byte("two"), 0o600, true)
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("exclusive write over a %s: %v, want fs.ErrExist", existing, err)
		}
		if fi, err := os.Lstat(p); err != nil || (existing == "link") != (fi.Mode()&fs.ModeSymlink != 0) {
			t.Fatalf("the %s was replaced (%v)", existing, err)
		}
		if existing == "file" {
			if got, _ := os.ReadFile(p); string(got) != "one" {
				t.Fatalf("the file holds %q, want one", got)
			}
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("%d entries left, want 1", len(ents))
		}
	}
}
