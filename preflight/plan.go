package preflight

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/mpu"
)

// SizeUnknown is the Plan.Size of a stream whose length is not known.
const SizeUnknown int64 = -1

// Transport says whether requests travel over TLS; it sets aws:SecureTransport.
type Transport int

// The transports. TransportUnknown leaves aws:SecureTransport unknown, so a
// statement that depends on it yields Unknown rather than a guess.
const (
	TransportUnknown Transport = iota
	TransportHTTPS
	TransportHTTP
)

// SSE is the server-side encryption an upload asks for, as sent on
// CreateMultipartUpload.
type SSE struct {
	// Algorithm is the x-amz-server-side-encryption value: "AES256",
	// "aws:kms" or "aws:kms:dsse"; "" sends no header.
	Algorithm string
	// KMSKeyID is the x-amz-server-side-encryption-aws-kms-key-id value
	// (key ID, key ARN, alias name or alias ARN); "" with an aws:kms
	// algorithm means the AWS managed key aws/s3.
	KMSKeyID string
	// KMSContext is the user part of the KMS encryption context.
	KMSContext map[string]string
	// BucketKey is true when an S3 Bucket Key is used: S3 then asks KMS
	// with the bucket ARN as encryption context, not the object ARN.
	BucketKey bool
	// CustomerAlgorithm is the SSE-C algorithm ("AES256") when the upload
	// uses a customer-provided key. The key itself never enters a plan.
	CustomerAlgorithm string
}

// KMS reports whether the plan uses SSE-KMS.
func (s SSE) KMS() bool { return strings.HasPrefix(s.Algorithm, "aws:kms") }

// CopySource is the object UploadPartCopy reads from.
type CopySource struct {
	Bucket, Key, VersionID string
	// KMSKeyID is the source object's KMS key, when it is SSE-KMS encrypted
	// (HeadObject's SSEKMSKeyId, normally a key ARN); "" when it is not,
	// and then the copy needs no KMS permission on the source.
	KMSKeyID string
	// Account is the account ID owning the source bucket; "" means the
	// caller's account. A bare key ID or alias in KMSKeyID resolves in
	// this account.
	Account string
	// Region is the source bucket's Region; "" means Plan.Region.
	Region string
	// BucketKey is true when the source object is stored with an S3
	// Bucket Key (HeadObject's BucketKeyEnabled): S3 then decrypts it
	// with the source bucket's ARN as encryption context, not the
	// object's ARN.
	BucketKey bool
	// KMSContext is the user part of the source object's encryption
	// context (HeadObject's x-amz-server-side-encryption-context,
	// decoded); S3 adds aws:s3:arn itself.
	KMSContext map[string]string
}

// Plan describes an upload about to happen. Only Bucket and Key are
// required; every other zero field means "not sent" or "not known", as
// documented per field.
type Plan struct {
	// Bucket and Key name the object to upload.
	Bucket, Key string
	// Size is the object's size in bytes, or SizeUnknown for a stream.
	// It is reported, not evaluated.
	Size int64
	// SSE is the encryption the upload asks for.
	SSE SSE
	// ACL is the canned ACL sent as x-amz-acl ("" sends none).
	ACL string
	// StorageClass is sent as x-amz-storage-class ("" sends none).
	StorageClass string
	// Headers holds other request headers CreateMultipartUpload sends
	// that S3 exposes as condition keys (for example "x-amz-grant-read"
	// or "x-amz-object-lock-mode"); names are case-insensitive.
	Headers map[string]string
	// CopySource, when set, is the source of UploadPartCopy.
	CopySource *CopySource
	// ExpectedBucketOwner, when set, is the account ID the upload sends as
	// x-amz-expected-bucket-owner: S3 answers 403 when the bucket belongs
	// to another account. The probe sends it with every request to the
	// bucket.
	ExpectedBucketOwner string

	// Caller is the ARN of the principal making the requests. When empty,
	// the Checker asks sts:GetCallerIdentity; an assumed-role session is
	// evaluated as its session (and, for IAM reads, as its role).
	Caller string
	// CallerCanonicalID is the caller's S3 canonical user ID, when known;
	// it lets bucket ACL grants to that ID match. (On servers such as
	// versitygw a user's canonical ID is its access key ID.)
	CallerCanonicalID string
	// CanonicalIDs maps S3 canonical user IDs to the account ID or
	// principal ARN they stand for, so ACL grants can be read as
	// grants to accounts or principals.
	CanonicalIDs map[string]string
	// BucketOwner is the account ID owning the bucket, when known. When
	// empty the bucket is assumed to be in the caller's account and the
	// report says so.
	BucketOwner string
	// Steps lists the steps to check; nil means every step in
	// mpu.AllSteps (UploadPartCopy only when CopySource is set).
	Steps []mpu.Step

	// Transport sets aws:SecureTransport.
	Transport Transport
	// SourceIP is the client's address as the server sees it (aws:SourceIp);
	// empty means unknown.
	SourceIP string
	// VPCEndpoint is the VPC endpoint ID the requests go through
	// (aws:SourceVpce); empty means they do not go through one.
	VPCEndpoint string
	// Context adds or overrides condition keys for every request. A key
	// with a nil value is declared absent.
	Context map[string][]string
	// Partition is the ARN partition; "" means "aws".
	Partition string
	// Region is the bucket's region, used for KMS rows.
	Region string
	// ChecksumAlgorithm is the additional checksum the upload sends
	// (x-amz-checksum-algorithm on CreateMultipartUpload): "CRC32",
	// "CRC32C", "CRC64NVME", "SHA1" or "SHA256", in any case. With SSE-KMS
	// it changes the KMS permissions Complete needs. "" means the plan
	// does not say and is read as checksums on: the uploader always sends
	// one (CRC32C by default) and S3 may add its own default checksum to
	// uploads that send none, so the stricter KMS requirement is checked.
	// checksumNone says the upload sends no additional checksum.
	ChecksumAlgorithm string
}

// checksumNone is the Plan.ChecksumAlgorithm of an upload that sends no
// additional checksum.
const checksumNone = "NONE"

// checksumAlgorithms are the values Plan.ChecksumAlgorithm accepts, upper
// case.
var checksumAlgorithms = []string{"", checksumNone, "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"}

// Checksums reports whether the upload sends additional checksums: true
// unless ChecksumAlgorithm is checksumNone (see Plan.ChecksumAlgorithm for
// why "" counts as true).
func (p *Plan) Checksums() bool {
	return !strings.EqualFold(p.ChecksumAlgorithm, checksumNone)
}

// steps returns the steps to check.
func (p *Plan) steps() []mpu.Step {
	if len(p.Steps) > 0 {
		return p.Steps
	}
	var out []mpu.Step
	for _, s := range mpu.AllSteps {
		if s == mpu.UploadPartCopy && p.CopySource == nil {
			continue
		}
		out = append(out, s)
	}
	return out
}

// sourceKMS reports whether the plan copies from an SSE-KMS encrypted
// source: UploadPartCopy is checked and CopySource.KMSKeyID is set.
func (p *Plan) sourceKMS() bool {
	return p.CopySource != nil && p.CopySource.KMSKeyID != "" && slices.Contains(p.steps(), mpu.UploadPartCopy)
}

func (p *Plan) partition() string {
	if p.Partition == "" {
		return "aws"
	}
	return p.Partition
}

func objectARN(part, bucket, key string) string { return "arn:" + part + ":s3:::" + bucket + "/" + key }
func bucketARN(part, bucket string) string      { return "arn:" + part + ":s3:::" + bucket }

// Validate reports whether the plan can be evaluated; errors satisfy
// errors.Is(err, mpu.ErrInvalidInput).
func (p *Plan) Validate() error {
	if p == nil {
		return invalidf("nil plan")
	}
	if p.Bucket == "" || strings.ContainsAny(p.Bucket, "/*?") {
		return invalidf("invalid bucket name %q", p.Bucket)
	}
	if p.Key == "" || len(p.Key) > mpu.MaxKeyLength {
		return invalidf("key must be 1 to %d bytes, got %d", mpu.MaxKeyLength, len(p.Key))
	}
	if p.Size < SizeUnknown {
		return invalidf("negative size %d", p.Size)
	}
	for _, s := range p.Steps {
		if !slices.Contains(mpu.AllSteps, s) {
			return invalidf("unknown step %v", s)
		}
		if s == mpu.UploadPartCopy && p.CopySource == nil {
			return invalidf("step UploadPartCopy needs a copy source")
		}
	}
	if c := p.CopySource; c != nil && (c.Bucket == "" || c.Key == "") {
		return invalidf("copy source needs a bucket and a key")
	}
	if c := p.CopySource; c != nil && c.Account != "" && !policy.IsAccountID(c.Account) {
		return invalidf("copy source account %q is not a 12-digit account ID", c.Account)
	}
	if !slices.Contains(checksumAlgorithms, strings.ToUpper(p.ChecksumAlgorithm)) {
		return invalidf("unknown checksum algorithm %q", p.ChecksumAlgorithm)
	}
	if p.Caller != "" {
		if _, err := policy.PrincipalFromARN(p.Caller); err != nil {
			return invalidf("caller %q: %v", p.Caller, err)
		}
	}
	if p.BucketOwner != "" && !policy.IsAccountID(p.BucketOwner) {
		return invalidf("bucket owner %q is not a 12-digit account ID", p.BucketOwner)
	}
	if p.SourceIP != "" {
		if _, err := netip.ParseAddr(p.SourceIP); err != nil {
			return invalidf("source IP %q: %v", p.SourceIP, err)
		}
	}
	if p.SSE.Algorithm != "" && p.SSE.Algorithm != "AES256" && !p.SSE.KMS() {
		return invalidf("unknown SSE algorithm %q", p.SSE.Algorithm)
	}
	return nil
}
