package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the benchmark driver's tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
