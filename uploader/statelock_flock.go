//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package uploader

import (
	"errors"
	"os"
	"syscall"
)

// tryLockFile takes an exclusive lock on f without waiting: held when
// taken, busy when another open file holds it. A file system without
// locks gives neither.
func tryLockFile(f *os.File) (held, busy bool) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, true
	}
	return err == nil, false
}
