package uploader

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrStateInUse is the error (matched with errors.Is) of a Resume or an
// AbortResumable whose state file another Resume or AbortResumable, in
// this process or another, is using: the call sends nothing and leaves
// the state file to it. Where the platform has no file locks (other than
// Linux, macOS and the BSDs) this is not detected.
var ErrStateInUse = errors.New("the state file is in use by another Resume")

// stateLock is the lock a Resume holds on its state file while it runs: an
// exclusive lock on a lock file beside it (the state file itself is
// replaced at every write, so it cannot carry the lock). Only calls that
// take it are kept out.
type stateLock struct {
	f    *os.File // nil when no lock could be taken (no locks here, a read-only directory)
	path string   // the state file
}

// lockPath is the lock file of the state file at path.
func lockPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
}

// lockState takes the lock of the state file at path without waiting. It
// fails with ErrStateInUse when another holder has it; when no lock can be
// taken at all, it goes on without one.
func lockState(path string) (*stateLock, error) {
	l := &stateLock{path: path}
	f, err := os.OpenFile(lockPath(path), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return l, nil // the state file cannot be written there either: that fails later, and clearly
	}
	held, busy := tryLockFile(f)
	switch {
	case busy:
		f.Close()
		return nil, fmt.Errorf("%w: %s is locked (%s); wait for the other run to end, or stop it", ErrStateInUse, path, lockPath(path))
	case held:
		l.f = f
	default:
		f.Close()
	}
	return l, nil
}

// unlock releases the lock. The lock file goes once the state file has
// gone (the upload is over); while it remains, so does the lock file.
func (l *stateLock) unlock() {
	if l == nil || l.f == nil {
		return
	}
	if _, err := os.Stat(l.path); errors.Is(err, fs.ErrNotExist) {
		os.Remove(lockPath(l.path))
	}
	l.f.Close() // releases the lock
}
