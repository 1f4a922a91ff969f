package s3mem

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func canceled(op string, err error) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: op, Err: &smithy.CanceledError{Err: err}}
}

// readBody reads a request body as the HTTP transport would, checking the
// declared length.
func readBody(ctx context.Context, op string, body io.Reader, length *int64, call *Call) (_ []byte, err error) {
	if err := ctx.Err(); err != nil {
		return nil, canceled(op, err)
	}
	if body == nil {
		body = bytes.NewReader(nil)
	}
	// The body is read in a goroutine the call stops waiting for when ctx
	// ends, as an HTTP transport does, so a body whose Read blocks cannot
	// hold the call past its context.
	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		data, err := io.ReadAll(body)
		ch <- result{data, err}
	}()
	var data []byte
	select {
	case r := <-ch:
		data, err = r.data, r.err
	case <-ctx.Done():
		return nil, canceled(op, ctx.Err())
	}
	call.BodySize = int64(len(data))
	if err != nil {
		return nil, &smithy.OperationError{ServiceID: "S3", OperationName: op, Err: fmt.Errorf("read request body: %w", err)}
	}
	if err := ctx.Err(); err != nil {
		return nil, canceled(op, err)
	}
	if length != nil && *length != int64(len(data)) {
		return nil, invalid(op, "IncompleteBody", fmt.Sprintf("declared %d bytes, body has %d", *length, len(data)))
	}
	return data, nil
}

// readChecked reads a request's body (see readBody) and checks it against the checksum the
// request names or carries (see checkChecksum).
func readChecked(ctx context.Context, op string, call *Call, body io.Reader, length *int64, algo types.ChecksumAlgorithm, cs checksums) (data []byte, _ types.ChecksumAlgorithm, sum string, err error) {
	if data, err = readBody(ctx, op, body, length, call); err != nil {
		return nil, "", "", err
	}
	algo, sum, err = checkChecksum(op, algo, cs, data)
	return data, algo, sum, err
}

// checkChecksum verifies the checksum sent with data, or computes the one
// asked for by algo alone, and returns the algorithm and value.
func checkChecksum(op string, algo types.ChecksumAlgorithm, cs checksums, data []byte) (types.ChecksumAlgorithm, string, error) {
	prov := cs.provided()
	if len(prov) > 1 {
		return "", "", invalid(op, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	}
	for a, v := range prov {
		if algo != "" && algo != a {
			return "", "", invalid(op, "InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
		if newHash(a) == nil {
			return "", "", invalid(op, "InvalidRequest", "unsupported checksum algorithm")
		}
		if got := Checksum(a, data); got != v {
			return "", "", invalid(op, "BadDigest", fmt.Sprintf("The %s you specified did not match the calculated checksum.", a))
		}
		return a, v, nil
	}
	if algo != "" {
		if newHash(algo) == nil {
			return "", "", invalid(op, "InvalidRequest", "unsupported checksum algorithm")
		}
		return algo, Checksum(algo, data), nil
	}
	return "", "", nil
}

// PutObject stores an object.
func (c *Client) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return serve(c, ctx, OpPutObject, in, optFns, func(ctx context.Context, call *Call) (*s3.PutObjectOutput, error) {
		data, algo, sum, err := readChecked(ctx, OpPutObject, call, in.Body, in.ContentLength, in.ChecksumAlgorithm,
			checksums{in.ChecksumCRC32, in.ChecksumCRC32C, in.ChecksumCRC64NVME, in.ChecksumSHA1, in.ChecksumSHA256})
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		b, k := aws.ToString(in.Bucket), aws.ToString(in.Key)
		if !c.buckets[b] {
			return nil, noSuchBucket(OpPutObject)
		}
		if err := c.ifNoneMatch(OpPutObject, b, k, in.IfNoneMatch); err != nil {
			return nil, err
		}
		o := &Object{
			Bucket: b, Key: k, Data: data, ETag: etagOf(data), VersionID: c.newID("v"),
			ContentType: aws.ToString(in.ContentType), Metadata: maps.Clone(in.Metadata),
			ChecksumAlgo: algo, Checksum: sum, ServerSideEnc: in.ServerSideEncryption,
			SSEKMSKeyID: aws.ToString(in.SSEKMSKeyId), SSECustomerAlgo: aws.ToString(in.SSECustomerAlgorithm),
			StorageClass: in.StorageClass, ACL: in.ACL, Tagging: aws.ToString(in.Tagging),
			LastModified: c.now(), Input: in,
		}
		if algo != "" {
			o.ChecksumType = types.ChecksumTypeFullObject
		}
		c.objects[b+"/"+k] = o
		cs := set(algo, sum)
		return &s3.PutObjectOutput{
			ETag: aws.String(o.ETag), VersionId: aws.String(o.VersionID), Size: aws.Int64(int64(len(data))),
			ChecksumCRC32: cs.CRC32, ChecksumCRC32C: cs.CRC32C, ChecksumCRC64NVME: cs.CRC64NVME,
			ChecksumSHA1: cs.SHA1, ChecksumSHA256: cs.SHA256, ChecksumType: o.ChecksumType,
			ServerSideEncryption: in.ServerSideEncryption, SSEKMSKeyId: in.SSEKMSKeyId,
		}, nil
	})
}

// CreateMultipartUpload starts a multipart upload.
func (c *Client) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	const op = OpCreateMultipartUpload
	return serve(c, ctx, op, in, optFns, func(ctx context.Context, _ *Call) (*s3.CreateMultipartUploadOutput, error) {
		if err := ctx.Err(); err != nil {
			return nil, canceled(op, err)
		}
		algo, typ := in.ChecksumAlgorithm, in.ChecksumType
		switch {
		case algo == "" && typ != "":
			return nil, invalid(op, "InvalidRequest", "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		case algo != "" && newHash(algo) == nil:
			return nil, invalid(op, "InvalidRequest", "unsupported checksum algorithm")
		case algo != "" && typ == "":
			typ = types.ChecksumTypeComposite
			if algo == types.ChecksumAlgorithmCrc64nvme {
				typ = types.ChecksumTypeFullObject
			}
		case typ == types.ChecksumTypeFullObject && (algo == types.ChecksumAlgorithmSha1 || algo == types.ChecksumAlgorithmSha256),
			typ == types.ChecksumTypeComposite && algo == types.ChecksumAlgorithmCrc64nvme:
			return nil, invalid(op, "InvalidRequest", fmt.Sprintf("The %s checksum type cannot be used with the %s checksum algorithm.", typ, algo))
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		b := aws.ToString(in.Bucket)
		if !c.buckets[b] {
			return nil, noSuchBucket(op)
		}
		u := &Upload{
			Bucket: b, Key: aws.ToString(in.Key), UploadID: c.newID("upload"), Initiated: c.now(),
			Initiator: c.Initiator, ChecksumAlgo: algo, ChecksumType: typ, Parts: map[int32]*Part{}, Input: in,
		}
		c.uploads[u.UploadID] = u
		return &s3.CreateMultipartUploadOutput{
			Bucket: in.Bucket, Key: in.Key, UploadId: aws.String(u.UploadID),
			ChecksumAlgorithm: algo, ChecksumType: typ,
			ServerSideEncryption: in.ServerSideEncryption, SSEKMSKeyId: in.SSEKMSKeyId,
		}, nil
	})
}

// upload returns the upload named by id for bucket and key, or NoSuchUpload.
// c.mu must be held.
func (c *Client) upload(op string, bucket, key, id *string) (*Upload, error) {
	if !c.buckets[aws.ToString(bucket)] {
		return nil, noSuchBucket(op)
	}
	u := c.uploads[aws.ToString(id)]
	if u == nil || u.Bucket != aws.ToString(bucket) || u.Key != aws.ToString(key) {
		return nil, NoSuchUpload(op)
	}
	return u, nil
}

// UploadPart stores a part.
func (c *Client) UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	const op = OpUploadPart
	return serve(c, ctx, op, in, optFns, func(ctx context.Context, call *Call) (*s3.UploadPartOutput, error) {
		n := aws.ToInt32(in.PartNumber)
		if n < 1 || n > 10000 {
			return nil, invalid(op, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
		}
		data, algo, sum, err := readChecked(ctx, op, call, in.Body, in.ContentLength, in.ChecksumAlgorithm,
			checksums{in.ChecksumCRC32, in.ChecksumCRC32C, in.ChecksumCRC64NVME, in.ChecksumSHA1, in.ChecksumSHA256})
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > 5<<30 {
			return nil, invalid(op, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		u, err := c.upload(op, in.Bucket, in.Key, in.UploadId)
		if err != nil {
			return nil, err
		}
		if u.ChecksumAlgo != "" {
			switch algo {
			case u.ChecksumAlgo:
			case "":
				algo, sum = u.ChecksumAlgo, Checksum(u.ChecksumAlgo, data)
			default:
				return nil, invalid(op, "InvalidRequest",
					fmt.Sprintf("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s", u.ChecksumAlgo, algo))
			}
		}
		p := &Part{Number: n, Data: data, ETag: etagOf(data), Modified: c.now()}
		if algo == u.ChecksumAlgo {
			p.Checksum = sum
		}
		u.Parts[n] = p
		cs := set(algo, sum)
		return &s3.UploadPartOutput{
			ETag: aws.String(p.ETag), ChecksumCRC32: cs.CRC32, ChecksumCRC32C: cs.CRC32C,
			ChecksumCRC64NVME: cs.CRC64NVME, ChecksumSHA1: cs.SHA1, ChecksumSHA256: cs.SHA256,
		}, nil
	})
}

// CompleteMultipartUpload assembles the parts into an object.
func (c *Client) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	const op = OpCompleteMultipartUpload
	return serveUpload(c, ctx, op, in, optFns, in.Bucket, in.Key, in.UploadId, func(u *Upload, _ *Call) (*s3.CompleteMultipartUploadOutput, error) {
		if in.MultipartUpload == nil || len(in.MultipartUpload.Parts) == 0 {
			return nil, invalid(op, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
		if in.ChecksumType != "" && in.ChecksumType != u.ChecksumType {
			return nil, invalid(op, "InvalidRequest", fmt.Sprintf("The upload was created using the %q checksum mode. The complete request must use the same checksum mode.", u.ChecksumType))
		}
		partList := in.MultipartUpload.Parts
		if err := checkPartOrder(partList); err != nil {
			return nil, err
		}
		a, err := c.assemble(u, partList)
		if err != nil {
			return nil, err
		}
		if in.MpuObjectSize != nil && *in.MpuObjectSize != int64(len(a.data)) {
			return nil, invalid(op, "InvalidRequest", fmt.Sprintf("The provided 'x-amz-mp-object-size' header value %d does not match what was computed: %d", *in.MpuObjectSize, len(a.data)))
		}
		sum, err := objectChecksum(u, a)
		if err != nil {
			return nil, err
		}
		if err := checkObjectChecksum(u, in, sum, len(partList)); err != nil {
			return nil, err
		}
		if err := c.ifNoneMatch(op, u.Bucket, u.Key, in.IfNoneMatch); err != nil {
			return nil, err
		}
		o := c.storeObject(u, a, sum, len(partList))
		cs := set(o.ChecksumAlgo, sum)
		return &s3.CompleteMultipartUploadOutput{
			Bucket: in.Bucket, Key: in.Key, ETag: aws.String(o.ETag), VersionId: aws.String(o.VersionID),
			Location:      aws.String(fmt.Sprintf("https://%s.s3mem.invalid/%s", u.Bucket, u.Key)),
			ChecksumCRC32: cs.CRC32, ChecksumCRC32C: cs.CRC32C, ChecksumCRC64NVME: cs.CRC64NVME,
			ChecksumSHA1: cs.SHA1, ChecksumSHA256: cs.SHA256, ChecksumType: o.ChecksumType,
			ServerSideEncryption: o.ServerSideEnc, SSEKMSKeyId: u.Input.(*s3.CreateMultipartUploadInput).SSEKMSKeyId,
		}, nil
	})
}

// ifNoneMatch is the If-None-Match condition of PutObject and
// CompleteMultipartUpload: "*" fails with PreconditionFailed when the key
// holds an object, as S3 answers; S3 supports no other value. c.mu must be
// held.
func (c *Client) ifNoneMatch(op, bucket, key string, v *string) error {
	switch aws.ToString(v) {
	case "":
		return nil
	case "*":
		if c.objects[bucket+"/"+key] != nil {
			return preconditionFailed(op)
		}
		return nil
	}
	return APIError(op, 501, "NotImplemented", "A header you provided implies functionality that is not implemented")
}

// checkPartOrder rejects a CompleteMultipartUpload part list whose part
// numbers are not strictly ascending.
func checkPartOrder(parts []types.CompletedPart) error {
	var prev int32
	for _, cp := range parts {
		n := aws.ToInt32(cp.PartNumber)
		if n <= prev {
			return invalid(OpCompleteMultipartUpload, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
		}
		prev = n
	}
	return nil
}

// assembled is the content of the parts a CompleteMultipartUpload names, in order.
type assembled struct {
	data []byte   // the object's content
	sums []string // the parts' checksums, when the upload has a checksum algorithm
	md5s []byte   // the parts' MD5 digests, concatenated, for the multipart ETag
}

// assemble checks each listed part against the stored one (ETag, minimum
// size of all but the last, checksum) and concatenates them. c.mu must be held.
func (c *Client) assemble(u *Upload, parts []types.CompletedPart) (assembled, error) {
	const op = OpCompleteMultipartUpload
	var a assembled
	for i, cp := range parts {
		n := aws.ToInt32(cp.PartNumber)
		p := u.Parts[n]
		if p == nil || aws.ToString(cp.ETag) != p.ETag && `"`+strings.Trim(aws.ToString(cp.ETag), `"`)+`"` != p.ETag {
			return a, invalid(op, "InvalidPart", fmt.Sprintf("One or more of the specified parts could not be found (part %d).", n))
		}
		if i < len(parts)-1 && int64(len(p.Data)) < c.MinPartSize {
			return a, invalid(op, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
		}
		if u.ChecksumAlgo != "" {
			got := checksums{cp.ChecksumCRC32, cp.ChecksumCRC32C, cp.ChecksumCRC64NVME, cp.ChecksumSHA1, cp.ChecksumSHA256}.get(u.ChecksumAlgo)
			if got == nil {
				return a, invalid(op, "InvalidRequest", fmt.Sprintf("The upload was created using a %s checksum. The complete request must include the checksum for each part. It was missing for part %d in the request.", u.ChecksumAlgo, n))
			}
			if *got != p.Checksum {
				return a, invalid(op, "InvalidPart", fmt.Sprintf("The checksum of part %d does not match.", n))
			}
			a.sums = append(a.sums, p.Checksum)
		}
		a.data = append(a.data, p.Data...)
		sum := md5.Sum(p.Data)
		a.md5s = append(a.md5s, sum[:]...)
	}
	return a, nil
}

// objectChecksum computes the object's checksum for the upload's checksum
// type: over the whole content (full object) or over the parts' checksums
// (composite); "" when the upload has none.
func objectChecksum(u *Upload, a assembled) (string, error) {
	switch u.ChecksumType {
	case types.ChecksumTypeFullObject:
		return Checksum(u.ChecksumAlgo, a.data), nil
	case types.ChecksumTypeComposite:
		sum, err := compositeChecksum(u.ChecksumAlgo, a.sums)
		if err != nil {
			return "", invalid(OpCompleteMultipartUpload, "InvalidRequest", "malformed part checksum")
		}
		return sum, nil
	}
	return "", nil
}

// checkObjectChecksum compares the object checksums the request provides
// with the computed sum; a composite checksum given without its "-N" part
// count is compared as if it had one.
func checkObjectChecksum(u *Upload, in *s3.CompleteMultipartUploadInput, sum string, nparts int) error {
	const op = OpCompleteMultipartUpload
	if u.ChecksumAlgo == "" {
		return nil
	}
	prov := checksums{in.ChecksumCRC32, in.ChecksumCRC32C, in.ChecksumCRC64NVME, in.ChecksumSHA1, in.ChecksumSHA256}.provided()
	for a, v := range prov {
		if a != u.ChecksumAlgo {
			return invalid(op, "InvalidRequest", "checksum algorithm differs from the upload's")
		}
		if u.ChecksumType == types.ChecksumTypeComposite && !strings.Contains(v, "-") {
			v = fmt.Sprintf("%s-%d", v, nparts)
		}
		if v != sum {
			return invalid(op, "BadDigest", fmt.Sprintf("The %s you specified did not match the calculated checksum.", a))
		}
	}
	return nil
}

// storeObject turns the completed upload into an object carrying the
// attributes CreateMultipartUpload was given, stores it and forgets the
// upload. c.mu must be held.
func (c *Client) storeObject(u *Upload, a assembled, sum string, nparts int) *Object {
	mh := md5.Sum(a.md5s)
	ci := u.Input.(*s3.CreateMultipartUploadInput)
	o := &Object{
		Bucket: u.Bucket, Key: u.Key, Data: a.data,
		ETag:      fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(mh[:]), nparts),
		VersionID: c.newID("v"), ContentType: aws.ToString(ci.ContentType), Metadata: maps.Clone(ci.Metadata),
		ChecksumAlgo: u.ChecksumAlgo, ChecksumType: u.ChecksumType, Checksum: sum, PartsCount: nparts,
		ServerSideEnc: ci.ServerSideEncryption, SSEKMSKeyID: aws.ToString(ci.SSEKMSKeyId),
		SSECustomerAlgo: aws.ToString(ci.SSECustomerAlgorithm), StorageClass: ci.StorageClass, ACL: ci.ACL,
		Tagging: aws.ToString(ci.Tagging), LastModified: c.now(), Input: ci,
	}
	c.objects[u.Bucket+"/"+u.Key] = o
	delete(c.uploads, u.UploadID)
	return o
}

// AbortMultipartUpload discards an upload and its parts.
func (c *Client) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	const op = OpAbortMultipartUpload
	return serveUpload(c, ctx, op, in, optFns, in.Bucket, in.Key, in.UploadId, func(u *Upload, _ *Call) (*s3.AbortMultipartUploadOutput, error) {
		delete(c.uploads, u.UploadID)
		return &s3.AbortMultipartUploadOutput{}, nil
	})
}

// ListParts lists an upload's parts in part-number order, paginated by
// PartNumberMarker and MaxParts (default 1000).
func (c *Client) ListParts(ctx context.Context, in *s3.ListPartsInput, optFns ...func(*s3.Options)) (*s3.ListPartsOutput, error) {
	const op = OpListParts
	return serveUpload(c, ctx, op, in, optFns, in.Bucket, in.Key, in.UploadId, func(u *Upload, _ *Call) (*s3.ListPartsOutput, error) {
		marker := 0
		if s := aws.ToString(in.PartNumberMarker); s != "" {
			var err error
			if marker, err = strconv.Atoi(s); err != nil {
				return nil, invalid(op, "InvalidArgument", "invalid part number marker")
			}
		}
		max := int(aws.ToInt32(in.MaxParts))
		if max <= 0 || max > 1000 {
			max = 1000
		}
		nums := make([]int, 0, len(u.Parts))
		for n := range u.Parts {
			if int(n) > marker {
				nums = append(nums, int(n))
			}
		}
		sort.Ints(nums)
		res := &s3.ListPartsOutput{
			Bucket: in.Bucket, Key: in.Key, UploadId: in.UploadId, MaxParts: aws.Int32(int32(max)),
			PartNumberMarker: in.PartNumberMarker, ChecksumAlgorithm: u.ChecksumAlgo, ChecksumType: u.ChecksumType,
			Initiator: &types.Initiator{ID: aws.String(u.Initiator)}, IsTruncated: aws.Bool(len(nums) > max),
		}
		if len(nums) > max {
			nums = nums[:max]
			res.NextPartNumberMarker = aws.String(strconv.Itoa(nums[len(nums)-1]))
		}
		for _, n := range nums {
			p := u.Parts[int32(n)]
			cs := set(u.ChecksumAlgo, p.Checksum)
			res.Parts = append(res.Parts, types.Part{
				PartNumber: aws.Int32(p.Number), ETag: aws.String(p.ETag), Size: aws.Int64(int64(len(p.Data))),
				LastModified: aws.Time(p.Modified), ChecksumCRC32: cs.CRC32, ChecksumCRC32C: cs.CRC32C,
				ChecksumCRC64NVME: cs.CRC64NVME, ChecksumSHA1: cs.SHA1, ChecksumSHA256: cs.SHA256,
			})
		}
		return res, nil
	})
}

// ListMultipartUploads lists a bucket's in-progress uploads sorted by key
// and upload ID, filtered by Prefix and paginated by KeyMarker,
// UploadIdMarker and MaxUploads (default 1000).
func (c *Client) ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, optFns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error) {
	const op = OpListMultipartUploads
	return serveLocked(c, ctx, op, in, optFns, func(_ *Call) (*s3.ListMultipartUploadsOutput, error) {
		b := aws.ToString(in.Bucket)
		if !c.buckets[b] {
			return nil, noSuchBucket(op)
		}
		prefix, km, um := aws.ToString(in.Prefix), aws.ToString(in.KeyMarker), aws.ToString(in.UploadIdMarker)
		var list []*Upload
		for _, u := range c.uploads {
			if u.Bucket != b || !strings.HasPrefix(u.Key, prefix) {
				continue
			}
			if km != "" && (u.Key < km || u.Key == km && (um == "" || u.UploadID <= um)) {
				continue
			}
			list = append(list, u)
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].Key != list[j].Key {
				return list[i].Key < list[j].Key
			}
			return list[i].UploadID < list[j].UploadID
		})
		max := int(aws.ToInt32(in.MaxUploads))
		if max <= 0 || max > 1000 {
			max = 1000
		}
		res := &s3.ListMultipartUploadsOutput{
			Bucket: in.Bucket, Prefix: in.Prefix, KeyMarker: in.KeyMarker, UploadIdMarker: in.UploadIdMarker,
			MaxUploads: aws.Int32(int32(max)), IsTruncated: aws.Bool(len(list) > max),
		}
		if len(list) > max {
			list = list[:max]
			res.NextKeyMarker = aws.String(list[max-1].Key)
			res.NextUploadIdMarker = aws.String(list[max-1].UploadID)
		}
		for _, u := range list {
			res.Uploads = append(res.Uploads, types.MultipartUpload{
				Key: aws.String(u.Key), UploadId: aws.String(u.UploadID), Initiated: aws.Time(u.Initiated),
				Initiator: &types.Initiator{ID: aws.String(u.Initiator)}, ChecksumAlgorithm: u.ChecksumAlgo,
				ChecksumType: u.ChecksumType,
			})
		}
		return res, nil
	})
}

func (c *Client) object(op string, bucket, key *string) (*Object, error) {
	if !c.buckets[aws.ToString(bucket)] {
		return nil, noSuchBucket(op)
	}
	o := c.objects[aws.ToString(bucket)+"/"+aws.ToString(key)]
	if o == nil {
		if op == OpHeadObject {
			return nil, notFound(op)
		}
		return nil, noSuchKey(op)
	}
	return o, nil
}

// HeadObject returns an object's metadata; its checksum only when
// ChecksumMode is ENABLED, as S3 does.
func (c *Client) HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	const op = OpHeadObject
	return serveObject(c, ctx, op, in, optFns, in.Bucket, in.Key, func(o *Object) (*s3.HeadObjectOutput, error) {
		res := &s3.HeadObjectOutput{
			ContentLength: aws.Int64(int64(len(o.Data))), ETag: aws.String(o.ETag), VersionId: aws.String(o.VersionID),
			ContentType: aws.String(o.ContentType), Metadata: maps.Clone(o.Metadata), LastModified: aws.Time(o.LastModified),
			ServerSideEncryption: o.ServerSideEnc, StorageClass: o.StorageClass,
		}
		if o.SSEKMSKeyID != "" {
			res.SSEKMSKeyId = aws.String(o.SSEKMSKeyID)
		}
		if q, err := url.ParseQuery(o.Tagging); err == nil && len(q) > 0 {
			res.TagCount = aws.Int32(int32(len(q)))
		}
		if in.ChecksumMode == types.ChecksumModeEnabled {
			cs := set(o.ChecksumAlgo, o.Checksum)
			res.ChecksumCRC32, res.ChecksumCRC32C, res.ChecksumCRC64NVME = cs.CRC32, cs.CRC32C, cs.CRC64NVME
			res.ChecksumSHA1, res.ChecksumSHA256, res.ChecksumType = cs.SHA1, cs.SHA256, o.ChecksumType
		}
		return res, nil
	})
}

// GetObject returns an object's data, or the byte range "bytes=a-b" or
// "bytes=a-" asked for.
func (c *Client) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	const op = OpGetObject
	return serveObject(c, ctx, op, in, optFns, in.Bucket, in.Key, func(o *Object) (*s3.GetObjectOutput, error) {
		data := o.Data
		res := &s3.GetObjectOutput{
			ETag: aws.String(o.ETag), VersionId: aws.String(o.VersionID), ContentType: aws.String(o.ContentType),
			Metadata: maps.Clone(o.Metadata), LastModified: aws.Time(o.LastModified),
		}
		if r := aws.ToString(in.Range); r != "" {
			var first, last int64
			spec, ok := strings.CutPrefix(r, "bytes=")
			a, b, dash := strings.Cut(spec, "-")
			first, e1 := strconv.ParseInt(a, 10, 64)
			last, e2 := int64(len(data))-1, error(nil)
			if b != "" {
				last, e2 = strconv.ParseInt(b, 10, 64)
			}
			if !ok || !dash || e1 != nil || e2 != nil || first < 0 || first >= int64(len(data)) || last < first {
				return nil, APIError(op, 416, "InvalidRange", "The requested range is not satisfiable")
			}
			last = min(last, int64(len(data))-1)
			res.ContentRange = aws.String(fmt.Sprintf("bytes %d-%d/%d", first, last, len(data)))
			data = data[first : last+1]
		} else if in.ChecksumMode == types.ChecksumModeEnabled {
			cs := set(o.ChecksumAlgo, o.Checksum)
			res.ChecksumCRC32, res.ChecksumCRC32C, res.ChecksumCRC64NVME = cs.CRC32, cs.CRC32C, cs.CRC64NVME
			res.ChecksumSHA1, res.ChecksumSHA256, res.ChecksumType = cs.SHA1, cs.SHA256, o.ChecksumType
		}
		res.ContentLength = aws.Int64(int64(len(data)))
		res.Body = io.NopCloser(bytes.NewReader(data))
		return res, nil
	})
}
