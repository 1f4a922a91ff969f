package uploader

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/mpu"
)

// SizeUnknown, as UploadInput.Size, declares that the body's size is not
// known: it is streamed until io.EOF.
const SizeUnknown int64 = -1

// UploadInput describes the object to upload.
type UploadInput struct {
	// Bucket and Key name the object (required; a key is at most 1024
	// bytes of valid UTF-8).
	//
	// Bucket is a bucket name or an S3 access point or Outposts ARN. It is
	// checked before any request, and only for what can never name a
	// bucket: a name is rejected (mpu.ErrInvalidInput) when it is empty, longer
	// than 255 bytes (the limit of the oldest us-east-1 buckets), not valid
	// UTF-8, or holds a '/', white space or a control character; an ARN
	// ("arn:partition:service:region:account:resource") when it lacks a
	// partition, service or resource, or holds white space or a control
	// character. Today's naming rules for new buckets (3 to 63 lowercase
	// letters, digits, '.' and '-', ...) are not enforced, because buckets
	// made under the older rules (uppercase letters, '_') still exist and
	// S3-compatible servers differ; the server answers for those.
	Bucket, Key string
	// Body is the data (required). An io.ReaderAt whose size is known (a
	// regular *os.File, *bytes.Reader, *strings.Reader, *io.SectionReader)
	// is read in place from its current offset, part by part, without
	// copying; any other reader is streamed through part buffers. A body
	// with a Stat method (an *os.File) is checked before any request: a
	// directory, or a file that is neither regular nor a pipe, socket or
	// device, fails with mpu.ErrInvalidInput.
	Body io.Reader
	// Size is the number of bytes Body yields. 0 means "find out": from
	// the body when it is an io.ReaderAt and io.Seeker (the bytes from its
	// current offset to its end), otherwise unknown. SizeUnknown (-1)
	// streams until EOF. A positive size must match what the body yields:
	// a mismatch fails with mpu.ErrInvalidInput, before any request when it
	// can be seen then, otherwise before Complete, and the upload is aborted.
	Size int64

	// ContentType, ContentEncoding, ContentDisposition, ContentLanguage,
	// CacheControl and Expires set the object's HTTP headers.
	ContentType, ContentEncoding, ContentDisposition, ContentLanguage, CacheControl string
	Expires                                                                         *time.Time
	// Metadata is the object's user metadata (x-amz-meta-*).
	Metadata map[string]string
	// Tagging is the object's tag set, URL-query encoded ("k1=v1&k2=v2").
	Tagging string
	// ACL is a canned ACL; StorageClass the storage class.
	ACL          types.ObjectCannedACL
	StorageClass types.StorageClass

	// ServerSideEncryption is "AES256", "aws:kms" or "aws:kms:dsse";
	// SSEKMSKeyID, SSEKMSEncryptionContext and BucketKeyEnabled go with KMS.
	ServerSideEncryption    types.ServerSideEncryption
	SSEKMSKeyID             string
	SSEKMSEncryptionContext string
	BucketKeyEnabled        *bool
	// SSECustomerAlgorithm, SSECustomerKey and SSECustomerKeyMD5 select
	// SSE-C; they are sent with every part. They are checked before any
	// request, and fail with mpu.ErrInvalidInput unless the algorithm is
	// "AES256", the key is the standard base64 encoding of a 256-bit
	// (32-byte) key, and the MD5, when given, is the base64 MD5 digest of
	// those 32 bytes; an empty MD5 is computed. The key never appears in
	// errors, events or state files.
	SSECustomerAlgorithm, SSECustomerKey, SSECustomerKeyMD5 string

	// ChecksumAlgorithm and ChecksumType override Options'.
	ChecksumAlgorithm types.ChecksumAlgorithm
	ChecksumType      types.ChecksumType

	// ExpectedBucketOwner, when set, makes S3 fail requests to a bucket
	// owned by another account.
	ExpectedBucketOwner string
	// IfNoneMatch "*" makes the upload fail rather than overwrite an
	// existing object.
	IfNoneMatch string
}

// String describes the input without its body or secrets (the SSE-C key
// is never printed).
func (in UploadInput) String() string {
	return fmt.Sprintf("UploadInput{s3://%s/%s size=%d}", in.Bucket, in.Key, in.Size)
}

// GoString is String, so %#v does not print the SSE-C key either.
func (in UploadInput) GoString() string { return in.String() }

// UploadOutput describes the stored object.
type UploadOutput struct {
	Bucket, Key string
	// Location is the object's URL as reported by CompleteMultipartUpload
	// ("" for a single PutObject).
	Location string
	// ETag and VersionID are as S3 reported them.
	ETag, VersionID string
	// UploadID is the multipart upload's ID, "" for a single PutObject.
	UploadID string
	// ChecksumAlgorithm, ChecksumType and Checksum describe the object's
	// checksum; Checksum is base64 (composite values end in "-N") and was
	// checked against the one computed locally.
	ChecksumAlgorithm types.ChecksumAlgorithm
	ChecksumType      types.ChecksumType
	Checksum          string
	// Size is the number of bytes stored.
	Size int64
	// PartSize is the size of the first parts (0 for a single PutObject).
	PartSize int64
	// Parts lists the parts in order (empty for a single PutObject).
	Parts []Part
}

// Part is one stored part.
type Part struct {
	PartNumber int32
	Size       int64
	ETag       string
	Checksum   string // base64
}

// validate checks the input before any request.
func (in *UploadInput) validate() error {
	if err := checkBucket("", in.Bucket); err != nil {
		return err
	}
	switch {
	case in.Key == "":
		return invalidf("empty key")
	case len(in.Key) > mpu.MaxKeyLength:
		return invalidf("key is %d bytes, more than S3's %d", len(in.Key), mpu.MaxKeyLength)
	case !utf8.ValidString(in.Key):
		return invalidf("key is not valid UTF-8")
	case in.Body == nil:
		return invalidf("nil body")
	case in.Size < SizeUnknown:
		return invalidf("size %d is negative (use SizeUnknown for a body of unknown size)", in.Size)
	case in.Size > mpu.MaxObjectSize:
		return invalidf("size %d is larger than S3's largest object (%d bytes)", in.Size, mpu.MaxObjectSize)
	}
	if err := checkBodyKind(in.Body); err != nil {
		return err
	}
	if _, err := checkSSEC("", in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5); err != nil {
		return err
	}
	if in.SSECustomerKey != "" && in.ServerSideEncryption != "" {
		return invalidf("SSE-C cannot be combined with ServerSideEncryption %q", in.ServerSideEncryption)
	}
	return nil
}

// SSE-C's one algorithm and its key size.
const (
	sseCAlgorithm = "AES256"
	sseCKeyBytes  = 32
)

// checkSSEC checks an SSE-C algorithm, key and key MD5 (all empty: no
// SSE-C) and returns the key MD5 to send: the one given, or the one
// computed from the key when none is (the SDK does not compute it). source
// names the fields of a copy source. Messages never hold the key, nor the
// values of the other two fields, in case they hold the key by mistake.
func checkSSEC(source string, algo, key, keyMD5 string) (string, error) {
	if algo == "" && key == "" && keyMD5 == "" {
		return "", nil
	}
	f, what := "SSECustomer", "SSE-C"
	if source != "" {
		f, what = "SourceSSECustomer", "SSE-C of the copy source"
	}
	switch {
	case key == "":
		return "", invalidf("%s needs %sKey with %sAlgorithm and %sKeyMD5", what, f, f, f)
	case algo == "":
		return "", invalidf("%s needs both %sAlgorithm (%q) and %sKey", what, f, sseCAlgorithm, f)
	case algo != sseCAlgorithm:
		return "", invalidf("%s: %sAlgorithm is not %q, the only SSE-C algorithm S3 supports", what, f, sseCAlgorithm)
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || base64.StdEncoding.EncodeToString(raw) != key {
		return "", invalidf("%s: %sKey is not standard base64; it takes the base64 encoding of the 256-bit customer key", what, f)
	}
	if len(raw) != sseCKeyBytes {
		return "", invalidf("%s: %sKey holds a %d-byte customer key; %s takes a 256-bit (%d-byte) key, base64-encoded",
			what, f, len(raw), sseCAlgorithm, sseCKeyBytes)
	}
	sum := md5.Sum(raw)
	if keyMD5 == "" {
		return base64.StdEncoding.EncodeToString(sum[:]), nil
	}
	if given, err := base64.StdEncoding.DecodeString(keyMD5); err != nil || !bytes.Equal(given, sum[:]) {
		return "", invalidf("%s: %sKeyMD5 is not the base64 MD5 digest of the customer key in %sKey", what, f, f)
	}
	return keyMD5, nil
}

// withKeyMD5 returns in, or a copy of it with the SSE-C key MD5 filled in
// when a key is given without it. in must have passed validate.
func (in *UploadInput) withKeyMD5() *UploadInput {
	if in.SSECustomerKey == "" || in.SSECustomerKeyMD5 != "" {
		return in
	}
	c := *in
	c.SSECustomerKeyMD5, _ = checkSSEC("", in.SSECustomerAlgorithm, in.SSECustomerKey, "")
	return &c
}

// maxBucketLength is the longest bucket name S3 ever allowed: buckets
// made in us-east-1 before March 2018 could have up to 255 characters
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
const maxBucketLength = 255

// checkBucket rejects a bucket value that can never name a bucket (see
// UploadInput.Bucket); what ("", "source", "destination") qualifies the
// message. It is deliberately lenient: legacy names with uppercase letters
// or '_', S3-compatible servers' names and access point ARNs pass.
func checkBucket(what, bucket string) error {
	name := "bucket name"
	if what != "" {
		name = what + " bucket name"
	}
	if bucket == "" {
		return invalidf("empty %s", name)
	}
	if !utf8.ValidString(bucket) {
		return invalidf("%s is not valid UTF-8", name)
	}
	for _, r := range bucket {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return invalidf("%s %q holds white space or a control character", name, bucket)
		}
	}
	if strings.HasPrefix(bucket, "arn:") {
		// arn:partition:service:region:account:resource; the resource of an
		// access point or Outposts ARN holds '/' and ':'.
		f := strings.SplitN(bucket, ":", 6)
		if len(f) < 6 || f[1] == "" || f[2] == "" || f[5] == "" {
			return invalidf("%s %q starts with \"arn:\" but is not an ARN (arn:partition:service:region:account:resource)", name, bucket)
		}
		return nil
	}
	if len(bucket) > maxBucketLength {
		return invalidf("%s is %d bytes, more than the %d any S3 bucket name can have", name, len(bucket), maxBucketLength)
	}
	if strings.Contains(bucket, "/") {
		return invalidf("%s %q holds a '/': a bucket name never does (give the key's path in Key, or an access point ARN)", name, bucket)
	}
	return nil
}

// checkBodyKind rejects a body that reports (with Stat, as *os.File does)
// a directory or another kind of file that cannot be read as bytes. Pipes,
// terminals and other character devices, sockets and block devices are
// read as streams. A body whose Stat fails is left to the reads.
func checkBodyKind(body io.Reader) error {
	st, ok := body.(statter)
	if !ok {
		return nil
	}
	fi, err := st.Stat()
	if err != nil {
		return nil
	}
	name := fi.Name()
	if n, ok := body.(namer); ok && n.Name() != "" {
		name = n.Name()
	}
	m := fi.Mode()
	switch {
	case m.IsDir():
		return invalidf("the body %s is a directory, not a file", name)
	case m.IsRegular(), m&(fs.ModeNamedPipe|fs.ModeCharDevice|fs.ModeSocket|fs.ModeDevice) != 0:
		return nil
	}
	return invalidf("the body %s is not a regular file, a pipe or a device (mode %v)", name, m)
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// createInput is the CreateMultipartUpload request for the input.
func (in *UploadInput) createInput(cs *checksum) *s3.CreateMultipartUploadInput {
	return &s3.CreateMultipartUploadInput{
		Bucket: aws.String(in.Bucket), Key: aws.String(in.Key),
		ContentType: optString(in.ContentType), ContentEncoding: optString(in.ContentEncoding),
		ContentDisposition: optString(in.ContentDisposition), ContentLanguage: optString(in.ContentLanguage),
		CacheControl: optString(in.CacheControl), Expires: in.Expires, Metadata: maps.Clone(in.Metadata),
		Tagging: optString(in.Tagging), ACL: in.ACL, StorageClass: in.StorageClass,
		ServerSideEncryption: in.ServerSideEncryption, SSEKMSKeyId: optString(in.SSEKMSKeyID),
		SSEKMSEncryptionContext: optString(in.SSEKMSEncryptionContext), BucketKeyEnabled: in.BucketKeyEnabled,
		SSECustomerAlgorithm: optString(in.SSECustomerAlgorithm), SSECustomerKey: optString(in.SSECustomerKey),
		SSECustomerKeyMD5:   optString(in.SSECustomerKeyMD5),
		ExpectedBucketOwner: optString(in.ExpectedBucketOwner),
		ChecksumAlgorithm:   cs.algo, ChecksumType: cs.typ,
	}
}

// putInput is the PutObject request for the input (body set by the caller):
// the headers of createInput, so that an object sent in one request is
// stored as a multipart upload would store it. The checksum value is set
// when sum is known, else only the algorithm.
func (in *UploadInput) putInput(cs *checksum, size int64, sum partSum) *s3.PutObjectInput {
	c := in.createInput(cs)
	p := &s3.PutObjectInput{
		Bucket: c.Bucket, Key: c.Key, ContentLength: aws.Int64(size), IfNoneMatch: optString(in.IfNoneMatch),
		ContentType: c.ContentType, ContentEncoding: c.ContentEncoding, ContentDisposition: c.ContentDisposition,
		ContentLanguage: c.ContentLanguage, CacheControl: c.CacheControl, Expires: c.Expires, Metadata: c.Metadata,
		Tagging: c.Tagging, ACL: c.ACL, StorageClass: c.StorageClass,
		ServerSideEncryption: c.ServerSideEncryption, SSEKMSKeyId: c.SSEKMSKeyId,
		SSEKMSEncryptionContext: c.SSEKMSEncryptionContext, BucketKeyEnabled: c.BucketKeyEnabled,
		SSECustomerAlgorithm: c.SSECustomerAlgorithm, SSECustomerKey: c.SSECustomerKey,
		SSECustomerKeyMD5: c.SSECustomerKeyMD5, ExpectedBucketOwner: c.ExpectedBucketOwner,
		ChecksumAlgorithm: cs.algo,
	}
	if sum.raw != nil {
		checksumFields{&p.ChecksumCRC32, &p.ChecksumCRC32C, &p.ChecksumCRC64NVME, &p.ChecksumSHA1, &p.ChecksumSHA256}.set(cs.algo, sum.String())
	}
	return p
}

// headInput is the HeadObject request that checks the stored object, with
// its checksum.
func (in *UploadInput) headInput() *s3.HeadObjectInput {
	return &s3.HeadObjectInput{
		Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), ChecksumMode: types.ChecksumModeEnabled,
		ExpectedBucketOwner:  optString(in.ExpectedBucketOwner),
		SSECustomerAlgorithm: optString(in.SSECustomerAlgorithm), SSECustomerKey: optString(in.SSECustomerKey),
		SSECustomerKeyMD5: optString(in.SSECustomerKeyMD5),
	}
}

// listPartsInput is the ListParts request for the upload id.
func (in *UploadInput) listPartsInput(uploadID string) *s3.ListPartsInput {
	return &s3.ListPartsInput{
		Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), UploadId: aws.String(uploadID),
		ExpectedBucketOwner:  optString(in.ExpectedBucketOwner),
		SSECustomerAlgorithm: optString(in.SSECustomerAlgorithm), SSECustomerKey: optString(in.SSECustomerKey),
		SSECustomerKeyMD5: optString(in.SSECustomerKeyMD5),
	}
}

// partInput is the UploadPart request for one part (body set by the caller);
// the checksum value is set when sum is known, else only the algorithm.
func (in *UploadInput) partInput(cs *checksum, uploadID string, n int32, size int64, sum partSum) *s3.UploadPartInput {
	p := &s3.UploadPartInput{
		Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), UploadId: aws.String(uploadID),
		PartNumber: aws.Int32(n), ContentLength: aws.Int64(size), ChecksumAlgorithm: cs.algo,
		SSECustomerAlgorithm: optString(in.SSECustomerAlgorithm), SSECustomerKey: optString(in.SSECustomerKey),
		SSECustomerKeyMD5:   optString(in.SSECustomerKeyMD5),
		ExpectedBucketOwner: optString(in.ExpectedBucketOwner),
	}
	if sum.raw != nil {
		checksumFields{&p.ChecksumCRC32, &p.ChecksumCRC32C, &p.ChecksumCRC64NVME, &p.ChecksumSHA1, &p.ChecksumSHA256}.set(cs.algo, sum.String())
	}
	return p
}
