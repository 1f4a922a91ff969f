package uploader

import (
	"testing"
	"unsafe"
)

// stackMoves runs deep (about 40 KiB of frames) in a fresh goroutine, after
// grow, and tells whether the goroutine's stack moved (was copied to a
// larger one) during deep: the address of a local of the goroutine's first
// frame changes when it does.
func stackMoves(grow func()) bool {
	moved := make(chan bool)
	go func() {
		var x byte
		grow()
		before := uintptr(unsafe.Pointer(&x))
		deepFrames(40)
		moved <- uintptr(unsafe.Pointer(&x)) != before
	}()
	return <-moved
}

//go:noinline
func deepFrames(n int) byte {
	var buf [1 << 10]byte
	buf[n%len(buf)] = byte(n)
	if n == 0 {
		return buf[0]
	}
	return deepFrames(n-1) + buf[(n*7)%len(buf)]
}

// After growStack, a request's worth of frames fits in the goroutine's
// stack: the stack is not copied again during the request.
func TestGrowStack(t *testing.T) {
	if !stackMoves(func() {}) {
		t.Skip("a new goroutine's stack already holds 40 KiB of frames here: nothing to tell")
	}
	if stackMoves(growStack) {
		t.Fatal("the stack moved during 40 KiB of frames after growStack")
	}
}
