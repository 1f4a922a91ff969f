//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package uploader

import "os"

// tryLockFile takes no lock where the platform has no flock.
func tryLockFile(*os.File) (held, busy bool) { return false, false }
