package preflight

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/s3mpu/s3mpu/internal/mpu"
)

// UploadChecker runs a preflight for an upload or a copy about to start.
// It fits the uploader package's Options.Preflight hook (uploader.Checker
// and uploader.CopyChecker) without either package importing the other.
type UploadChecker struct {
	// Checker runs the preflight (required).
	Checker *Checker
	// Template holds what the upload's request does not say: the caller,
	// its canonical ID, the bucket owner, the transport, the source IP, a
	// VPC endpoint, extra context. Its Bucket, Key, SSE, ACL, StorageClass,
	// Headers and Steps are replaced from the request.
	Template Plan
	// AllowUnknown lets an upload start when a step's verdict is Unknown;
	// by default an Unknown step is an error ("could not decide").
	AllowUnknown bool
	// OnReport, when set, is called with every report (synchronously).
	OnReport func(*Report)
}

// DeniedError is returned by UploadChecker when a step is denied. It
// wraps ErrPermissionDenied and carries the report.
type DeniedError struct {
	// Report is the full preflight report.
	Report *Report
	// Denied are the denied steps among those checked.
	Denied []StepResult
}

// Error names each denied step, its action and resource, and the remedy.
func (e *DeniedError) Error() string {
	var parts []string
	for _, s := range e.Denied {
		var what []string
		for _, c := range s.Checks {
			if c.Decision.Denied() {
				what = append(what, c.Action+" on "+c.Resource)
			}
		}
		if e.Report != nil {
			for _, k := range e.Report.KMS {
				if k.Step == s.Step && k.Decision.Denied() {
					what = append(what, k.deniedActions()...)
				}
			}
		}
		p := fmt.Sprintf("%s is denied (%s: %s)", s.Step, s.Decision, strings.Join(what, ", "))
		if s.Remedy != nil {
			p += "; fix: " + s.Remedy.Summary
		}
		parts = append(parts, p)
	}
	return "preflight: " + e.Report.Caller + ": " + strings.Join(parts, "; ")
}

// Unwrap returns ErrPermissionDenied.
func (e *DeniedError) Unwrap() error { return ErrPermissionDenied }

// UndecidedError is returned by UploadChecker when a step's verdict is
// Unknown and AllowUnknown is false.
type UndecidedError struct {
	Report  *Report
	Unknown []StepResult
}

// Error names the undecided steps and why.
func (e *UndecidedError) Error() string {
	var parts []string
	for _, s := range e.Unknown {
		parts = append(parts, s.Step.String()+" ("+strings.Join(s.Reasons, "; ")+")")
	}
	return "preflight: could not decide " + strings.Join(parts, ", ")
}

// CheckUpload implements the uploader's preflight hook: it evaluates steps
// for the upload that in starts, and returns nil when all are allowed, a
// *DeniedError (errors.Is ErrPermissionDenied) when one is denied, an
// *UndecidedError when one is Unknown (unless AllowUnknown), or the error
// that kept it from evaluating.
func (u *UploadChecker) CheckUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, steps []mpu.Step) error {
	if u == nil {
		return invalidf("nil UploadChecker")
	}
	return u.check(ctx, in, u.Template.CopySource, steps)
}

// CheckCopy implements the uploader's copy preflight hook: as CheckUpload,
// with the source object (s3:GetObject, or s3:GetObjectVersion for a
// version, on it; kms:Decrypt on its key when srcKMSKeyID is set) for
// UploadPartCopy.
func (u *UploadChecker) CheckCopy(ctx context.Context, dst *s3.CreateMultipartUploadInput, srcBucket, srcKey, srcVersionID, srcKMSKeyID string, steps []mpu.Step) error {
	return u.check(ctx, dst, &CopySource{Bucket: srcBucket, Key: srcKey, VersionID: srcVersionID, KMSKeyID: srcKMSKeyID}, steps)
}

func (u *UploadChecker) check(ctx context.Context, in *s3.CreateMultipartUploadInput, src *CopySource, steps []mpu.Step) error {
	if u == nil || u.Checker == nil {
		return invalidf("UploadChecker without a Checker")
	}
	if in == nil {
		return invalidf("nil CreateMultipartUploadInput")
	}
	p := PlanFromCreateInput(in)
	t := u.Template
	p.Caller, p.CallerCanonicalID, p.CanonicalIDs, p.BucketOwner = t.Caller, t.CallerCanonicalID, t.CanonicalIDs, t.BucketOwner
	p.Transport, p.SourceIP, p.VPCEndpoint, p.Context, p.Partition, p.Region = t.Transport, t.SourceIP, t.VPCEndpoint, t.Context, t.Partition, t.Region
	p.CopySource, p.Size = src, t.Size
	p.Steps = steps
	rep, err := u.Checker.Check(ctx, p)
	if err != nil {
		return err
	}
	if u.OnReport != nil {
		u.OnReport(rep)
	}
	denied := rep.Denied()
	for _, k := range rep.KMS {
		if k.Decision.Denied() {
			if s, ok := rep.Step(k.Step); ok && !s.Decision.Denied() {
				s.Decision = k.Decision
				s.Reasons = append(s.Reasons, k.Reasons...)
				s.Remedy = k.Remedy
				denied = append(denied, s)
			}
		}
	}
	if len(denied) > 0 {
		return &DeniedError{Report: rep, Denied: denied}
	}
	if !u.AllowUnknown {
		var unknown []StepResult
		for _, s := range rep.Steps {
			if s.Decision == Unknown {
				unknown = append(unknown, s)
			}
		}
		if len(unknown) > 0 {
			return &UndecidedError{Report: rep, Unknown: unknown}
		}
	}
	return nil
}

// PlanFromCreateInput returns the plan of an upload started by in: bucket,
// key, SSE, checksum algorithm, ACL, storage class and the other headers
// that policy conditions see. Caller, bucket owner and network facts are
// left empty. A request without a checksum algorithm leaves
// Plan.ChecksumAlgorithm empty, which counts as checksums on (S3 may add
// its default checksum).
func PlanFromCreateInput(in *s3.CreateMultipartUploadInput) *Plan {
	p := &Plan{Size: SizeUnknown, Headers: map[string]string{}}
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	p.Bucket, p.Key = str(in.Bucket), str(in.Key)
	p.ACL = string(in.ACL)
	p.StorageClass = string(in.StorageClass)
	p.SSE.Algorithm = string(in.ServerSideEncryption)
	p.SSE.KMSKeyID = str(in.SSEKMSKeyId)
	p.SSE.CustomerAlgorithm = str(in.SSECustomerAlgorithm)
	p.ChecksumAlgorithm = string(in.ChecksumAlgorithm)
	if in.BucketKeyEnabled != nil {
		p.SSE.BucketKey = *in.BucketKeyEnabled
	}
	if c := str(in.SSEKMSEncryptionContext); c != "" {
		if raw, err := base64.StdEncoding.DecodeString(c); err == nil {
			var m map[string]string
			if json.Unmarshal(raw, &m) == nil {
				p.SSE.KMSContext = m
			}
		}
	}
	for h, v := range map[string]string{
		"x-amz-grant-full-control": str(in.GrantFullControl),
		"x-amz-grant-read":         str(in.GrantRead),
		"x-amz-grant-read-acp":     str(in.GrantReadACP),
		"x-amz-grant-write-acp":    str(in.GrantWriteACP),
		"x-amz-tagging":            str(in.Tagging),
		"x-amz-object-lock-mode":   string(in.ObjectLockMode),
	} {
		if v != "" {
			p.Headers[h] = v
		}
	}
	if in.ObjectLockLegalHoldStatus != "" {
		p.Headers["x-amz-object-lock-legal-hold"] = string(in.ObjectLockLegalHoldStatus)
	}
	return p
}
