package preflight

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/s3mpu/s3mpu/mpu"
)

// The IAM actions of the multipart steps
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions).
const (
	actionPutObject                  = "s3:PutObject"
	actionGetObject                  = "s3:GetObject"
	actionGetObjectVersion           = "s3:GetObjectVersion"
	actionAbortMultipartUpload       = "s3:AbortMultipartUpload"
	actionListMultipartUploadParts   = "s3:ListMultipartUploadParts"
	actionListBucketMultipartUploads = "s3:ListBucketMultipartUploads"
)

// Requirement is one action on one resource that a step needs, with the
// request context the step's call really carries.
type Requirement struct {
	// Step is the step needing it.
	Step mpu.Step
	// Action is the IAM action, for example "s3:PutObject".
	Action string
	// Resource is the ARN acted on.
	Resource string
	// Bucket is the bucket whose policy and ACL govern Resource: the
	// target bucket, or the copy source's bucket.
	Bucket string
	// Context holds the condition keys the call carries.
	Context map[string][]string
	// Absent lists condition keys (lower case) known not to be sent.
	Absent []string
	// NotSent lists the header condition keys CreateMultipartUpload sends
	// but this call does not; a statement relying on one of them is a risk.
	NotSent []string
}

// Requirements returns what each of the plan's steps needs, in step order:
// one Requirement per action and resource (two for UploadPartCopy: the
// target's s3:PutObject and the source's s3:GetObject). now sets
// aws:CurrentTime and aws:EpochTime; the zero time leaves them unknown.
func Requirements(p *Plan, now time.Time) []Requirement {
	part := p.partition()
	initHeaders := headerContext(p, mpu.Initiate)
	var out []Requirement
	for _, s := range p.steps() {
		add := func(action, resource, bucket string) {
			ctx := baseContext(p, now)
			for k, v := range headerContext(p, s) {
				ctx[k] = v
			}
			if s == mpu.UploadPartCopy && action == actionPutObject && p.CopySource != nil {
				src := p.CopySource.Bucket + "/" + p.CopySource.Key
				if p.CopySource.VersionID != "" {
					src += "?versionId=" + p.CopySource.VersionID
				}
				ctx["s3:x-amz-copy-source"] = []string{src}
			}
			for k, v := range p.Context {
				ctx[k] = v
			}
			r := Requirement{Step: s, Action: action, Resource: resource, Bucket: bucket, Context: ctx}
			for k := range initHeaders {
				if _, ok := ctx[k]; !ok {
					r.NotSent = append(r.NotSent, k)
				}
			}
			sort.Strings(r.NotSent)
			for k, v := range p.Context {
				if v == nil {
					r.Absent = append(r.Absent, strings.ToLower(k))
				}
			}
			if p.VPCEndpoint == "" {
				r.Absent = append(r.Absent, "aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip")
			}
			out = append(out, r)
		}
		switch s {
		case mpu.Initiate, mpu.UploadPart, mpu.Complete:
			add(actionPutObject, objectARN(part, p.Bucket, p.Key), p.Bucket)
		case mpu.UploadPartCopy:
			add(actionPutObject, objectARN(part, p.Bucket, p.Key), p.Bucket)
			if c := p.CopySource; c != nil {
				act := actionGetObject
				if c.VersionID != "" {
					act = actionGetObjectVersion
				}
				add(act, objectARN(part, c.Bucket, c.Key), c.Bucket)
			}
		case mpu.Abort:
			add(actionAbortMultipartUpload, objectARN(part, p.Bucket, p.Key), p.Bucket)
		case mpu.ListParts:
			add(actionListMultipartUploadParts, objectARN(part, p.Bucket, p.Key), p.Bucket)
		case mpu.ListUploads:
			add(actionListBucketMultipartUploads, bucketARN(part, p.Bucket), p.Bucket)
		}
	}
	return out
}

// baseContext holds the keys every request carries.
func baseContext(p *Plan, now time.Time) map[string][]string {
	ctx := map[string][]string{
		"s3:signatureversion": {"AWS4-HMAC-SHA256"},
		"s3:authType":         {"REST-HEADER"},
	}
	switch p.Transport {
	case TransportHTTPS:
		ctx["aws:SecureTransport"] = []string{"true"}
	case TransportHTTP:
		ctx["aws:SecureTransport"] = []string{"false"}
	}
	if p.SourceIP != "" {
		ctx["aws:SourceIp"] = []string{p.SourceIP}
	}
	if p.VPCEndpoint != "" {
		ctx["aws:SourceVpce"] = []string{p.VPCEndpoint}
	}
	if !now.IsZero() {
		ctx["aws:CurrentTime"] = []string{now.UTC().Format(time.RFC3339)}
		ctx["aws:EpochTime"] = []string{strconv.FormatInt(now.Unix(), 10)}
	}
	return ctx
}

// headerContext holds the header-derived condition keys step's call sends.
// Only CreateMultipartUpload carries the ACL, SSE, storage class, grant,
// tagging and object lock headers; UploadPart and UploadPartCopy carry the
// SSE-C algorithm; the other calls carry none.
func headerContext(p *Plan, s mpu.Step) map[string][]string {
	ctx := map[string][]string{}
	if p.SSE.CustomerAlgorithm != "" && (s == mpu.Initiate || s == mpu.UploadPart || s == mpu.UploadPartCopy) {
		ctx["s3:x-amz-server-side-encryption-customer-algorithm"] = []string{p.SSE.CustomerAlgorithm}
	}
	if s != mpu.Initiate {
		return ctx
	}
	if p.ACL != "" {
		ctx["s3:x-amz-acl"] = []string{p.ACL}
	}
	if p.SSE.Algorithm != "" {
		ctx["s3:x-amz-server-side-encryption"] = []string{p.SSE.Algorithm}
	}
	if p.SSE.KMSKeyID != "" {
		ctx["s3:x-amz-server-side-encryption-aws-kms-key-id"] = []string{p.SSE.KMSKeyID}
	}
	if p.StorageClass != "" {
		ctx["s3:x-amz-storage-class"] = []string{p.StorageClass}
	}
	for name, v := range p.Headers {
		h := strings.ToLower(name)
		switch {
		case h == "x-amz-tagging":
			q, err := url.ParseQuery(v)
			if err != nil {
				continue
			}
			var keys []string
			for k, vs := range q {
				keys = append(keys, k)
				ctx["s3:RequestObjectTag/"+k] = vs
			}
			sort.Strings(keys)
			ctx["s3:RequestObjectTagKeys"] = keys
		case strings.HasPrefix(h, "x-amz-object-lock-"):
			ctx["s3:"+strings.TrimPrefix(h, "x-amz-")] = []string{v}
		case strings.HasPrefix(h, "x-amz-"):
			ctx["s3:"+h] = []string{v}
		}
	}
	return ctx
}

// headerKey reports whether a condition key is derived from a request
// header that only some multipart calls carry.
func headerKey(k string) bool {
	k = strings.ToLower(k)
	return strings.HasPrefix(k, "s3:x-amz-") || strings.HasPrefix(k, "s3:object-lock-") ||
		strings.HasPrefix(k, "s3:requestobjecttag")
}

// knownAbsentKey reports whether a condition key missing from r's context is
// certainly absent from the real request (so the engine's absent-key rules
// are exact), rather than present with a value not known in advance.
func knownAbsentKey(r *Requirement, k string) bool {
	lk := strings.ToLower(k)
	if headerKey(lk) {
		return true
	}
	switch lk {
	case "s3:prefix", "s3:delimiter", "s3:max-keys", "s3:versionid", "aws:referer":
		return true
	}
	for _, a := range r.Absent {
		if a == lk {
			return true
		}
	}
	return false
}
