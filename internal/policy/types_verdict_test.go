package policy

import (
	"testing"

	"github.com/s3mpu/s3mpu/mpu"
)

// TestVerdict: only Allowed is allowed and only ExplicitDeny is an
// explicit deny; any other value, even one out of range, is ImplicitDeny.
func TestVerdict(t *testing.T) {
	for d, want := range map[Decision]mpu.Decision{
		Allowed: mpu.Allowed, ExplicitDeny: mpu.ExplicitDeny, ImplicitDeny: mpu.ImplicitDeny, Decision(7): mpu.ImplicitDeny, Decision(-1): mpu.ImplicitDeny,
	} {
		if got := d.Verdict(); got != want {
			t.Errorf("%v.Verdict() = %v, want %v", d, got, want)
		}
	}
}
