package kmsperm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
)

// awsManagedS3KeyPolicy returns the key policy of S3's AWS managed key
// aws/s3 in account and region: every principal of the account may use the
// key through S3 (kms:CallerAccount is the account and kms:ViaService is
// S3 in the Region), and the account may read the key's metadata. AWS
// writes this policy and no one can change it (docKeyPolicyModifying), which
// is why an AWS managed key cannot be used from another account.
func awsManagedS3KeyPolicy(account, region, partition string) []byte {
	partition = orAWS(partition)
	return []byte(fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Id": "auto-s3",
  "Statement": [
    {
      "Sid": "Allow access through S3 for all principals in the account that are authorized to use S3",
      "Effect": "Allow",
      "Principal": {"AWS": "*"},
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      "Resource": "*",
      "Condition": {"StringEquals": {"kms:CallerAccount": %q, "kms:ViaService": %q}}
    },
    {
      "Sid": "Allow direct access to key metadata to the account",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:%s:iam::%s:root"},
      "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
      "Resource": "*"
    }
  ]
}`, account, viaService(region, partition), partition, account))
}

// loadKeyPolicy finds the key policy of k: the supplied one, else
// kms:GetKeyPolicy, else the documented policy of the aws/s3 key. When none
// is available it returns a nil document and the gap that explains why. An
// error means the context ended or a supplied policy does not parse.
func loadKeyPolicy(ctx context.Context, api KMSAPI, k Key, callerAccount string, supplied []byte, role KeyRole) (*policy.Document, string, *mpu.Gap, error) {
	name := role.String() + " key policy"
	if supplied != nil {
		d, err := policy.ParseNamed(name, supplied)
		if err != nil {
			return nil, "", nil, &Error{Op: "parse key policy", Key: k.Input, Err: s3err.MarkAs(err, s3err.InvalidInput)}
		}
		return d, PolicySupplied, nil, nil
	}
	// The policy of an AWS managed key is fixed and documented; use it
	// whether or not GetKeyPolicy is allowed.
	if k.Alias == AWSManagedS3Alias {
		d, err := policy.ParseNamed(name+" (aws/s3, AWS managed)", awsManagedS3KeyPolicy(k.Account, k.Region, k.Partition))
		if err != nil {
			return nil, "", nil, &Error{Op: "parse key policy", Key: k.Input, Err: err}
		}
		return d, PolicyAWSManaged, nil, nil
	}
	flag := "--key-policy FILE"
	if role == SourceKey {
		flag = "--source-key-policy FILE"
	}
	if k.ARN == "" {
		return nil, PolicyUnavailable, &mpu.Gap{
			Error:      fmt.Sprintf("the %s of %s: the alias did not resolve to a key ARN", name, displayKey(k)),
			Permission: ActionDescribeKey,
			Hint:       fmt.Sprintf("grant the caller kms:DescribeKey on %s, name the key by its key ARN, or pass the key policy with %s", displayKey(k), flag),
		}, nil
	}
	if k.Account != callerAccount {
		// GetKeyPolicy does not work across accounts (docKeyPolicyViewing).
		return nil, PolicyUnavailable, &mpu.Gap{
			Error: fmt.Sprintf("the %s of %s: the key belongs to account %s and kms:GetKeyPolicy cannot read a key policy across accounts", name, k.ARN, k.Account),
			Hint:  fmt.Sprintf("ask the key owner (account %s) for the key policy and pass it with %s", k.Account, flag),
		}, nil
	}
	if api == nil {
		return nil, PolicyUnavailable, &mpu.Gap{
			Error: fmt.Sprintf("the %s of %s: no KMS client to read it", name, k.ARN),
			Hint:  fmt.Sprintf("pass a KMS client, or pass the key policy with %s", flag),
		}, nil
	}
	out, err := api.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(k.ARN), PolicyName: aws.String("default")})
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", nil, &Error{Op: "get key policy", Key: k.ARN, Err: s3err.MarkAs(errors.Join(ctx.Err(), err), s3err.Canceled)}
		}
		if s3err.Classify(err) == s3err.Credentials {
			return nil, "", nil, wrapAPI("get key policy", k.ARN, err) // not a gap: no policy fixes it
		}
		gap := &mpu.Gap{
			Error:      fmt.Sprintf("the %s of %s could not be read: %v", name, k.ARN, err),
			Permission: ActionGetKeyPolicy,
			Hint:       fmt.Sprintf("grant the caller kms:GetKeyPolicy on %s, or pass the key policy with %s", k.ARN, flag),
		}
		if s3err.Classify(err) != s3err.PermissionDenied {
			gap.Permission = ""
			gap.Hint = fmt.Sprintf("pass the key policy with %s", flag)
		}
		return nil, PolicyUnavailable, gap, nil
	}
	text := aws.ToString(out.Policy)
	d, err := policy.ParseNamed(name, []byte(text))
	if err != nil {
		return nil, PolicyUnavailable, &mpu.Gap{
			Error: fmt.Sprintf("the %s of %s returned by GetKeyPolicy does not parse: %v", name, k.ARN, err),
			Hint:  fmt.Sprintf("pass the key policy with %s", flag),
		}, nil
	}
	return d, PolicyGetKeyPolicy, nil, nil
}

func displayKey(k Key) string {
	switch {
	case k.ARN != "":
		return k.ARN
	case k.aliasARN() != "":
		return k.aliasARN()
	case k.Input != "":
		return k.Input
	}
	return strings.TrimSpace(k.Alias)
}
