package preflight

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3mpu/s3mpu/internal/iamread"
	"github.com/s3mpu/s3mpu/internal/iamsim"
)

// BucketReadAPI is the part of the S3 API the local evaluator uses to read
// a bucket's own policy sources. *s3.Client satisfies it.
type BucketReadAPI interface {
	GetBucketPolicy(ctx context.Context, params *s3.GetBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	GetBucketAcl(ctx context.Context, params *s3.GetBucketAclInput, optFns ...func(*s3.Options)) (*s3.GetBucketAclOutput, error)
	GetBucketOwnershipControls(ctx context.Context, params *s3.GetBucketOwnershipControlsInput, optFns ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error)
}

// ProbeAPI is the part of the S3 API the probe evaluator calls. *s3.Client
// satisfies it.
type ProbeAPI interface {
	CreateMultipartUpload(ctx context.Context, params *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, params *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	UploadPartCopy(ctx context.Context, params *s3.UploadPartCopyInput, optFns ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error)
	CompleteMultipartUpload(ctx context.Context, params *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, params *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListParts(ctx context.Context, params *s3.ListPartsInput, optFns ...func(*s3.Options)) (*s3.ListPartsOutput, error)
	ListMultipartUploads(ctx context.Context, params *s3.ListMultipartUploadsInput, optFns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
	HeadObject(ctx context.Context, params *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// IAMReadAPI is the part of the IAM API the local evaluator uses to read a
// principal's identity policies: inline and attached policies of a user,
// of its groups, or of a role, and its permissions boundary (GetUser,
// GetRole, List/Get{User,Group,Role}Policies, ListAttached{User,Group,Role}Policies,
// ListGroupsForUser, GetPolicy, GetPolicyVersion). *iam.Client satisfies it.
type IAMReadAPI = iamread.API

// SimulateAPI is the IAM policy simulator call
// (SimulatePrincipalPolicy). *iam.Client satisfies it.
type SimulateAPI = iamsim.API

// STSAPI finds the caller. *sts.Client satisfies it.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, params *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

var (
	_ BucketReadAPI = (*s3.Client)(nil)
	_ ProbeAPI      = (*s3.Client)(nil)
	_ IAMReadAPI    = (*iam.Client)(nil)
	_ SimulateAPI   = (*iam.Client)(nil)
	_ STSAPI        = (*sts.Client)(nil)
)
