package preflight

import (
	"testing"

	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/s3mpu/s3mpu/mpu"
)

// TestFromSim: a decision the simulator may add later is Unknown, never
// allowed and never a plain deny.
func TestFromSim(t *testing.T) {
	for in, want := range map[iamtypes.PolicyEvaluationDecisionType]mpu.Decision{
		"allowed": mpu.Allowed, "explicitDeny": mpu.ExplicitDeny, "implicitDeny": mpu.ImplicitDeny,
		"": mpu.Unknown, "conditionalAllow": mpu.Unknown, "Allowed": mpu.Unknown,
	} {
		if got := fromSim(in); got != want {
			t.Errorf("fromSim(%q) = %v, want %v", in, got, want)
		}
	}
}
