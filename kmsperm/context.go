package kmsperm

import (
	"sort"
	"strings"
)

// Condition keys S3 supplies, or KMS derives, when S3 calls KMS for an
// SSE-KMS object (see docConditionKeys).
const (
	keyViaService            = "kms:ViaService"
	keyCallerAccount         = "kms:CallerAccount"
	keyEncryptionContextKeys = "kms:EncryptionContextKeys"
	// keyEncryptionContextPrefix prefixes one key per encryption context
	// pair: kms:EncryptionContext:aws:s3:arn and so on.
	keyEncryptionContextPrefix = "kms:EncryptionContext:"
	// S3ContextKey is the encryption context key S3 always sets: the object
	// ARN, or the bucket ARN when an S3 Bucket Key is enabled (docBucketKey).
	S3ContextKey = "aws:s3:arn"
)

// Object names one S3 object and how S3 encrypts it with KMS.
type Object struct {
	// Bucket and Key name the object.
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// BucketKeyEnabled is true when S3 uses an S3 Bucket Key for the
	// object: the encryption context is then the bucket ARN.
	BucketKeyEnabled bool `json:"bucket_key_enabled,omitempty"`
	// EncryptionContext is the additional context the caller supplies
	// (x-amz-server-side-encryption-context); S3 adds aws:s3:arn itself.
	EncryptionContext map[string]string `json:"encryption_context,omitempty"`
}

// arn returns the object's ARN in partition ("" means "aws").
func (o Object) arn(partition string) string {
	return "arn:" + orAWS(partition) + ":s3:::" + o.Bucket + "/" + o.Key
}

// bucketARN returns the bucket's ARN in partition ("" means "aws").
func (o Object) bucketARN(partition string) string {
	return "arn:" + orAWS(partition) + ":s3:::" + o.Bucket
}

// S3EncryptionContext returns the encryption context S3 passes to KMS for
// the object: the caller's pairs plus aws:s3:arn, which is the object ARN, or
// the bucket ARN when an S3 Bucket Key is enabled. A policy condition on
// kms:EncryptionContext:aws:s3:arn that names object ARNs therefore stops
// matching when Bucket Keys are turned on (docBucketKey).
func (o Object) S3EncryptionContext(partition string) map[string]string {
	ec := make(map[string]string, len(o.EncryptionContext)+1)
	for k, v := range o.EncryptionContext {
		ec[k] = v
	}
	if o.BucketKeyEnabled {
		ec[S3ContextKey] = o.bucketARN(partition)
	} else {
		ec[S3ContextKey] = o.arn(partition)
	}
	return ec
}

// requestContext returns the condition keys of a KMS request that S3 makes
// for the object on behalf of a caller in callerAccount, in region:
// kms:ViaService (s3.REGION.amazonaws.com), kms:CallerAccount,
// kms:EncryptionContext:KEY for every pair, kms:EncryptionContextKeys,
// kms:EncryptionAlgorithm, aws:ViaAWSService and aws:RequestedRegion, plus
// the key's own properties (kms:KeySpec, kms:KeyUsage, kms:KeyOrigin,
// kms:MultiRegion) when k was described. The caller's identity keys (aws:PrincipalArn, ...) are left to
// the policy engine, which derives them from the principal.
func requestContext(o Object, k Key, region, callerAccount string) map[string][]string {
	ec := o.S3EncryptionContext(k.Partition)
	ctx := map[string][]string{
		keyViaService:         {viaService(region, k.Partition)},
		keyCallerAccount:      {callerAccount},
		"aws:ViaAWSService":   {"true"},
		"aws:RequestedRegion": {region},
		// S3 uses the default symmetric algorithm (docConditionKeys: the
		// key applies even when the request omits the parameter).
		"kms:EncryptionAlgorithm": {"SYMMETRIC_DEFAULT"},
	}
	keys := make([]string, 0, len(ec))
	for name, v := range ec {
		ctx[keyEncryptionContextPrefix+name] = []string{v}
		keys = append(keys, name)
	}
	sort.Strings(keys)
	ctx[keyEncryptionContextKeys] = keys
	if k.Described {
		if k.Spec != "" {
			ctx["kms:KeySpec"] = []string{k.Spec}
		}
		if k.Usage != "" {
			ctx["kms:KeyUsage"] = []string{k.Usage}
		}
		if k.Origin != "" {
			ctx["kms:KeyOrigin"] = []string{k.Origin}
		}
		ctx["kms:MultiRegion"] = []string{boolString(k.MultiRegion)}
	}
	return ctx
}

// viaService returns the kms:ViaService value S3 sends in region:
// "s3.REGION.amazonaws.com" ("...amazonaws.com.cn" in the China partition).
func viaService(region, partition string) string {
	suffix := ".amazonaws.com"
	if strings.HasPrefix(partition, "aws-cn") {
		suffix = ".amazonaws.com.cn"
	}
	return "s3." + region + suffix
}

func orAWS(partition string) string {
	if partition == "" {
		return "aws"
	}
	return partition
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
