package kmsperm

import (
	"fmt"

	"github.com/s3mpu/s3mpu/mpu"
)

// KMS actions S3 performs on the caller's behalf during an SSE-KMS multipart
// upload, and the other actions of the S3 multipart permission table.
const (
	actionEncrypt                         = "kms:Encrypt"
	actionDecrypt                         = "kms:Decrypt"
	actionReEncryptFrom                   = "kms:ReEncryptFrom"
	actionReEncryptTo                     = "kms:ReEncryptTo"
	actionGenerateDataKey                 = "kms:GenerateDataKey"
	actionGenerateDataKeyWithoutPlaintext = "kms:GenerateDataKeyWithoutPlaintext"
	actionGenerateDataKeyPair             = "kms:GenerateDataKeyPair"
	actionGenerateDataKeyPairNoPlaintext  = "kms:GenerateDataKeyPairWithoutPlaintext"
)

// The permissions a Gap names (Gap.Permission) when kmsperm could not
// read a key or its policy.
const (
	ActionDescribeKey  = "kms:DescribeKey"
	ActionGetKeyPolicy = "kms:GetKeyPolicy"
)

// Documentation pages the requirements and rules are taken from.
const (
	docMultipartPermissions = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions"
	docCreateMultipart      = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html"
	docUploadPart           = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html"
	docUploadPartCopy       = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html"
	docCompleteMultipart    = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html"
	docListParts            = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html"
	docUsingKMSEncryption   = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"
	docBucketKey            = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html"
	docKeyPolicies          = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html"
	docDefaultKeyPolicy     = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"
	docCrossAccount         = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html"
	docKeyPolicyViewing     = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-viewing.html"
	docKeyPolicyModifying   = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying.html"
	docConditionKeys        = "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html"
	docGrants               = "https://docs.aws.amazon.com/kms/latest/developerguide/grants.html"
	docIAMPolicies          = "https://docs.aws.amazon.com/kms/latest/developerguide/iam-policies.html"
)

// SeedActions are the actions the S3 multipart permission table requires on
// the KMS key for an SSE-KMS upload as a whole (see docMultipartPermissions).
// They are written as the table writes them, wildcards included; S3 itself
// calls only a subset of them (see Requirements).
var SeedActions = []string{
	actionEncrypt,
	actionDecrypt,
	"kms:ReEncrypt*",
	"kms:GenerateDataKey*",
	ActionDescribeKey,
}

// seedExpansion lists, for each seed action, the concrete actions a policy
// must allow for the seed action to count as granted. A wildcard in the seed
// stands for every action it matches.
var seedExpansion = map[string][]string{
	actionEncrypt:          {actionEncrypt},
	actionDecrypt:          {actionDecrypt},
	"kms:ReEncrypt*":       {actionReEncryptFrom, actionReEncryptTo},
	"kms:GenerateDataKey*": {actionGenerateDataKey, actionGenerateDataKeyWithoutPlaintext, actionGenerateDataKeyPair, actionGenerateDataKeyPairNoPlaintext},
	ActionDescribeKey:      {ActionDescribeKey},
}

// KeyRole says which KMS key a requirement is on.
type KeyRole int

const (
	// TargetKey is the key that encrypts the object being uploaded.
	TargetKey KeyRole = iota
	// SourceKey is the key that encrypts the source object of UploadPartCopy.
	SourceKey
)

// String returns "target" or "source".
func (r KeyRole) String() string {
	if r == SourceKey {
		return "source"
	}
	return "target"
}

// MarshalText implements encoding.TextMarshaler ("target" or "source").
func (r KeyRole) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *KeyRole) UnmarshalText(b []byte) error {
	switch string(b) {
	case "target":
		*r = TargetKey
	case "source":
		*r = SourceKey
	default:
		return fmt.Errorf("kmsperm: unknown key role %q", b)
	}
	return nil
}

// Requirement is one KMS action S3 performs with the caller's identity while
// serving one multipart step.
type Requirement struct {
	Step   mpu.Step // the multipart step
	Action string   // the KMS action, e.g. "kms:Decrypt"
	Key    KeyRole  // which key the action is on
	Why    string   // why S3 makes the call
	Doc    string   // the page that documents it
}

// RequirementOptions describe the upload in the ways that change which KMS
// calls S3 makes. The zero value is a plain SSE-KMS upload without
// additional checksums and without a KMS-encrypted copy source.
type RequirementOptions struct {
	// Checksums is true when the upload sends additional checksums
	// (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256).
	Checksums bool
	// SourceKMS is true when the UploadPartCopy source object is encrypted
	// with SSE-KMS.
	SourceKMS bool
	// TargetNotKMS is true when the target object is not SSE-KMS
	// encrypted: only the requirements on the source key remain.
	TargetNotKMS bool
}

// Requirements returns the KMS actions S3 performs on the caller's behalf
// for step of an SSE-KMS multipart upload. Abort and ListUploads need none;
// an unknown step returns nil. With o.TargetNotKMS only the requirements
// on the copy source's key are returned (none unless o.SourceKMS, and only
// for UploadPartCopy).
//
// The sources are the S3 API reference pages of each operation:
// CreateMultipartUpload needs kms:GenerateDataKey (S3 makes the upload's data
// key); UploadPart and UploadPartCopy need kms:Decrypt (S3 decrypts that data
// key for every part; aws-sdk-js#1814 is the classic report) and the pages
// also list kms:GenerateDataKey; UploadPartCopy needs kms:Decrypt on the
// source object's key when the source is SSE-KMS encrypted;
// CompleteMultipartUpload needs kms:Decrypt because S3 decrypts and reads the
// parts before completing (the S3 multipart permission table); with
// additional checksums the API reference again names kms:Decrypt, and
// kmsperm also requires kms:GenerateDataKey, a conservative reading that has
// not been confirmed against the live service; ListParts needs
// kms:Decrypt for an SSE-KMS upload (the current ListParts page; older
// revisions said so only for uploads created with a checksum algorithm).
func Requirements(step mpu.Step, o RequirementOptions) []Requirement {
	all := requirements(step, o)
	if !o.TargetNotKMS {
		return all
	}
	var out []Requirement
	for _, r := range all {
		if r.Key == SourceKey {
			out = append(out, r)
		}
	}
	return out
}

func requirements(step mpu.Step, o RequirementOptions) []Requirement {
	r := func(a string, k KeyRole, why, doc string) Requirement {
		return Requirement{Step: step, Action: a, Key: k, Why: why, Doc: doc}
	}
	switch step {
	case mpu.Initiate:
		return []Requirement{
			r(actionGenerateDataKey, TargetKey, "S3 generates the upload's data key when the upload is created", docCreateMultipart),
		}
	case mpu.UploadPart:
		return []Requirement{
			r(actionDecrypt, TargetKey, "S3 decrypts the upload's data key to encrypt each part", docUploadPart),
			r(actionGenerateDataKey, TargetKey, "S3 requires kms:GenerateDataKey with kms:Decrypt for SSE-KMS part uploads", docUploadPart),
		}
	case mpu.UploadPartCopy:
		out := []Requirement{
			r(actionDecrypt, TargetKey, "S3 decrypts the upload's data key to encrypt each copied part", docUploadPartCopy),
			r(actionGenerateDataKey, TargetKey, "S3 requires kms:GenerateDataKey with kms:Decrypt for SSE-KMS part uploads", docUploadPartCopy),
		}
		if o.SourceKMS {
			out = append(out, r(actionDecrypt, SourceKey, "S3 decrypts the SSE-KMS source object to read the copied range", docUploadPartCopy))
		}
		return out
	case mpu.Complete:
		out := []Requirement{
			r(actionDecrypt, TargetKey, "S3 decrypts and reads the encrypted parts before it completes the upload", docMultipartPermissions),
		}
		if o.Checksums {
			out = append(out, r(actionGenerateDataKey, TargetKey, "with additional checksums S3 protects the object's checksum with the key when it completes the upload", docCompleteMultipart))
		}
		return out
	case mpu.ListParts:
		return []Requirement{
			r(actionDecrypt, TargetKey, "S3 needs kms:Decrypt to list the parts of an SSE-KMS upload", docListParts),
		}
	}
	return nil
}
