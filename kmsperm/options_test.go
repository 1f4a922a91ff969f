package kmsperm_test

import (
	"context"
	"testing"

	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
)

// TestOptionsStandInForInput: the identity and key policies given in
// Options decide exactly as the same policies given in the Input, and an
// Input's own policies win over the Options'.
func TestOptionsStandInForInput(t *testing.T) {
	ctx := context.Background()
	viaInput := baseInput(keyARN)
	viaInput.KeyPolicy = []byte(kpProgrammatic)
	want, err := kmsperm.New(nil).Check(ctx, viaInput)
	if err != nil {
		t.Fatal(err)
	}
	bare := baseInput(keyARN)
	bare.Identity = nil
	withOpts := kmsperm.New(nil, func(o *kmsperm.Options) {
		o.Identity = viaInput.Identity
		o.KeyPolicy = viaInput.KeyPolicy
	})
	got, err := withOpts.Check(ctx, bare)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range mpu.AllSteps {
		if g, w := decisionOf(t, got, s), decisionOf(t, want, s); g != w {
			t.Errorf("%s: %s with the policies in Options, %s with them in the Input", s, g, w)
		}
	}
	if got.Keys[0].PolicySource != kmsperm.PolicySupplied {
		t.Errorf("key policy source %q", got.Keys[0].PolicySource)
	}
	// The Input's empty identity list (the caller has none) wins over
	// the Options' policies: nothing allows the caller.
	none := baseInput(keyARN)
	none.Identity = []mpu.PolicyDocument{}
	rep, err := withOpts.Check(ctx, none)
	if err != nil {
		t.Fatal(err)
	}
	if d := decisionOf(t, rep, mpu.UploadPart); d == mpu.Allowed {
		t.Errorf("UploadPart %s with no identity policy in the Input", d)
	}
}
