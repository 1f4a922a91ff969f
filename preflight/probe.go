package preflight

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/s3mpu/s3mpu/internal/apicalls"
	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
)

// ProbeOptions configure a Probe.
type ProbeOptions struct {
	// Cleanup, when set, aborts the probe's own upload when the caller
	// itself may not (for example a client of the bucket owner), and
	// verifies it is gone. Without it Initiate is probed only when the
	// caller may abort.
	Cleanup ProbeAPI
	// NoCreate never creates an upload: Initiate is then not probed.
	NoCreate bool
}

// Probe is the live evaluator: it makes the multipart calls themselves,
// in ways that change nothing. UploadPart, UploadPartCopy, Complete, Abort
// and ListParts go to a made-up upload ID, so a 403 means denied and a 404
// NoSuchUpload means the permission check passed; HeadObject reads the
// copy source; ListMultipartUploads lists at most one upload. Initiate:
// when the caller may abort (or a Cleanup client can), the probe creates
// a real upload with the plan's headers, lists its parts and aborts it
// (the exact test of the initiator's Abort and ListParts), then verifies
// with ListMultipartUploads that nothing is left. Otherwise, and with
// NoCreate, it sends a conditional PutObject that can store nothing (see
// ConditionalPutAPI); only when the server gives that no usable answer is
// Initiate left Unknown. Probe bodies are empty. It is safe for
// concurrent use.
type Probe struct {
	api  ProbeAPI
	opts ProbeOptions
}

// ConditionalPutAPI is the call the probe decides Initiate with when it
// may not create a test upload; *s3.Client satisfies it. A ProbeAPI
// without it leaves Initiate Unknown in that case.
//
// The request is a PutObject of the plan's key with an empty body, the
// plan's headers (ACL and grants, storage class, SSE, checksum algorithm,
// tagging, object lock, expected bucket owner; for SSE-C the algorithm with
// a throwaway key), "If-None-Match: *" and a Content-MD5 that cannot
// match an empty body. S3 authorizes PutObject with the action
// s3:PutObject on the object ARN, as it authorizes CreateMultipartUpload,
// and with the same header-derived condition keys. Amazon's guide to
// conditional writes
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html)
// says a write with If-None-Match needs s3:PutObject (and one with
// If-Match needs s3:GetObject too, which is why If-Match is not used),
// since the permission is what lets a caller learn whether the key
// exists: the authorization comes before the precondition. So a denied
// caller gets 403 AccessDenied, and an allowed one 412 PreconditionFailed
// (the key exists) or 400 BadDigest (it does not, and the body fails its
// Content-MD5): either way nothing is stored. versitygw v1.8.0 answers the
// same way. Any other answer (501 NotImplemented from a server without
// conditional writes, an unexpected status) is no answer, and Initiate is
// then Unknown. A policy with the condition keys s3:if-none-match,
// s3:if-match or s3:ObjectCreationOperation can treat this request and
// CreateMultipartUpload differently; the verdict carries that as a risk.
type ConditionalPutAPI interface {
	PutObject(ctx context.Context, params *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// NewProbe returns a probe making its calls with api, the caller's client.
func NewProbe(api ProbeAPI, opts ProbeOptions) *Probe { return &Probe{api: api, opts: opts} }

type probeResult struct {
	decision mpu.Decision
	reason   string
	done     bool
	risk     string // what the verdict depends on that the probe could not check
}

func probeOutcome(op string, err error) probeResult {
	if err == nil {
		return probeResult{mpu.Allowed, op + " succeeded", true, ""}
	}
	code, status := s3err.Code(err), s3err.StatusCode(err)
	switch {
	case status == 403:
		return probeResult{mpu.ImplicitDeny, fmt.Sprintf("%s answered %s: denied (a probe cannot tell an explicit from an implicit deny)", op, errText(err)), true, ""}
	case code == "NoSuchUpload" || code == "NoSuchKey" || code == "InvalidPart" || (status == 404 && code != "NoSuchBucket" && code != ""):
		return probeResult{mpu.Allowed, fmt.Sprintf("%s answered %s: the permission check passed", op, errText(err)), true, ""}
	case code == "NoSuchBucket":
		return probeResult{mpu.Unknown, op + " answered NoSuchBucket: the bucket does not exist", true, ""}
	}
	return probeResult{mpu.Unknown, fmt.Sprintf("%s answered %s, which says nothing about permissions", op, errText(err)), true, ""}
}

func fakeUploadID() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "s3mpu-preflight-probe-0000000000000000"
	}
	return "s3mpu-preflight-probe-" + hex.EncodeToString(b[:])
}

// Evaluate implements Evaluator.
func (p *Probe) Evaluate(ctx context.Context, in *Input) (*Output, error) {
	if p.api == nil {
		return nil, invalidf("probe without an S3 client")
	}
	out := &Output{}
	var cl apicalls.Counter
	want := map[mpu.Step]bool{}
	for _, r := range in.Requirements {
		want[r.Step] = true
	}
	res, err := p.madeUp(ctx, in.Plan, want, &cl)
	if err != nil {
		return nil, err
	}
	var created, realParts, realAbort probeResult
	if want[mpu.Initiate] {
		created, realParts, realAbort, err = p.initiate(ctx, in, &cl, out, res["AbortMultipartUpload"].decision == mpu.Allowed)
		if err != nil {
			return nil, err
		}
	}
	if realAbort.done && realAbort.decision.Denied() {
		nd := ProfileNoDefaults
		out.Learned = &nd
		if in.Profile == ProfileAWS {
			out.note("the server denied the initiator aborting its own upload: unless a policy denies it explicitly, the server does not apply S3's owner-or-initiator defaults (ProfileNoDefaults)")
		}
	}
	out.Checks = make([]Check, len(in.Requirements))
	for i := range in.Requirements {
		out.Checks[i] = probeCheck(in, &in.Requirements[i], res, created, realParts, realAbort)
	}
	out.Calls = cl.Snapshot()
	return out, nil
}

// madeUp makes the side-effect free calls on a made-up upload ID that the
// wanted steps need, and returns their outcomes by operation.
func (p *Probe) madeUp(ctx context.Context, plan *Plan, want map[mpu.Step]bool, cl *apicalls.Counter) (map[string]probeResult, error) {
	id := fakeUploadID()
	bucket, key := plan.Bucket, plan.Key
	owner := expectedOwner(plan)
	res := map[string]probeResult{}
	run := func(name string, f func() error) error {
		cl.Add("s3:" + name)
		err := f()
		if err != nil && stopsS3(ctx, err) {
			return callErr("s3:"+name, err)
		}
		res[name] = probeOutcome(name, err)
		return nil
	}
	one := int32(1)
	if want[mpu.ListUploads] {
		if err := run("ListMultipartUploads", func() error {
			_, err := p.api.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket, MaxUploads: &one, ExpectedBucketOwner: owner})
			return err
		}); err != nil {
			return nil, err
		}
	}
	if want[mpu.UploadPart] || want[mpu.UploadPartCopy] {
		if err := run("UploadPart", func() error {
			var zero int64
			_, err := p.api.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: &id, PartNumber: &one, Body: bytes.NewReader(nil), ContentLength: &zero, ExpectedBucketOwner: owner})
			return err
		}); err != nil {
			return nil, err
		}
	}
	if want[mpu.UploadPartCopy] && plan.CopySource != nil {
		cs := plan.CopySource
		src := url.PathEscape(cs.Bucket) + "/" + escapeKey(cs.Key)
		if cs.VersionID != "" {
			src += "?versionId=" + url.QueryEscape(cs.VersionID)
		}
		if err := run("UploadPartCopy", func() error {
			_, err := p.api.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &bucket, Key: &key, UploadId: &id, PartNumber: &one, CopySource: &src, ExpectedBucketOwner: owner})
			return err
		}); err != nil {
			return nil, err
		}
		if err := run("HeadObject", func() error {
			in := &s3.HeadObjectInput{Bucket: &cs.Bucket, Key: &cs.Key}
			if cs.VersionID != "" {
				in.VersionId = &cs.VersionID
			}
			_, err := p.api.HeadObject(ctx, in)
			return err
		}); err != nil {
			return nil, err
		}
		if h := res["HeadObject"]; h.decision.Denied() {
			h.reason += "; S3 also answers 403 for a missing source object when the caller may not list its bucket"
			res["HeadObject"] = h
		}
	}
	if want[mpu.Complete] {
		if err := run("CompleteMultipartUpload", func() error {
			etag := `"d41d8cd98f00b204e9800998ecf8427e"`
			_, err := p.api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &id,
				MultipartUpload: &s3types.CompletedMultipartUpload{Parts: []s3types.CompletedPart{{PartNumber: &one, ETag: &etag}}}, ExpectedBucketOwner: owner})
			return err
		}); err != nil {
			return nil, err
		}
	}
	if want[mpu.ListParts] {
		if err := run("ListParts", func() error {
			_, err := p.api.ListParts(ctx, &s3.ListPartsInput{Bucket: &bucket, Key: &key, UploadId: &id, ExpectedBucketOwner: owner})
			return err
		}); err != nil {
			return nil, err
		}
	}
	if want[mpu.Abort] || want[mpu.Initiate] {
		if err := run("AbortMultipartUpload", func() error {
			_, err := p.api.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &id, ExpectedBucketOwner: owner})
			return err
		}); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// probeCheck turns the probes' outcomes into the verdict on one
// requirement.
func probeCheck(in *Input, r *Requirement, res map[string]probeResult, created, realParts, realAbort probeResult) Check {
	var pr probeResult
	var extra []string
	switch r.Step {
	case mpu.Initiate:
		pr = created
	case mpu.UploadPart:
		pr = res["UploadPart"]
	case mpu.UploadPartCopy:
		if r.Action == actionPutObject {
			cp, head := res["UploadPartCopy"], res["HeadObject"]
			switch {
			case cp.decision == mpu.Allowed || (head.decision == mpu.Allowed && cp.done):
				pr = cp
			default:
				pr = res["UploadPart"]
				extra = append(extra, "inferred from the UploadPart probe: the copy probe was denied and so was reading the source")
			}
		} else {
			pr = res["HeadObject"]
		}
	case mpu.Complete:
		pr = res["CompleteMultipartUpload"]
	case mpu.Abort:
		pr = pickReal(realAbort, res["AbortMultipartUpload"], "AbortMultipartUpload")
	case mpu.ListParts:
		pr = pickReal(realParts, res["ListParts"], "ListParts")
	case mpu.ListUploads:
		pr = res["ListMultipartUploads"]
	}
	chk := Check{Action: r.Action, Resource: r.Resource, Evaluator: mpu.EvaluatorProbe, Decision: pr.decision}
	if pr.reason != "" {
		chk.Reasons = append(chk.Reasons, pr.reason)
	}
	chk.Reasons = append(chk.Reasons, extra...)
	if pr.risk != "" {
		chk.Risks = append(chk.Risks, pr.risk)
	}
	if !pr.done {
		chk.Decision = mpu.Unknown
		if pr.reason == "" {
			chk.Reasons = append(chk.Reasons, "not probed")
		}
	}
	if (r.Step == mpu.Abort || r.Step == mpu.ListParts) && !realAbort.done && in.Profile.Defaults() {
		chk.Risks = append(chk.Risks, "probed on a made-up upload: for the caller's own uploads S3's owner-or-initiator default may decide differently")
	}
	return chk
}

func pickReal(real, fake probeResult, op string) probeResult {
	if !real.done {
		return fake
	}
	if fake.done && fake.decision != real.decision {
		real.reason += fmt.Sprintf(" (on a made-up upload %s was %s: the initiator's own upload is what the upload will use)", op, fake.decision)
	}
	return real
}

// initiate creates a real upload with the plan's headers, lists its parts,
// aborts it, and checks that nothing is left.
func (p *Probe) initiate(ctx context.Context, in *Input, cl *apicalls.Counter, out *Output, mayAbort bool) (created, parts, abort probeResult, err error) {
	plan := in.Plan
	h := probeHeadersOf(plan)
	if plan.SSE.CustomerAlgorithm != "" {
		out.note("the Initiate probe was sent with the upload's SSE-C algorithm and a throwaway key (a probe never holds the customer key)")
	}
	if p.opts.NoCreate || (!mayAbort && p.opts.Cleanup == nil) {
		why := "the caller may not abort, so a test upload would be left behind (set a cleanup client to probe it)"
		if p.opts.NoCreate {
			why = "creating a test upload is disabled"
		}
		created, err = p.conditionalPut(ctx, plan, h, cl, out)
		switch {
		case err != nil:
		case !created.done:
			created.reason = "not probed with a test upload: " + why + "; " + created.reason
		case created.decision != mpu.Unknown:
			created.risk = conditionalRisk
		}
		return
	}
	bucket, key, owner := plan.Bucket, plan.Key, expectedOwner(plan)
	cin := &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key, ExpectedBucketOwner: owner, ACL: h.acl, StorageClass: h.class,
		ServerSideEncryption: h.sse, SSEKMSKeyId: h.kmsKey, BucketKeyEnabled: h.bucketKey, SSEKMSEncryptionContext: h.kmsContext,
		ChecksumAlgorithm: h.checksum, Tagging: h.tagging, GrantFullControl: h.grantFull, GrantRead: h.grantRead,
		GrantReadACP: h.grantReadACP, GrantWriteACP: h.grantWriteACP, ObjectLockMode: h.lockMode, ObjectLockLegalHoldStatus: h.legalHold,
		SSECustomerAlgorithm: h.ssecAlgo, SSECustomerKey: h.ssecKey, SSECustomerKeyMD5: h.ssecKeyMD5}
	cl.Add("s3:CreateMultipartUpload")
	res, cerr := p.api.CreateMultipartUpload(ctx, cin)
	if cerr != nil {
		if stopsS3(ctx, cerr) {
			err = callErr("s3:CreateMultipartUpload", cerr)
			return
		}
		created = probeOutcome("CreateMultipartUpload", cerr)
		if created.decision == mpu.Allowed { // a 404 here is not a pass
			created.decision = mpu.Unknown
		}
		return
	}
	created = probeResult{mpu.Allowed, "CreateMultipartUpload succeeded (the test upload was then aborted)", true, ""}
	if res.UploadId == nil {
		created = probeResult{mpu.Unknown, "CreateMultipartUpload returned no upload ID", true, ""}
		return
	}
	id := *res.UploadId
	// Everything below runs even if ctx is canceled: the upload must go.
	cctx := context.WithoutCancel(ctx)
	cl.Add("s3:ListParts")
	_, lerr := p.api.ListParts(cctx, &s3.ListPartsInput{Bucket: &bucket, Key: &key, UploadId: &id, ExpectedBucketOwner: owner,
		SSECustomerAlgorithm: h.ssecAlgo, SSECustomerKey: h.ssecKey, SSECustomerKeyMD5: h.ssecKeyMD5})
	parts = probeOutcome("ListParts on the caller's own upload", lerr)
	cl.Add("s3:AbortMultipartUpload")
	_, aerr := p.api.AbortMultipartUpload(cctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &id, ExpectedBucketOwner: owner})
	abort = probeOutcome("AbortMultipartUpload of the caller's own upload", aerr)
	if abort.decision == mpu.Unknown && s3err.Code(aerr) == "NoSuchUpload" {
		abort.decision = mpu.Allowed
	}
	verifier, byCleanup := p.api, false
	if aerr != nil {
		if p.opts.Cleanup == nil {
			out.Leftover = append(out.Leftover, id)
			return
		}
		cl.Add("s3:AbortMultipartUpload")
		if _, cerr := p.opts.Cleanup.AbortMultipartUpload(cctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &id, ExpectedBucketOwner: owner}); cerr != nil && s3err.Code(cerr) != "NoSuchUpload" {
			out.Leftover = append(out.Leftover, id)
			return
		}
		verifier, byCleanup = p.opts.Cleanup, true
	}
	left, verr := uploadExists(cctx, verifier, bucket, key, owner, id, cl)
	if verr != nil && p.opts.Cleanup != nil && !byCleanup {
		left, verr = uploadExists(cctx, p.opts.Cleanup, bucket, key, owner, id, cl)
	}
	switch {
	case verr != nil:
		out.note("could not verify that the Initiate probe's upload " + id + " is gone: " + errText(verr))
	case left:
		out.Leftover = append(out.Leftover, id)
	}
	return
}

// uploadExists reports whether upload id of key is still listed.
func uploadExists(ctx context.Context, api ProbeAPI, bucket, key string, owner *string, id string, cl *apicalls.Counter) (bool, error) {
	var keyMarker, idMarker *string
	for page := 0; page < 100; page++ {
		cl.Add("s3:ListMultipartUploads")
		res, err := api.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: &key, KeyMarker: keyMarker, UploadIdMarker: idMarker, ExpectedBucketOwner: owner})
		if err != nil {
			return false, err
		}
		for _, u := range res.Uploads {
			if u.UploadId != nil && *u.UploadId == id {
				return true, nil
			}
		}
		if res.IsTruncated == nil || !*res.IsTruncated {
			return false, nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIdMarker
	}
	return false, fmt.Errorf("preflight: upload listing did not end")
}

// expectedOwner is the x-amz-expected-bucket-owner of the probe's requests
// to the plan's bucket: the upload's, so that a bucket of another account
// answers the probe as it answers the upload (403) and is told nothing more.
func expectedOwner(plan *Plan) *string {
	if plan.ExpectedBucketOwner == "" {
		return nil
	}
	return aws.String(plan.ExpectedBucketOwner)
}

// escapeKey URL-escapes an object key for x-amz-copy-source, keeping "/".
func escapeKey(k string) string {
	parts := strings.Split(k, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// probeHeaders are the headers of the upload's first request that policy
// conditions can see, as the probe's Initiate requests carry them.
type probeHeaders struct {
	acl                                               s3types.ObjectCannedACL
	class                                             s3types.StorageClass
	sse                                               s3types.ServerSideEncryption
	kmsKey, kmsContext                                *string
	bucketKey                                         *bool
	checksum                                          s3types.ChecksumAlgorithm
	tagging                                           *string
	grantFull, grantRead, grantReadACP, grantWriteACP *string
	lockMode                                          s3types.ObjectLockMode
	legalHold                                         s3types.ObjectLockLegalHoldStatus
	// ssecAlgo is the upload's SSE-C algorithm; ssecKey and ssecKeyMD5
	// (base64) are a throwaway key made for the probe, never the upload's.
	ssecAlgo, ssecKey, ssecKeyMD5 *string
}

func probeHeadersOf(plan *Plan) probeHeaders {
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	h := probeHeaders{
		acl: s3types.ObjectCannedACL(plan.ACL), class: s3types.StorageClass(plan.StorageClass),
		sse: s3types.ServerSideEncryption(plan.SSE.Algorithm), kmsKey: opt(plan.SSE.KMSKeyID),
		checksum: s3types.ChecksumAlgorithm(plan.ChecksumAlgorithm), tagging: opt(plan.Headers["x-amz-tagging"]),
		grantFull: opt(plan.Headers["x-amz-grant-full-control"]), grantRead: opt(plan.Headers["x-amz-grant-read"]),
		grantReadACP: opt(plan.Headers["x-amz-grant-read-acp"]), grantWriteACP: opt(plan.Headers["x-amz-grant-write-acp"]),
		lockMode: s3types.ObjectLockMode(plan.Headers["x-amz-object-lock-mode"]), legalHold: s3types.ObjectLockLegalHoldStatus(plan.Headers["x-amz-object-lock-legal-hold"]),
	}
	if plan.SSE.BucketKey {
		t := true
		h.bucketKey = &t
	}
	if plan.SSE.CustomerAlgorithm != "" {
		// Policy conditions see the algorithm header; the key only has to be
		// well formed. A failing random source leaves a zero key, as good.
		var key [32]byte
		_, _ = rand.Read(key[:])
		sum := md5.Sum(key[:])
		h.ssecAlgo = opt(plan.SSE.CustomerAlgorithm)
		h.ssecKey = opt(base64.StdEncoding.EncodeToString(key[:]))
		h.ssecKeyMD5 = opt(base64.StdEncoding.EncodeToString(sum[:]))
	}
	if len(plan.SSE.KMSContext) > 0 {
		if b, err := json.Marshal(plan.SSE.KMSContext); err == nil {
			h.kmsContext = opt(base64.StdEncoding.EncodeToString(b))
		}
	}
	return h
}

// wrongMD5 is the Content-MD5 of the conditional put: the MD5 of "s3mpu",
// which an empty body cannot match.
var wrongMD5 = func() string {
	sum := md5.Sum([]byte("s3mpu"))
	return base64.StdEncoding.EncodeToString(sum[:])
}()

// conditionalRisk is the risk the conditional put's verdict carries.
const conditionalRisk = "Initiate was decided by a conditional PutObject (If-None-Match, nothing stored): a policy with the condition keys s3:if-none-match, s3:if-match or s3:ObjectCreationOperation may decide CreateMultipartUpload differently"

// conditionalPut decides Initiate with the request ConditionalPutAPI
// describes. A result that is not done means the server gave no usable
// answer (or the client cannot send it); its reason says why.
func (p *Probe) conditionalPut(ctx context.Context, plan *Plan, h probeHeaders, cl *apicalls.Counter, out *Output) (probeResult, error) {
	api, ok := p.api.(ConditionalPutAPI)
	if !ok {
		return probeResult{mpu.Unknown, "the probe's client cannot send the conditional PutObject that would decide it", false, ""}, nil
	}
	bucket, key := plan.Bucket, plan.Key
	var zero int64
	in := &s3.PutObjectInput{Bucket: &bucket, Key: &key, ExpectedBucketOwner: expectedOwner(plan), Body: bytes.NewReader(nil), ContentLength: &zero,
		IfNoneMatch: aws.String("*"), ContentMD5: aws.String(wrongMD5),
		ACL: h.acl, StorageClass: h.class, ServerSideEncryption: h.sse, SSEKMSKeyId: h.kmsKey, BucketKeyEnabled: h.bucketKey,
		SSEKMSEncryptionContext: h.kmsContext, ChecksumAlgorithm: h.checksum, Tagging: h.tagging,
		GrantFullControl: h.grantFull, GrantRead: h.grantRead, GrantReadACP: h.grantReadACP, GrantWriteACP: h.grantWriteACP,
		ObjectLockMode: h.lockMode, ObjectLockLegalHoldStatus: h.legalHold,
		SSECustomerAlgorithm: h.ssecAlgo, SSECustomerKey: h.ssecKey, SSECustomerKeyMD5: h.ssecKeyMD5}
	const op = "conditional PutObject (If-None-Match: *, a Content-MD5 the empty body fails)"
	cl.Add("s3:PutObject")
	_, err := api.PutObject(ctx, in)
	if err != nil && stopsS3(ctx, err) {
		return probeResult{}, callErr("s3:PutObject", err)
	}
	code, status := s3err.Code(err), s3err.StatusCode(err)
	switch {
	case err == nil:
		// The server ignored both guards and stored an empty object: the
		// permission is there, and the caller must know what was written.
		out.note("the server ignored If-None-Match and Content-MD5 on the Initiate probe's PutObject and stored an empty object at s3://" + bucket + "/" + key + ": check it")
		return probeResult{mpu.Allowed, op + " succeeded: s3:PutObject is allowed", true, ""}, nil
	case status == 403:
		return probeResult{mpu.ImplicitDeny, fmt.Sprintf("%s answered %s: s3:PutObject is denied for this key with these headers (a probe cannot tell an explicit from an implicit deny)", op, errText(err)), true, ""}, nil
	case status == 412 || code == "PreconditionFailed" || code == "BadDigest" || code == "NoSuchKey":
		return probeResult{mpu.Allowed, fmt.Sprintf("%s answered %s after authorizing it: s3:PutObject is allowed; nothing was stored", op, errText(err)), true, ""}, nil
	case code == "NoSuchBucket":
		return probeResult{mpu.Unknown, op + " answered NoSuchBucket: the bucket does not exist", true, ""}, nil
	}
	return probeResult{mpu.Unknown, fmt.Sprintf("%s answered %s, which says nothing about permissions", op, errText(err)), false, ""}, nil
}
