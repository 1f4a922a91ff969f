package s3mem

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Operation names of the server-side copy calls.
const (
	OpCopyObject       = "CopyObject"
	OpUploadPartCopy   = "UploadPartCopy"
	OpGetObjectTagging = "GetObjectTagging"
)

// copySource returns the object named by a CopySource value
// ("bucket/url-encoded-key[?versionId=ID]"), or PreconditionFailed when
// ifMatch (CopySourceIfMatch) is set and is not its ETag. c.mu must be held.
func (c *Client) copySource(op string, src, ifMatch *string) (*Object, error) {
	path, query, _ := strings.Cut(strings.TrimPrefix(aws.ToString(src), "/"), "?")
	bucket, rawKey, ok := strings.Cut(path, "/")
	key, err := url.PathUnescape(rawKey)
	if !ok || err != nil || bucket == "" || key == "" {
		return nil, invalid(op, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	o, err := c.object(op, &bucket, &key)
	if err != nil {
		return nil, err
	}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, invalid(op, "InvalidArgument", "invalid copy source query")
		}
		if v := q.Get("versionId"); v != "" && v != o.VersionID {
			return nil, APIError(op, 404, "NoSuchVersion", "The specified version does not exist.")
		}
	}
	if m := aws.ToString(ifMatch); m != "" && !sameETag(m, o.ETag) {
		return nil, preconditionFailed(op)
	}
	return o, nil
}

func preconditionFailed(op string) error {
	return APIError(op, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
}

func sameETag(a, b string) bool { return strings.Trim(a, `"`) == strings.Trim(b, `"`) }

// CopyObject copies an object within the Client, honouring CopySourceIfMatch,
// the metadata and tagging directives and a new checksum algorithm.
func (c *Client) CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	const op = OpCopyObject
	return serveLocked(c, ctx, op, in, optFns, func(_ *Call) (*s3.CopyObjectOutput, error) {
		src, err := c.copySource(op, in.CopySource, in.CopySourceIfMatch)
		if err != nil {
			return nil, err
		}
		b := aws.ToString(in.Bucket)
		if !c.buckets[b] {
			return nil, noSuchBucket(op)
		}
		o := &Object{
			Bucket: b, Key: aws.ToString(in.Key), Data: slices.Clone(src.Data), ETag: etagOf(src.Data),
			VersionID: c.newID("v"), ContentType: src.ContentType, Metadata: maps.Clone(src.Metadata),
			ChecksumAlgo: src.ChecksumAlgo, ChecksumType: src.ChecksumType, Checksum: src.Checksum,
			ServerSideEnc: in.ServerSideEncryption, SSEKMSKeyID: aws.ToString(in.SSEKMSKeyId),
			SSECustomerAlgo: aws.ToString(in.SSECustomerAlgorithm), StorageClass: in.StorageClass, ACL: in.ACL,
			Tagging: src.Tagging, LastModified: c.now(), Input: in,
		}
		if in.MetadataDirective == types.MetadataDirectiveReplace {
			o.ContentType, o.Metadata = aws.ToString(in.ContentType), maps.Clone(in.Metadata)
		}
		if in.TaggingDirective == types.TaggingDirectiveReplace {
			o.Tagging = aws.ToString(in.Tagging)
		}
		if a := in.ChecksumAlgorithm; a != "" {
			if newHash(a) == nil {
				return nil, invalid(op, "InvalidRequest", "unsupported checksum algorithm")
			}
			o.ChecksumAlgo, o.ChecksumType, o.Checksum = a, types.ChecksumTypeFullObject, Checksum(a, o.Data)
		} else if o.ChecksumType == types.ChecksumTypeComposite {
			// A copy is stored whole: a composite checksum does not survive.
			o.ChecksumAlgo, o.ChecksumType, o.Checksum = "", "", ""
		}
		c.objects[o.Bucket+"/"+o.Key] = o
		cs := set(o.ChecksumAlgo, o.Checksum)
		return &s3.CopyObjectOutput{
			VersionId: aws.String(o.VersionID), CopySourceVersionId: aws.String(src.VersionID),
			ServerSideEncryption: o.ServerSideEnc, SSEKMSKeyId: in.SSEKMSKeyId,
			CopyObjectResult: &types.CopyObjectResult{
				ETag: aws.String(o.ETag), LastModified: aws.Time(o.LastModified), ChecksumType: o.ChecksumType,
				ChecksumCRC32: cs.CRC32, ChecksumCRC32C: cs.CRC32C, ChecksumCRC64NVME: cs.CRC64NVME,
				ChecksumSHA1: cs.SHA1, ChecksumSHA256: cs.SHA256,
			},
		}, nil
	})
}

// UploadPartCopy stores a byte range of an object as a part.
func (c *Client) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, optFns ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error) {
	const op = OpUploadPartCopy
	return serveUpload(c, ctx, op, in, optFns, in.Bucket, in.Key, in.UploadId, func(u *Upload, call *Call) (*s3.UploadPartCopyOutput, error) {
		src, err := c.copySource(op, in.CopySource, in.CopySourceIfMatch)
		if err != nil {
			return nil, err
		}
		n := aws.ToInt32(in.PartNumber)
		if n < 1 || n > 10000 {
			return nil, invalid(op, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
		}
		data := src.Data
		if r := aws.ToString(in.CopySourceRange); r != "" {
			spec, ok := strings.CutPrefix(r, "bytes=")
			a, b, dash := strings.Cut(spec, "-")
			first, e1 := strconv.ParseInt(a, 10, 64)
			last, e2 := strconv.ParseInt(b, 10, 64)
			if !ok || !dash || e1 != nil || e2 != nil || first < 0 || last < first || last >= int64(len(data)) {
				return nil, invalid(op, "InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
			}
			data = data[first : last+1]
		}
		if int64(len(data)) > 5<<30 {
			return nil, invalid(op, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
		}
		p := &Part{Number: n, Data: slices.Clone(data), ETag: etagOf(data), Modified: c.now()}
		if u.ChecksumAlgo != "" {
			p.Checksum = Checksum(u.ChecksumAlgo, data)
		}
		u.Parts[n] = p
		call.BodySize = 0
		cs := set(u.ChecksumAlgo, p.Checksum)
		return &s3.UploadPartCopyOutput{
			CopySourceVersionId: aws.String(src.VersionID),
			CopyPartResult: &types.CopyPartResult{
				ETag: aws.String(p.ETag), LastModified: aws.Time(p.Modified),
				ChecksumCRC32: cs.CRC32, ChecksumCRC32C: cs.CRC32C, ChecksumCRC64NVME: cs.CRC64NVME,
				ChecksumSHA1: cs.SHA1, ChecksumSHA256: cs.SHA256,
			},
		}, nil
	})
}

// GetObjectTagging returns an object's tag set.
func (c *Client) GetObjectTagging(ctx context.Context, in *s3.GetObjectTaggingInput, optFns ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error) {
	const op = OpGetObjectTagging
	return serveObject(c, ctx, op, in, optFns, in.Bucket, in.Key, func(o *Object) (*s3.GetObjectTaggingOutput, error) {
		q, err := url.ParseQuery(o.Tagging)
		if err != nil {
			return nil, fmt.Errorf("stored tagging %q: %w", o.Tagging, err)
		}
		res := &s3.GetObjectTaggingOutput{VersionId: aws.String(o.VersionID), TagSet: []types.Tag{}}
		for _, k := range slices.Sorted(maps.Keys(q)) {
			for _, v := range q[k] {
				res.TagSet = append(res.TagSet, types.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
		}
		return res, nil
	})
}
