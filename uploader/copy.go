package uploader

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// copyClient is the part of FullAPI Copy uses.
type copyClient interface {
	API
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, optFns ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error)
	GetObjectTagging(ctx context.Context, in *s3.GetObjectTaggingInput, optFns ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error)
}

// clientAs returns client as C, the part of FullAPI an operation uses, or
// an error saying that op needs the calls named by calls.
func clientAs[C API](client API, op, calls string) (C, error) {
	c, ok := client.(C)
	if !ok {
		return c, invalidf("%s needs a client with %s (see FullAPI), as *s3.Client has", op, calls)
	}
	return c, nil
}

// CopyChecker is implemented by a Checker that can also check a copy: the
// destination's steps and the source's read permissions (s3:GetObject on
// the source object and, when it is SSE-KMS encrypted, kms:Decrypt on its
// key). Copy uses it when Options.Preflight implements it; otherwise it
// checks the destination's steps alone with CheckUpload.
type CopyChecker interface {
	// CheckCopy is given the request that will create the destination (as
	// for CheckUpload), the source object and its KMS key ID ("" when it
	// is not SSE-KMS encrypted), and the steps: mpu.Initiate,
	// mpu.UploadPartCopy, mpu.Complete and, unless parts are left on error,
	// mpu.Abort. A single CopyObject is checked as mpu.Initiate and
	// mpu.UploadPartCopy, which need the same permissions.
	CheckCopy(ctx context.Context, dst *s3.CreateMultipartUploadInput, srcBucket, srcKey, srcVersionID, srcKMSKeyID string, steps []mpu.Step) error
}

// CopyInput describes a server-side copy.
type CopyInput struct {
	// SourceBucket, SourceKey and SourceVersionID name the object to copy
	// (bucket and key required; "" version means the current one).
	SourceBucket, SourceKey, SourceVersionID string
	// Bucket and Key name the destination (required). Both buckets are
	// checked before any request by the rules of UploadInput.Bucket.
	Bucket, Key string

	// ReplaceMetadata makes the destination's user metadata and HTTP
	// headers those below; by default (false) they are the source's.
	ReplaceMetadata bool
	// ContentType, ContentEncoding, ContentDisposition, ContentLanguage,
	// CacheControl, Expires and Metadata are used with ReplaceMetadata.
	ContentType, ContentEncoding, ContentDisposition, ContentLanguage, CacheControl string
	Expires                                                                         *time.Time
	Metadata                                                                        map[string]string
	// ReplaceTagging makes the destination's tags Tagging (URL-query
	// encoded, "" for none); by default (false) they are the source's.
	ReplaceTagging bool
	Tagging        string
	// ACL is a canned ACL; StorageClass the destination's storage class.
	ACL          types.ObjectCannedACL
	StorageClass types.StorageClass

	// ServerSideEncryption, SSEKMSKeyID, SSEKMSEncryptionContext and
	// BucketKeyEnabled encrypt the destination, as for Upload.
	ServerSideEncryption    types.ServerSideEncryption
	SSEKMSKeyID             string
	SSEKMSEncryptionContext string
	BucketKeyEnabled        *bool
	// SSECustomerAlgorithm, SSECustomerKey and SSECustomerKeyMD5 encrypt
	// the destination with a customer-provided key.
	SSECustomerAlgorithm, SSECustomerKey, SSECustomerKeyMD5 string
	// SourceSSECustomerAlgorithm, SourceSSECustomerKey and
	// SourceSSECustomerKeyMD5 decrypt a source encrypted with a
	// customer-provided key; they are sent with every request that reads
	// the source. Both SSE-C triples are checked before any request as
	// UploadInput's are (AES256, a base64 256-bit key, a matching or empty
	// MD5). Keys never appear in errors or events.
	SourceSSECustomerAlgorithm, SourceSSECustomerKey, SourceSSECustomerKeyMD5 string

	// ChecksumAlgorithm asks S3 for this checksum of the destination. ""
	// keeps the source's algorithm for a single CopyObject, and asks for
	// none explicitly for a multipart copy (S3 may add its default); in
	// both cases a full-object checksum of the source is compared with the
	// destination's when both have one of the same algorithm.
	ChecksumAlgorithm types.ChecksumAlgorithm

	// ExpectedBucketOwner and ExpectedSourceBucketOwner make S3 fail
	// requests to buckets owned by other accounts.
	ExpectedBucketOwner, ExpectedSourceBucketOwner string
}

// String describes the copy without secrets.
func (in *CopyInput) String() string {
	if in == nil {
		return "<nil>"
	}
	v := ""
	if in.SourceVersionID != "" {
		v = "?versionId=" + in.SourceVersionID
	}
	return fmt.Sprintf("CopyInput{s3://%s/%s%s -> s3://%s/%s}", in.SourceBucket, in.SourceKey, v, in.Bucket, in.Key)
}

// CopyOutput describes the copied object.
type CopyOutput struct {
	// Bucket, Key, ETag and VersionID describe the destination.
	Bucket, Key, ETag, VersionID string
	// UploadID is the multipart upload's ID, "" for a single CopyObject.
	UploadID string
	// Size is the object's size; PartSize and Parts describe a multipart
	// copy (0 for a single CopyObject).
	Size     int64
	PartSize int64
	Parts    int
	// ChecksumAlgorithm, ChecksumType and Checksum are the destination's
	// checksum as S3 reported it ("" when it reported none).
	ChecksumAlgorithm types.ChecksumAlgorithm
	ChecksumType      types.ChecksumType
	Checksum          string
	// SourceETag and SourceVersionID identify the data copied: every
	// request was conditional on that ETag.
	SourceETag, SourceVersionID string
}

func (in *CopyInput) validate() error {
	for _, k := range []struct{ what, bucket, key string }{{"source", in.SourceBucket, in.SourceKey}, {"destination", in.Bucket, in.Key}} {
		if err := checkBucket(k.what, k.bucket); err != nil {
			return err
		}
		switch {
		case k.key == "":
			return invalidf("empty %s key", k.what)
		case len(k.key) > mpu.MaxKeyLength:
			return invalidf("%s key is %d bytes, more than S3's %d", k.what, len(k.key), mpu.MaxKeyLength)
		case !utf8.ValidString(k.key):
			return invalidf("%s key is not valid UTF-8", k.what)
		}
	}
	if _, err := checkSSEC("", in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5); err != nil {
		return err
	}
	if _, err := checkSSEC("source", in.SourceSSECustomerAlgorithm, in.SourceSSECustomerKey, in.SourceSSECustomerKeyMD5); err != nil {
		return err
	}
	if in.SSECustomerKey != "" && in.ServerSideEncryption != "" {
		return invalidf("SSE-C cannot be combined with ServerSideEncryption %q", in.ServerSideEncryption)
	}
	if in.ChecksumAlgorithm != "" {
		if _, err := checksumFor(in.ChecksumAlgorithm, ""); err != nil {
			return err
		}
	}
	return nil
}

// withKeyMD5s returns in, or a copy of it with the SSE-C key MD5s filled
// in where a key is given without one. in must have passed validate.
func (in *CopyInput) withKeyMD5s() *CopyInput {
	dst := in.SSECustomerKey != "" && in.SSECustomerKeyMD5 == ""
	src := in.SourceSSECustomerKey != "" && in.SourceSSECustomerKeyMD5 == ""
	if !dst && !src {
		return in
	}
	c := *in
	if dst {
		c.SSECustomerKeyMD5, _ = checkSSEC("", in.SSECustomerAlgorithm, in.SSECustomerKey, "")
	}
	if src {
		c.SourceSSECustomerKeyMD5, _ = checkSSEC("source", in.SourceSSECustomerAlgorithm, in.SourceSSECustomerKey, "")
	}
	return &c
}

// copySource is the x-amz-copy-source value: bucket, URL-encoded key and
// the version.
func (in *CopyInput) copySource() string {
	segs := strings.Split(in.SourceKey, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	s := in.SourceBucket + "/" + strings.Join(segs, "/")
	if in.SourceVersionID != "" {
		s += "?versionId=" + url.QueryEscape(in.SourceVersionID)
	}
	return s
}

// Copy copies the object in.SourceBucket/in.SourceKey (version
// in.SourceVersionID) to in.Bucket/in.Key on the server side: no data
// passes through the caller.
//
// Copy first reads the source's size, ETag, headers, checksum and
// encryption with HeadObject. An object no larger than Options.CopyThreshold
// (and never one over 5 GiB) is copied with one CopyObject; a larger one
// with a multipart upload whose parts (of Options.PartSize, grown to fit
// 10,000 parts) are copied with UploadPartCopy byte ranges, Options.Concurrency
// at a time, with the retries, the abort on failure and the events of
// Upload (Started, PartDone, Retry, Completed, Failed, Aborted; there are
// no BytesSent events: no bytes are sent). Every request that reads the
// source is conditional on the ETag HeadObject saw, so a source replaced
// during the copy fails the copy with mpu.ErrSourceChanged instead of mixing
// two versions.
//
// The destination keeps the source's metadata, HTTP headers and tags
// unless in.ReplaceMetadata or in.ReplaceTagging says otherwise (a
// multipart copy reads the tags with GetObjectTagging when the source has
// any). The destination's size, and its checksum when it is comparable
// with the source's, are checked after the copy.
//
// The client must implement FullAPI's copy calls (*s3.Client does). Errors are
// *UploadError values, as for Upload; a denied HeadObject of the source
// fails before anything is created.
func (u *Uploader) Copy(ctx context.Context, in *CopyInput, optFns ...func(*Options)) (*CopyOutput, error) {
	if in == nil {
		return nil, validateError("", "", invalidf("nil input"))
	}
	invalid := func(err error) (*CopyOutput, error) { return nil, validateError(in.Bucket, in.Key, err) }
	client, o, err := beginAs[copyClient](ctx, u, "Copy", "CopyObject, UploadPartCopy and GetObjectTagging", optFns)
	if err != nil {
		return invalid(err)
	}
	if err := in.validate(); err != nil {
		return invalid(err)
	}
	in = in.withKeyMD5s()
	dst := &UploadInput{
		Bucket: in.Bucket, Key: in.Key, ExpectedBucketOwner: in.ExpectedBucketOwner,
		ACL: in.ACL, StorageClass: in.StorageClass,
		ServerSideEncryption: in.ServerSideEncryption, SSEKMSKeyID: in.SSEKMSKeyID,
		SSEKMSEncryptionContext: in.SSEKMSEncryptionContext, BucketKeyEnabled: in.BucketKeyEnabled,
		SSECustomerAlgorithm: in.SSECustomerAlgorithm, SSECustomerKey: in.SSECustomerKey, SSECustomerKeyMD5: in.SSECustomerKeyMD5,
	}
	c := &copier{up: newUpload(client, o, dst, nil), client: client, in: in}
	return c.run(ctx)
}

// copier is the state of one call to Copy.
type copier struct {
	up     *upload
	client copyClient
	in     *CopyInput
	head   *s3.HeadObjectOutput
	etag   string
	// srcAlgo, srcType and srcSum are the source's checksum, when known.
	srcAlgo types.ChecksumAlgorithm
	srcType types.ChecksumType
	srcSum  string
}

func (c *copier) run(ctx context.Context) (*CopyOutput, error) {
	up, in := c.up, c.in
	ctx, cancel := up.attach(ctx)
	defer cancel(nil)

	hin := &s3.HeadObjectInput{
		Bucket: aws.String(in.SourceBucket), Key: aws.String(in.SourceKey), VersionId: optString(in.SourceVersionID),
		ChecksumMode: types.ChecksumModeEnabled, ExpectedBucketOwner: optString(in.ExpectedSourceBucketOwner),
		SSECustomerAlgorithm: optString(in.SourceSSECustomerAlgorithm), SSECustomerKey: optString(in.SourceSSECustomerKey),
		SSECustomerKeyMD5: optString(in.SourceSSECustomerKeyMD5),
	}
	head, err := retryCall(ctx, up, mpu.OpHeadObject, func(ctx context.Context) (*s3.HeadObjectOutput, error) {
		return c.client.HeadObject(ctx, hin, up.ctlOpts...)
	})
	c.head = head
	if err != nil {
		if s3err.Classify(err) == s3err.PermissionDenied && up.o.PreflightMode != PreflightOff && ctx.Err() == nil {
			// The source cannot be read: the preflight, which would have run next, says
			// which permission is missing, and under PreflightEnforce its refusal is the
			// answer. The copy's steps are checked as a multipart copy's (the size is unknown).
			cin := up.in.createInput(&checksum{})
			cin.ChecksumAlgorithm, cin.ChecksumType = "", ""
			if in.ReplaceTagging {
				cin.Tagging = optString(in.Tagging)
			}
			if perr := c.preflight(ctx, cin, true); perr != nil {
				return nil, perr
			}
		}
		hint := ""
		if s3err.Classify(err) == s3err.PermissionDenied {
			hint = fmt.Sprintf(" (copying needs s3:GetObject on arn:aws:s3:::%s/%s, and kms:Decrypt on its key when it is SSE-KMS encrypted)", in.SourceBucket, in.SourceKey)
		}
		return nil, up.fail(mpu.OpHeadObject, 0, fmt.Errorf("read the copy source s3://%s/%s%s: %w", in.SourceBucket, in.SourceKey, hint, err))
	}
	c.etag = aws.ToString(c.head.ETag)
	size := aws.ToInt64(c.head.ContentLength)
	up.size = size
	for _, a := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmCrc32c,
		types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmSha1} {
		h := c.head
		if v := (checksumFields{&h.ChecksumCRC32, &h.ChecksumCRC32C, &h.ChecksumCRC64NVME, &h.ChecksumSHA1, &h.ChecksumSHA256}).get(a); v != "" {
			c.srcAlgo, c.srcSum, c.srcType = a, v, h.ChecksumType
			if c.srcType == "" && !strings.Contains(v, "-") {
				c.srcType = types.ChecksumTypeFullObject
			}
			break
		}
	}
	threshold := min(up.o.CopyThreshold, mpu.MaxPutSize)
	multipart := size > threshold
	var res *CopyOutput
	if multipart {
		res, err = c.multipart(ctx, size)
	} else {
		res, err = c.single(ctx, size)
	}
	if err != nil {
		return nil, err
	}
	out := &UploadOutput{
		Bucket: res.Bucket, Key: res.Key, ETag: res.ETag, VersionID: res.VersionID, UploadID: res.UploadID,
		ChecksumAlgorithm: res.ChecksumAlgorithm, ChecksumType: res.ChecksumType, Checksum: res.Checksum,
		Size: res.Size, PartSize: res.PartSize,
	}
	if _, err := up.finish(out); err != nil {
		return nil, err
	}
	return res, nil
}

// preflight runs the permission check for the copy, if any.
func (c *copier) preflight(ctx context.Context, cin *s3.CreateMultipartUploadInput, multipart bool) error {
	up := c.up
	if up.o.PreflightMode == PreflightOff {
		return nil
	}
	chk := *cin
	chk.SSECustomerKey = nil
	if err := gate(ctx, up.o.PreflightMode, up.em, func() error { return c.check(ctx, &chk, multipart) }); err != nil {
		return up.fail(mpu.OpPreflight, 0, err)
	}
	return nil
}

// check runs the checker for the copy: CheckCopy when it is a CopyChecker,
// else CheckUpload for the destination's steps alone.
func (c *copier) check(ctx context.Context, chk *s3.CreateMultipartUploadInput, multipart bool) error {
	up, in := c.up, c.in
	var err error
	if cc, ok := up.o.Preflight.(CopyChecker); ok {
		steps := []mpu.Step{mpu.Initiate, mpu.UploadPartCopy}
		if multipart {
			steps = append(steps, mpu.Complete)
			if !up.o.LeavePartsOnError {
				steps = append(steps, mpu.Abort)
			}
		}
		kmsKey := ""
		if c.head != nil && strings.HasPrefix(string(c.head.ServerSideEncryption), "aws:kms") {
			kmsKey = aws.ToString(c.head.SSEKMSKeyId)
		}
		err = cc.CheckCopy(ctx, chk, in.SourceBucket, in.SourceKey, in.SourceVersionID, kmsKey, steps)
	} else {
		steps := []mpu.Step{mpu.Initiate}
		if multipart {
			steps = append(steps, mpu.Complete)
			if !up.o.LeavePartsOnError {
				steps = append(steps, mpu.Abort)
			}
		}
		err = up.o.Preflight.CheckUpload(ctx, chk, steps)
	}
	return err
}

// sourceErr turns a failed precondition on the source's ETag into
// mpu.ErrSourceChanged.
func (c *copier) sourceErr(err error) error {
	if err != nil && (s3err.Code(err) == "PreconditionFailed" || s3err.StatusCode(err) == 412) {
		return fmt.Errorf("%w: the copy source s3://%s/%s is no longer the object with ETag %s: %w",
			mpu.ErrSourceChanged, c.in.SourceBucket, c.in.SourceKey, c.etag, err)
	}
	return err
}

// createInput is the CreateMultipartUpload request of the destination:
// the source's headers and metadata unless replaced, and tags.
func (c *copier) createInput(tagging string, cs *checksum) *s3.CreateMultipartUploadInput {
	in, h := c.in, c.head
	cin := c.up.in.createInput(&checksum{})
	cin.ChecksumAlgorithm, cin.ChecksumType = "", ""
	if cs != nil {
		cin.ChecksumAlgorithm, cin.ChecksumType = cs.algo, cs.typ
	}
	if in.ReplaceMetadata {
		cin.ContentType, cin.ContentEncoding = optString(in.ContentType), optString(in.ContentEncoding)
		cin.ContentDisposition, cin.ContentLanguage = optString(in.ContentDisposition), optString(in.ContentLanguage)
		cin.CacheControl, cin.Expires, cin.Metadata = optString(in.CacheControl), in.Expires, maps.Clone(in.Metadata)
	} else {
		cin.ContentType, cin.ContentEncoding = h.ContentType, h.ContentEncoding
		cin.ContentDisposition, cin.ContentLanguage = h.ContentDisposition, h.ContentLanguage
		cin.CacheControl, cin.Expires, cin.Metadata = h.CacheControl, h.Expires, maps.Clone(h.Metadata)
	}
	cin.Tagging = optString(tagging)
	return cin
}

// single copies the object with one CopyObject.
func (c *copier) single(ctx context.Context, size int64) (*CopyOutput, error) {
	up, in := c.up, c.in
	tagging := ""
	if in.ReplaceTagging {
		tagging = in.Tagging
	}
	algo := in.ChecksumAlgorithm
	if algo == "" && c.srcType == types.ChecksumTypeFullObject {
		algo = c.srcAlgo
	}
	if err := c.preflight(ctx, c.createInput(tagging, nil), false); err != nil {
		return nil, err
	}
	cin := &s3.CopyObjectInput{
		Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), CopySource: aws.String(in.copySource()),
		CopySourceIfMatch: optString(c.etag), MetadataDirective: types.MetadataDirectiveCopy,
		TaggingDirective: types.TaggingDirectiveCopy, ACL: in.ACL, StorageClass: in.StorageClass,
		ServerSideEncryption: in.ServerSideEncryption, SSEKMSKeyId: optString(in.SSEKMSKeyID),
		SSEKMSEncryptionContext: optString(in.SSEKMSEncryptionContext), BucketKeyEnabled: in.BucketKeyEnabled,
		SSECustomerAlgorithm: optString(in.SSECustomerAlgorithm), SSECustomerKey: optString(in.SSECustomerKey),
		SSECustomerKeyMD5:              optString(in.SSECustomerKeyMD5),
		CopySourceSSECustomerAlgorithm: optString(in.SourceSSECustomerAlgorithm),
		CopySourceSSECustomerKey:       optString(in.SourceSSECustomerKey),
		CopySourceSSECustomerKeyMD5:    optString(in.SourceSSECustomerKeyMD5),
		ChecksumAlgorithm:              algo,
		ExpectedBucketOwner:            optString(in.ExpectedBucketOwner), ExpectedSourceBucketOwner: optString(in.ExpectedSourceBucketOwner),
	}
	if in.ReplaceMetadata {
		cin.MetadataDirective = types.MetadataDirectiveReplace
		cin.ContentType, cin.ContentEncoding = optString(in.ContentType), optString(in.ContentEncoding)
		cin.ContentDisposition, cin.ContentLanguage = optString(in.ContentDisposition), optString(in.ContentLanguage)
		cin.CacheControl, cin.Expires, cin.Metadata = optString(in.CacheControl), in.Expires, maps.Clone(in.Metadata)
	}
	if in.ReplaceTagging {
		cin.TaggingDirective, cin.Tagging = types.TaggingDirectiveReplace, optString(in.Tagging)
	}
	if err := up.em.emit(event.Started{Bucket: in.Bucket, Key: in.Key, Size: size, Parts: 1, Concurrency: 1}); err != nil {
		return nil, up.fail(mpu.OpListener, 0, err)
	}
	out, err := retryCall(ctx, up, mpu.OpCopyObject, func(ctx context.Context) (*s3.CopyObjectOutput, error) {
		return c.client.CopyObject(ctx, cin, up.ctlOpts...)
	})
	if err == nil && out.CopyObjectResult == nil {
		err = errors.New("CopyObject returned no result")
	}
	if err != nil {
		return nil, up.fail(mpu.OpCopyObject, 0, c.sourceErr(err))
	}
	up.completed = true
	r := out.CopyObjectResult
	res := &CopyOutput{
		Bucket: in.Bucket, Key: in.Key, ETag: aws.ToString(r.ETag), VersionID: aws.ToString(out.VersionId),
		Size: size, SourceETag: c.etag, SourceVersionID: aws.ToString(out.CopySourceVersionId),
		ChecksumType: r.ChecksumType,
	}
	if res.SourceVersionID == "" {
		res.SourceVersionID = aws.ToString(c.head.VersionId)
	}
	fields := checksumFields{&r.ChecksumCRC32, &r.ChecksumCRC32C, &r.ChecksumCRC64NVME, &r.ChecksumSHA1, &r.ChecksumSHA256}
	if algo != "" {
		res.ChecksumAlgorithm, res.Checksum = algo, fields.get(algo)
	}
	if err := c.compareChecksum(res.ChecksumAlgorithm, res.ChecksumType, res.Checksum); err != nil {
		return nil, up.fail(mpu.OpCopyObject, 0, err)
	}
	return res, nil
}

// compareChecksum fails with mpu.ErrChecksumMismatch when the destination's
// full-object checksum differs from the source's of the same algorithm.
func (c *copier) compareChecksum(algo types.ChecksumAlgorithm, typ types.ChecksumType, got string) error {
	if got == "" || algo != c.srcAlgo || c.srcType != types.ChecksumTypeFullObject || strings.Contains(got, "-") ||
		typ != "" && typ != types.ChecksumTypeFullObject {
		return nil
	}
	if got != c.srcSum {
		return fmt.Errorf("%w: the copy's %s is %s, the source's %s; the object was stored", mpu.ErrChecksumMismatch, algo, got, c.srcSum)
	}
	return nil
}

// multipart copies the object as a multipart upload of UploadPartCopy ranges.
func (c *copier) multipart(ctx context.Context, size int64) (*CopyOutput, error) {
	up, in := c.up, c.in
	ps, err := partSizeFor(size, up.o.PartSize)
	if err != nil {
		return nil, up.fail(mpu.OpValidate, 0, err)
	}
	up.partSize = ps
	up.parts = planParts(0, size, ps)
	var cs *checksum
	if in.ChecksumAlgorithm != "" {
		if cs, err = checksumFor(in.ChecksumAlgorithm, ""); err != nil {
			return nil, up.fail(mpu.OpValidate, 0, err)
		}
	}
	up.cs = cs
	tagging := in.Tagging
	if !in.ReplaceTagging {
		tagging = ""
		if aws.ToInt32(c.head.TagCount) > 0 {
			if tagging, err = c.sourceTags(ctx); err != nil {
				return nil, up.fail(mpu.OpGetObjectTagging, 0, fmt.Errorf("read the tags of the copy source s3://%s/%s: %w", in.SourceBucket, in.SourceKey, err))
			}
		}
	}
	cin := c.createInput(tagging, cs)
	if err := c.preflight(ctx, cin, true); err != nil {
		return nil, err
	}
	if err := up.create(ctx, cin); err != nil {
		return nil, up.fail(mpu.OpCreateMultipartUpload, 0, err)
	}
	if err := up.em.emit(event.Started{Bucket: in.Bucket, Key: in.Key, UploadID: up.uploadID, Size: size, PartSize: ps, Parts: len(up.parts), Concurrency: up.o.Concurrency}); err != nil {
		return nil, up.fail(mpu.OpListener, 0, err)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(up.o.Concurrency)
	for _, rec := range up.parts {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil
			}
			return c.copyPart(gctx, rec)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, up.failErr(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, up.fail(mpu.OpUploadPartCopy, 0, context.Cause(ctx))
	}

	res := &CopyOutput{
		Bucket: in.Bucket, Key: in.Key, UploadID: up.uploadID, Size: size, PartSize: ps, Parts: len(up.parts),
		SourceETag: c.etag, SourceVersionID: aws.ToString(c.head.VersionId),
	}
	if cs != nil {
		out, err := up.complete(ctx)
		if err != nil {
			return nil, up.fail(mpu.OpCompleteMultipartUpload, 0, err)
		}
		res.ETag, res.VersionID = out.ETag, out.VersionID
		res.ChecksumAlgorithm, res.ChecksumType, res.Checksum = out.ChecksumAlgorithm, out.ChecksumType, out.Checksum
		if err := c.compareChecksum(res.ChecksumAlgorithm, res.ChecksumType, res.Checksum); err != nil {
			return nil, up.fail(mpu.OpCompleteMultipartUpload, 0, err)
		}
		return res, nil
	}
	if err := c.completePlain(ctx, res); err != nil {
		return nil, up.fail(mpu.OpCompleteMultipartUpload, 0, err)
	}
	return res, nil
}

// copyPart copies one byte range, with retries.
func (c *copier) copyPart(ctx context.Context, rec *partRecord) error {
	up, in := c.up, c.in
	pin := &s3.UploadPartCopyInput{
		Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), UploadId: aws.String(up.uploadID),
		PartNumber: aws.Int32(rec.Number), CopySource: aws.String(in.copySource()),
		CopySourceRange:      aws.String(fmt.Sprintf("bytes=%d-%d", rec.Offset, rec.Offset+rec.Size-1)),
		CopySourceIfMatch:    optString(c.etag),
		SSECustomerAlgorithm: optString(in.SSECustomerAlgorithm), SSECustomerKey: optString(in.SSECustomerKey),
		SSECustomerKeyMD5:              optString(in.SSECustomerKeyMD5),
		CopySourceSSECustomerAlgorithm: optString(in.SourceSSECustomerAlgorithm),
		CopySourceSSECustomerKey:       optString(in.SourceSSECustomerKey),
		CopySourceSSECustomerKeyMD5:    optString(in.SourceSSECustomerKeyMD5),
		ExpectedBucketOwner:            optString(in.ExpectedBucketOwner), ExpectedSourceBucketOwner: optString(in.ExpectedSourceBucketOwner),
	}
	n, err := up.retry(ctx, mpu.OpUploadPartCopy, rec.Number, up.o.MaxAttempts, func(ctx context.Context, _ int) error {
		out, err := c.client.UploadPartCopy(ctx, pin, up.ctlOpts...)
		if err != nil {
			return c.sourceErr(err)
		}
		r := out.CopyPartResult
		if r == nil || aws.ToString(r.ETag) == "" {
			return errors.New("UploadPartCopy returned no ETag")
		}
		rec.ETag = aws.ToString(r.ETag)
		if up.cs != nil {
			v := checksumFields{&r.ChecksumCRC32, &r.ChecksumCRC32C, &r.ChecksumCRC64NVME, &r.ChecksumSHA1, &r.ChecksumSHA256}.get(up.cs.algo)
			raw, derr := base64.StdEncoding.DecodeString(v)
			if v == "" || derr != nil || len(raw) != up.cs.new().Size() {
				return fmt.Errorf("UploadPartCopy returned no valid %s checksum for part %d", up.cs.algo, rec.Number)
			}
			rec.Checksum, rec.sum = v, partSum{raw: raw}
		}
		return nil
	})
	rec.Attempts = n
	if err != nil {
		return &partError{op: mpu.OpUploadPartCopy, n: rec.Number, err: err}
	}
	if err := up.em.emit(event.PartDone{PartNumber: rec.Number, Size: rec.Size, ETag: rec.ETag, Checksum: rec.Checksum, Attempts: n}); err != nil {
		return &partError{op: mpu.OpListener, err: err}
	}
	return nil
}

// sourceTags returns the source's tags, URL-query encoded.
func (c *copier) sourceTags(ctx context.Context) (string, error) {
	up, in := c.up, c.in
	out, err := retryCall(ctx, up, mpu.OpGetObjectTagging, func(ctx context.Context) (*s3.GetObjectTaggingOutput, error) {
		return c.client.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{
			Bucket: aws.String(in.SourceBucket), Key: aws.String(in.SourceKey), VersionId: optString(in.SourceVersionID),
			ExpectedBucketOwner: optString(in.ExpectedSourceBucketOwner),
		}, up.ctlOpts...)
	})
	if err != nil {
		return "", err
	}
	q := url.Values{}
	for _, t := range out.TagSet {
		q.Add(aws.ToString(t.Key), aws.ToString(t.Value))
	}
	return q.Encode(), nil
}

// completePlain completes a multipart copy made without checksums, then
// checks the object's size and, when comparable, its checksum.
func (c *copier) completePlain(ctx context.Context, res *CopyOutput) error {
	up, in := c.up, c.in
	cparts := make([]types.CompletedPart, len(up.parts))
	for i, p := range up.parts {
		cparts[i] = types.CompletedPart{ETag: aws.String(p.ETag), PartNumber: aws.Int32(p.Number)}
	}
	cin := &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), UploadId: aws.String(up.uploadID),
		MultipartUpload:      &types.CompletedMultipartUpload{Parts: cparts},
		ExpectedBucketOwner:  optString(in.ExpectedBucketOwner),
		SSECustomerAlgorithm: optString(in.SSECustomerAlgorithm), SSECustomerKey: optString(in.SSECustomerKey),
		SSECustomerKeyMD5: optString(in.SSECustomerKeyMD5),
	}
	var out *s3.CompleteMultipartUploadOutput
	_, err := up.retry(ctx, mpu.OpCompleteMultipartUpload, 0, up.o.MaxAttempts, func(ctx context.Context, attempt int) error {
		o, err := up.client.CompleteMultipartUpload(ctx, cin, up.ctlOpts...)
		if err != nil && attempt > 1 && s3err.Code(err) == "NoSuchUpload" {
			// An earlier attempt may have completed it: the check below tells.
			out = &s3.CompleteMultipartUploadOutput{}
			return nil
		}
		out = o
		return err
	})
	if err != nil {
		return err
	}
	up.completed = true
	head, err := up.client.HeadObject(ctx, up.in.headInput(), up.ctlOpts...)
	if err != nil {
		return fmt.Errorf("check the copy with HeadObject: %w", err)
	}
	if got := aws.ToInt64(head.ContentLength); got != res.Size {
		return fmt.Errorf("%w: the copy has %d bytes, the source %d", mpu.ErrChecksumMismatch, got, res.Size)
	}
	res.ETag, res.VersionID = aws.ToString(out.ETag), aws.ToString(out.VersionId)
	if res.ETag == "" {
		res.ETag, res.VersionID = aws.ToString(head.ETag), aws.ToString(head.VersionId)
	}
	hf := checksumFields{&head.ChecksumCRC32, &head.ChecksumCRC32C, &head.ChecksumCRC64NVME, &head.ChecksumSHA1, &head.ChecksumSHA256}
	for _, a := range []types.ChecksumAlgorithm{c.srcAlgo, types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmCrc32c,
		types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmSha1} {
		if v := hf.get(a); a != "" && v != "" {
			res.ChecksumAlgorithm, res.ChecksumType, res.Checksum = a, head.ChecksumType, v
			break
		}
	}
	return c.compareChecksum(res.ChecksumAlgorithm, res.ChecksumType, res.Checksum)
}
