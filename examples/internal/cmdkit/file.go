package cmdkit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// WriteFile writes data to path atomically, so that a crash leaves either the old file or
// the new one, never a part: it writes a temporary file beside path (named ".BASE.tmp-*",
// BASE cut to maxTempStem bytes, mode perm), syncs it, moves it to path and syncs the
// directory where the file system can. With exclusive, an existing path is never replaced:
// the error then wraps fs.ErrExist. On a file system without hard links, exclusive falls
// back to a rename after checking that path is still free, which leaves a moment in which a
// file created at path would be replaced.
func WriteFile(path string, data []byte, perm fs.FileMode, exclusive bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+tempStem(filepath.Base(path))+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a rename nothing is left to remove; after a link, the temporary name
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if exclusive {
		// A hard link does not replace an existing file, unlike a rename.
		switch err := link(tmp, path); {
		case err == nil:
			syncDir(dir)
			return nil
		case errors.Is(err, fs.ErrExist):
			return err
		}
		// No hard links here: a rename would replace a file that appeared since the caller
		// checked, so look again just before it.
		if _, err := os.Lstat(path); err == nil {
			return &fs.PathError{Op: "write", Path: path, Err: fs.ErrExist}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir syncs a directory, best effort: not every file system syncs one.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// link is os.Link; a test replaces it to act as a file system without hard links.
var link = os.Link

// maxTempStem bounds the part of a file's name that its temporary name repeats, so that the
// temporary name stays within the file system's limit (255 bytes) when the name does.
const maxTempStem = 128

// tempStem is base, cut to at most maxTempStem bytes at a character boundary.
func tempStem(base string) string {
	if len(base) <= maxTempStem {
		return base
	}
	n := maxTempStem
	for n > 0 && !utf8.RuneStart(base[n]) {
		n--
	}
	return base[:n]
}
