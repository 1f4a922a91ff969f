package kmsperm

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/s3mpu/s3mpu/internal/apicalls"
	"github.com/s3mpu/s3mpu/internal/iamsim"
)

// KMSAPI is the part of the AWS KMS API that kmsperm calls: DescribeKey to
// resolve a key ID or alias to the key's ARN and owning account, and
// GetKeyPolicy to read the key policy. The signatures are the SDK's, so a
// *kms.Client satisfies it without an adapter.
type KMSAPI interface {
	DescribeKey(ctx context.Context, params *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GetKeyPolicy(ctx context.Context, params *kms.GetKeyPolicyInput, optFns ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error)
}

// IAMSimulateAPI is the IAM call kmsperm can use to decide the identity side
// of a KMS permission: SimulatePrincipalPolicy evaluates the caller's
// identity policies (and permissions boundary) as IAM itself would. It never
// sees the key policy, which kmsperm evaluates locally.
type IAMSimulateAPI = iamsim.API

var (
	_ KMSAPI         = (*kms.Client)(nil)
	_ IAMSimulateAPI = (*iam.Client)(nil)
)

// counted is a KMSAPI that counts its requests.
type counted struct {
	api   KMSAPI
	calls *apicalls.Counter
}

func (c counted) DescribeKey(ctx context.Context, params *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	c.calls.Add("kms:DescribeKey")
	return c.api.DescribeKey(ctx, params, optFns...)
}

func (c counted) GetKeyPolicy(ctx context.Context, params *kms.GetKeyPolicyInput, optFns ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	c.calls.Add("kms:GetKeyPolicy")
	return c.api.GetKeyPolicy(ctx, params, optFns...)
}
