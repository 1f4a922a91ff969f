package cmdkit

import (
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	for err, want := range map[error]int{
		nil:                                  ExitOK,
		errors.New("x"):                      ExitFailure,
		UsageErrorf("bad"):                   ExitUsage,
		DeniedErr(errors.New("d")):           ExitDenied,
		fmt.Errorf("w: %w", UsageErrorf("")): ExitUsage,
		SilentExit(ExitInterrupted):          ExitInterrupted,
	} {
		if got := Code(err); got != want {
			t.Errorf("Code(%v) = %d, want %d", err, got, want)
		}
	}
}

func TestNeedsPathStyle(t *testing.T) {
	for ep, want := range map[string]bool{
		"https://127.0.0.1:9000":             true,
		"http://[::1]:9000":                  true,
		"http://localhost:9000":              true,
		"http://minio.localhost":             true,
		"https://s3.us-east-1.amazonaws.com": false,
		"https://storage.example.com":        false,
		"::bad":                              false,
	} {
		if got := NeedsPathStyle(ep); got != want {
			t.Errorf("NeedsPathStyle(%q) = %v, want %v", ep, got, want)
		}
	}
}
