package preflight

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/s3mpu/s3mpu/mpu"
)

// countingSim counts simulator calls and fails each one.
type countingSim struct{ n atomic.Int32 }

func (c *countingSim) SimulatePrincipalPolicy(context.Context, *iam.SimulatePrincipalPolicyInput, ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error) {
	c.n.Add(1)
	return nil, errors.New("simulator unavailable")
}

// TestNewAutoSimulatorOnlyWithoutSuppliedIdentity: "auto" asks the
// simulator only when no identity policy is supplied, and the local
// engine decides either way.
func TestNewAutoSimulatorOnlyWithoutSuppliedIdentity(t *testing.T) {
	allow := doc("id", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	p := probePlan()
	p.CopySource = nil
	p.Transport, p.SourceIP = TransportHTTPS, "192.0.2.1"
	for _, tc := range []struct {
		name     string
		identity []mpu.PolicyDocument
		wantSim  bool
	}{
		{"supplied", []mpu.PolicyDocument{allow}, false},
		{"not supplied", nil, true},
	} {
		sim := &countingSim{}
		local := LocalOptions{Sources: Sources{Identity: tc.identity, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}}
		rep := checkPlan(t, NewAuto(local, sim, nil), p, ProfileNoDefaults)
		if got := sim.n.Load() > 0; got != tc.wantSim {
			t.Errorf("%s: simulator called %d times, want called=%v", tc.name, sim.n.Load(), tc.wantSim)
		}
		for _, s := range rep.Steps {
			if s.Evaluator != mpu.EvaluatorLocal {
				t.Errorf("%s: %s decided by %s, want local", tc.name, s.Step, s.Evaluator)
			}
			if tc.identity != nil && s.Decision != mpu.Allowed {
				t.Errorf("%s: %s is %s, want allowed", tc.name, s.Step, s.Decision)
			}
		}
	}
}
