package preflight

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
)

// UploadChecker runs a preflight for an upload or a copy about to start.
// It fits the uploader package's Options.Preflight hook (uploader.Checker
// and uploader.CopyChecker) without either package importing the other.
// It judges the report with Report.Gate; what a refusal does (stop the
// upload, or only report it) is the uploader's PreflightMode.
type UploadChecker struct {
	// Checker runs the preflight (required): a *Checker, or any
	// PlanChecker.
	Checker PlanChecker
	// Template holds what the upload's request does not say: the caller,
	// its canonical ID, the bucket owner, the transport, the source IP, a
	// VPC endpoint, extra context. Its Bucket, Key, SSE, ACL, StorageClass,
	// Headers and Steps are replaced from the request.
	Template Plan
	// AlsoReport are steps evaluated and put in the report besides those
	// the upload takes, for a caller that needs their verdicts too (for
	// example ListUploads, to clean up old uploads); Report.Gate does not
	// judge them, so they never refuse the upload.
	AlsoReport []mpu.Step
	// OnReport, when set, is called with every report (synchronously).
	OnReport func(*Report)
}

// PlanChecker runs the preflight of a plan. *Checker satisfies it.
type PlanChecker interface {
	Check(ctx context.Context, p *Plan, optFns ...func(*Options)) (*Report, error)
}

var _ PlanChecker = (*Checker)(nil)

// DeniedError is returned by Report.Gate and UploadChecker when a step is
// denied. It wraps mpu.ErrPermissionDenied and carries the report.
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
	caller := ""
	if e.Report != nil {
		caller = e.Report.Caller + ": "
	}
	return "preflight: " + caller + strings.Join(parts, "; ")
}

// Unwrap returns mpu.ErrPermissionDenied.
func (e *DeniedError) Unwrap() error { return mpu.ErrPermissionDenied }

// UndecidedError is returned by Report.Gate and UploadChecker when a step
// the upload needs has the verdict Unknown and none is denied. Its message
// only names the steps; each step's reasons (what kept it undecided, for
// example a policy that could not be read or a condition key whose value
// is unknown) are in Unknown. errors.Is(err, mpu.ErrUndecided) holds for it.
type UndecidedError struct {
	// Report is the full preflight report.
	Report *Report
	// Unknown are the undecided steps, in the report's order; a step whose
	// SSE-KMS row is undecided carries that row's reasons too.
	Unknown []StepResult
}

// Error names the undecided steps, briefly.
func (e *UndecidedError) Error() string {
	names := make([]string, len(e.Unknown))
	for i, s := range e.Unknown {
		names[i] = s.Step.String()
	}
	return "preflight: could not decide " + strings.Join(names, ", ")
}

// Unwrap returns mpu.ErrUndecided.
func (e *UndecidedError) Unwrap() error { return mpu.ErrUndecided }

// Details describes each undecided step on a line of its own: the step,
// its actions and why it is unknown; then each policy source that could
// not be read (Report.Gaps), often the reason.
func (e *UndecidedError) Details() string {
	var b strings.Builder
	for _, s := range e.Unknown {
		fmt.Fprintf(&b, "%s (%s)", s.Step, strings.Join(s.Actions, ", "))
		if len(s.Reasons) > 0 {
			b.WriteString(": " + strings.Join(s.Reasons, "; "))
		}
		if len(s.MissingContext) > 0 {
			b.WriteString("; unknown context: " + strings.Join(s.MissingContext, ", "))
		}
		b.WriteString("\n")
	}
	if e.Report != nil {
		for _, g := range e.Report.Gaps {
			fmt.Fprintf(&b, "not read: %s: %s\n", g.Source, g.Error)
		}
	}
	return b.String()
}

// Gate judges the report for an upload that takes steps: it returns nil
// when each of them is allowed, a *DeniedError (errors.Is
// mpu.ErrPermissionDenied) when any is denied, else an *UndecidedError
// (errors.Is mpu.ErrUndecided) when any is Unknown. A step counts as denied
// when its own verdict or its SSE-KMS row is denied (Initiate also when
// the seed row is denied and not Advisory), and as unknown when either is
// Unknown; a step missing from the report is unknown. Steps of the report
// not in steps are not judged, so one report of every step can gate
// uploads that need only some. This is the one rule an upload's preflight
// is judged by; UploadChecker applies it to the steps the uploader names.
func (r *Report) Gate(steps []mpu.Step) error {
	if r == nil {
		return invalidf("nil report")
	}
	var denied, unknown []StepResult
	seen := map[mpu.Step]bool{}
	for _, st := range steps {
		if seen[st] {
			continue
		}
		seen[st] = true
		s, ok := r.Step(st)
		if !ok {
			unknown = append(unknown, StepResult{Step: st, Operation: st.Operation(), Decision: mpu.Unknown,
				Reasons: []string{"not checked: the report has no verdict for this step"}})
			continue
		}
		kmsDecision, kmsRow := r.kmsVerdict(st)
		switch {
		case s.Decision.Denied():
			denied = append(denied, s)
		case kmsDecision.Denied():
			s.Decision = kmsDecision
			s.Reasons = append(append([]string(nil), s.Reasons...), kmsRow.Reasons...)
			s.Remedy = kmsRow.Remedy
			denied = append(denied, s)
		case s.Decision != mpu.Allowed: // Unknown, or a value that is no verdict
			unknown = append(unknown, s)
		case kmsDecision != mpu.Allowed && kmsRow != nil:
			s.Decision = mpu.Unknown
			s.Reasons = append(append([]string(nil), s.Reasons...), kmsRow.Reasons...)
			unknown = append(unknown, s)
		}
	}
	if len(denied) > 0 {
		return &DeniedError{Report: r, Denied: denied}
	}
	if len(unknown) > 0 {
		return &UndecidedError{Report: r, Unknown: unknown}
	}
	return nil
}

// kmsVerdict returns the worst verdict of the step's SSE-KMS rows (and,
// for Initiate, of a seed row that is not Advisory) and the row that has
// it; nil when the step has no KMS row.
func (r *Report) kmsVerdict(st mpu.Step) (mpu.Decision, *KMSRow) {
	var row *KMSRow
	d := mpu.Allowed
	consider := func(k *KMSRow) {
		if row == nil || kmsRank(k.Decision) > kmsRank(d) {
			row, d = k, k.Decision
		}
	}
	for i := range r.KMS {
		if r.KMS[i].Step == st {
			consider(&r.KMS[i])
		}
	}
	if k := r.KMSSeed; k != nil && !k.Advisory && st == mpu.Initiate {
		consider(k)
	}
	return d, row
}

// kmsRank orders verdicts for kmsVerdict: a denial outranks Unknown (and
// any value that is no verdict), which outranks Allowed.
func kmsRank(d mpu.Decision) int {
	switch {
	case d.Denied():
		return 2
	case d != mpu.Allowed:
		return 1
	}
	return 0
}

// CheckUpload implements the uploader's preflight hook: it evaluates steps
// for the upload that in starts and judges them with Report.Gate: nil when
// all are allowed, a *DeniedError (errors.Is mpu.ErrPermissionDenied) when one
// is denied, an *UndecidedError (errors.Is mpu.ErrUndecided) when one is
// Unknown, or the error that kept it from evaluating (errors.Is
// mpu.ErrCredentials when the server rejected the credentials; mpu.ErrInvalidInput
// when the SSE-KMS key the upload names does not exist, since the upload
// would fail at its first request).
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
	for _, st := range u.AlsoReport {
		if !slices.Contains(p.Steps, st) {
			p.Steps = append(slices.Clip(p.Steps), st)
		}
	}
	rep, err := u.Checker.Check(ctx, p)
	if err != nil {
		var ke *kmsperm.Error
		if errors.As(err, &ke) && errors.Is(err, mpu.ErrNotFound) && !errors.Is(err, mpu.ErrInvalidInput) {
			// The key the request names does not exist: the request is invalid.
			return s3err.MarkAs(err, s3err.InvalidInput)
		}
		return err
	}
	if u.OnReport != nil {
		u.OnReport(rep)
	}
	return rep.Gate(steps)
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
	p.ExpectedBucketOwner = str(in.ExpectedBucketOwner)
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
