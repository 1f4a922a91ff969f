//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package uploader

import "syscall"

// allocPartBuffer returns a zeroed buffer of n bytes mapped outside the Go
// heap, so that the part buffers, live for the whole upload, do not raise
// the garbage collector's heap goal (which would let the garbage of the
// requests pile up to their size again). It falls back to the heap when
// the mapping fails. The buffer must be given back with freePartBuffer
// once nothing can read or write it.
func allocPartBuffer(n int) []byte {
	if n <= 0 {
		return make([]byte, n)
	}
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n)
	}
	adviseHugePages(b)
	return b
}

// freePartBuffer unmaps a buffer from allocPartBuffer (a heap buffer from
// its fallback is left to the garbage collector).
func freePartBuffer(b []byte) {
	if cap(b) == 0 {
		return
	}
	// Munmap fails with EINVAL for memory it did not map: the heap fallback.
	_ = syscall.Munmap(b[:cap(b)])
}
