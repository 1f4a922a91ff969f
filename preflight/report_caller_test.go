package preflight

import (
	"strings"
	"testing"
)

// TestWriteTextUnknownCaller: a report made without knowing the caller (a probe against a
// server with no STS) says so in its first line instead of leaving a blank.
func TestWriteTextUnknownCaller(t *testing.T) {
	var b strings.Builder
	r := &Report{Bucket: "bkt", Key: "k", Profile: ProfileNoDefaults}
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(b.String(), "\n")
	if !strings.Contains(first, "as an unknown caller (") {
		t.Fatalf("first line %q does not say the caller is unknown", first)
	}
}
