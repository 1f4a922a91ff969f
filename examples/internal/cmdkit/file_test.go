package cmdkit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
	"testing"
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
