package kmsperm

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/s3mpu/s3mpu/internal/s3err"
)

// AWSManagedS3Alias is the alias of the AWS managed key S3 uses when SSE-KMS
// is requested without a key ID (see docUsingKMSEncryption).
const AWSManagedS3Alias = "alias/aws/s3"

// Key is a KMS key as kmsperm understands it: what the caller wrote, and the
// key ARN and owning account it resolves to.
//
// A Key is resolved offline from its form first (a key ARN names its account
// and Region; a bare key ID or alias name belongs to the requester's account,
// as S3 resolves it there), then, when a KMS client is available, by
// kms:DescribeKey, which alone turns an alias into a key ARN and reports
// whether the key is enabled and AWS managed.
type Key struct {
	// Input is the key as given: key ID, key ARN, alias name or alias ARN;
	// "" when SSE-KMS was asked for without a key.
	Input string `json:"input"`
	// ARN is the key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID), or ""
	// when an alias could not be resolved.
	ARN string `json:"arn,omitempty"`
	// ID is the key ID, or "" when not known.
	ID string `json:"id,omitempty"`
	// Alias is the alias name ("alias/...") when Input named an alias or
	// was empty (AWSManagedS3Alias).
	Alias string `json:"alias,omitempty"`
	// Account owns the key.
	Account string `json:"account"`
	// Region holds the key.
	Region string `json:"region"`
	// Partition is the ARN partition ("aws", "aws-cn", ...).
	Partition string `json:"partition"`
	// Default is true when Input was empty and S3 uses its AWS managed key.
	Default bool `json:"default,omitempty"`
	// AWSManaged is true for an AWS managed key (KeyManager AWS, or the
	// aws/s3 alias). Such a key cannot be used from another account.
	AWSManaged bool `json:"aws_managed,omitempty"`
	// Described is true when kms:DescribeKey answered for the key; the
	// fields below are meaningful only then.
	Described bool `json:"described"`
	// Enabled and State are the key's state as DescribeKey reports it.
	Enabled bool   `json:"enabled,omitempty"`
	State   string `json:"state,omitempty"`
	// Spec, Usage and Origin are the key's KeySpec, KeyUsage and Origin.
	Spec   string `json:"spec,omitempty"`
	Usage  string `json:"usage,omitempty"`
	Origin string `json:"origin,omitempty"`
	// MultiRegion is true for a multi-Region key.
	MultiRegion bool `json:"multi_region,omitempty"`
}

// aliasARN returns the alias ARN of a key named by an alias, or "".
func (k Key) aliasARN() string {
	if k.Alias == "" || k.Account == "" || k.Region == "" {
		return ""
	}
	return "arn:" + k.Partition + ":kms:" + k.Region + ":" + k.Account + ":" + k.Alias
}

// ref is the most precise identifier of the key for KMS calls: the key ARN,
// else the alias ARN.
func (k Key) ref() string {
	if k.ARN != "" {
		return k.ARN
	}
	return k.aliasARN()
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	keyIDRE   = regexp.MustCompile(`^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	aliasRE   = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)
)

// ParseKey resolves input offline. region is the bucket's Region;
// requesterAccount is the account of the caller, in which S3 resolves a bare
// key ID or alias name; defaultAccount is the account whose AWS managed key
// S3 uses when input is empty (the bucket owner's account; "" means the
// requester's). partition is the ARN partition ("" means "aws").
//
// ParseKey returns an error in the mpu.ErrInvalidInput category for a malformed
// key ID or alias, a non-KMS ARN, or a key ARN in a Region other than region
// (S3 requires the key in the bucket's Region, see docUsingKMSEncryption).
func ParseKey(input, region, requesterAccount, defaultAccount, partition string) (Key, error) {
	const op = "parse key"
	if partition == "" {
		partition = "aws"
	}
	if !regionRE.MatchString(region) {
		return Key{}, invalid(op, input, "invalid Region %q", region)
	}
	if !accountRE.MatchString(requesterAccount) {
		return Key{}, invalid(op, input, "invalid requester account %q", requesterAccount)
	}
	if defaultAccount == "" {
		defaultAccount = requesterAccount
	}
	if !accountRE.MatchString(defaultAccount) {
		return Key{}, invalid(op, input, "invalid bucket owner account %q", defaultAccount)
	}
	k := Key{Input: input, Partition: partition, Region: region}
	switch {
	case input == "":
		k.Default, k.AWSManaged = true, true
		k.Alias, k.Account = AWSManagedS3Alias, defaultAccount
	case strings.HasPrefix(input, "arn:"):
		parts := strings.SplitN(input, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" || parts[1] == "" {
			return Key{}, invalid(op, input, "not a KMS key or alias ARN")
		}
		k.Partition, k.Region, k.Account = parts[1], parts[3], parts[4]
		if !accountRE.MatchString(k.Account) || !regionRE.MatchString(k.Region) {
			return Key{}, invalid(op, input, "malformed KMS ARN")
		}
		switch res := parts[5]; {
		case strings.HasPrefix(res, "key/") && keyIDRE.MatchString(strings.TrimPrefix(res, "key/")):
			k.ID, k.ARN = strings.TrimPrefix(res, "key/"), input
		case aliasRE.MatchString(res):
			k.Alias = res
		default:
			return Key{}, invalid(op, input, "KMS ARN names neither a key nor an alias")
		}
		if k.Region != region {
			return Key{}, invalid(op, input, "key is in Region %s but the bucket is in %s; S3 needs a key in the bucket's Region", k.Region, region)
		}
	case keyIDRE.MatchString(input):
		k.ID, k.Account = input, requesterAccount
		k.ARN = "arn:" + partition + ":kms:" + region + ":" + requesterAccount + ":key/" + input
	case aliasRE.MatchString(input):
		k.Alias, k.Account = input, requesterAccount
	default:
		return Key{}, invalid(op, input, "not a key ID, key ARN, alias name or alias ARN")
	}
	if k.Alias == AWSManagedS3Alias {
		k.AWSManaged = true
	}
	return k, nil
}

// describe completes k with kms:DescribeKey. A NotFoundException for the
// default aws/s3 key is not an error: S3 creates that key the first time it
// is used. Other failures return an *Error whose category says why
// (mpu.ErrPermissionDenied, mpu.ErrNotFound, ...).
func describe(ctx context.Context, api KMSAPI, k Key) (Key, error) {
	id := k.ref()
	out, err := api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if err != nil {
		if k.Default && s3err.Classify(err) == s3err.NotFound {
			return k, nil
		}
		if ctx.Err() != nil {
			return k, &Error{Op: "describe key", Key: id, Err: s3err.MarkAs(errors.Join(ctx.Err(), err), s3err.Canceled)}
		}
		return k, wrapAPI("describe key", id, err)
	}
	md := out.KeyMetadata
	if md == nil || aws.ToString(md.Arn) == "" {
		return k, &Error{Op: "describe key", Key: id, Err: errors.New("DescribeKey returned no key metadata")}
	}
	k.Described = true
	k.ARN = aws.ToString(md.Arn)
	k.ID = aws.ToString(md.KeyId)
	if a := aws.ToString(md.AWSAccountId); a != "" {
		k.Account = a
	}
	if parts := strings.SplitN(k.ARN, ":", 6); len(parts) == 6 {
		k.Partition, k.Region = parts[1], parts[3]
	}
	k.Enabled = md.Enabled
	k.State = string(md.KeyState)
	k.Spec = string(md.KeySpec)
	k.Usage = string(md.KeyUsage)
	k.Origin = string(md.Origin)
	k.MultiRegion = aws.ToBool(md.MultiRegion)
	if md.KeyManager == types.KeyManagerTypeAws {
		k.AWSManaged = true
	}
	return k, nil
}
