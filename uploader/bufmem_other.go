//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package uploader

// allocPartBuffer returns a buffer of n bytes from the Go heap.
func allocPartBuffer(n int) []byte { return make([]byte, n) }

// freePartBuffer leaves b to the garbage collector.
func freePartBuffer(b []byte) {}
