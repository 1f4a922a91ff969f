package preflight

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/s3mpu/s3mpu/internal/apicalls"
	"github.com/s3mpu/s3mpu/internal/iamread"
	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
)

// Sources are policy documents and bucket settings supplied by the caller.
// A nil field (or "" Ownership) is read through the clients in LocalOptions
// when they are set; a source neither supplied nor readable is a gap, and a
// verdict a gap could change is Unknown, never Allowed.
type Sources struct {
	// Identity are the caller's identity policies; a non-nil empty slice
	// means it has none.
	Identity []mpu.PolicyDocument
	// BucketPolicy is the target bucket's policy; empty JSON means none.
	BucketPolicy *mpu.PolicyDocument
	// ACL is the target bucket's ACL.
	ACL *BucketACL
	// Ownership is the target bucket's Object Ownership setting.
	Ownership ObjectOwnership
	// SourceBucketPolicy, SourceACL and SourceOwnership are the copy
	// source bucket's, when it is not the target bucket.
	SourceBucketPolicy *mpu.PolicyDocument
	SourceACL          *BucketACL
	SourceOwnership    ObjectOwnership
	// VPCEndpointPolicy is the policy of the VPC endpoint the requests go
	// through (Plan.VPCEndpoint); nil means none. It cannot be read
	// through S3 or IAM.
	VPCEndpointPolicy *mpu.PolicyDocument
	// Boundary is the caller's permissions boundary; nil means none.
	Boundary *mpu.PolicyDocument
	// Session are the session policies of an assumed-role caller; nil means none.
	Session []mpu.PolicyDocument
}

// LocalOptions configure a Local evaluator.
type LocalOptions struct {
	// Sources are the supplied documents.
	Sources Sources
	// IAM reads identity policies that were not supplied. It may belong to
	// another principal than the caller (an administrator), since reading
	// IAM needs iam:List*/Get* permissions.
	IAM IAMReadAPI
	// S3 reads bucket policies, ACLs and ownership controls that were not
	// supplied (s3:GetBucketPolicy, s3:GetBucketAcl,
	// s3:GetBucketOwnershipControls).
	S3 BucketReadAPI
}

// Local is the offline evaluator: the policy engine over supplied or
// fetched documents, with S3's layer (ACLs, Object Ownership, VPC endpoint
// policy, owner-or-initiator defaults). It is safe for concurrent use.
type Local struct {
	opts LocalOptions
}

// NewLocal returns a Local evaluator.
func NewLocal(opts LocalOptions) *Local { return &Local{opts: opts} }

// bucketSources are one bucket's policy, ACL and ownership.
type bucketSources struct {
	policy       *policy.Document
	policyGap    bool
	acl          *BucketACL
	aclGap       bool
	ownership    ObjectOwnership
	ownershipGap bool
}

// loaded is every source for one evaluation.
type loaded struct {
	identity    []*policy.Document
	identityGap bool
	// identityPending: identity policies not read yet (see loadIdentity).
	identityPending bool
	endpoint        []*policy.Document
	boundary        []*policy.Document
	session         []*policy.Document
	buckets         map[string]*bucketSources
	out             Output
}

// Evaluate implements Evaluator.
func (l *Local) Evaluate(ctx context.Context, in *Input) (*Output, error) {
	caller, err := callerPrincipal(in.Plan)
	if err != nil {
		return nil, err
	}
	var c apicalls.Counter
	ld, err := l.load(ctx, in, caller, &c)
	if err != nil {
		return nil, err
	}
	ld.out.Checks = make([]Check, len(in.Requirements))
	for i := range in.Requirements {
		ld.out.Checks[i] = l.decideRequirement(in, caller, ld, &in.Requirements[i])
	}
	ld.out.Calls = c.Snapshot()
	return &ld.out, nil
}

// callerPrincipal builds the engine's principal for the plan's caller.
func callerPrincipal(p *Plan) (policy.Principal, error) {
	pr, err := policy.PrincipalFromARN(p.Caller)
	if err != nil {
		return pr, invalidf("caller %q: %v", p.Caller, err)
	}
	pr.CanonicalID = p.CallerCanonicalID
	return pr, nil
}

func (l *Local) load(ctx context.Context, in *Input, caller policy.Principal, c *apicalls.Counter) (*loaded, error) {
	return l.loadSources(ctx, in, caller, c, true)
}

// loadSources reads every source; with identity false, identity policies
// that would be fetched through IAM are left for loadIdentity.
func (l *Local) loadSources(ctx context.Context, in *Input, caller policy.Principal, c *apicalls.Counter, identity bool) (*loaded, error) {
	ld := &loaded{buckets: map[string]*bucketSources{}}
	src := l.opts.Sources
	if identity || src.Identity != nil || l.opts.IAM == nil {
		if err := l.loadIdentity(ctx, caller, c, ld); err != nil {
			return nil, err
		}
	} else {
		ld.identityPending = true
	}
	for _, one := range []struct {
		d   *mpu.PolicyDocument
		def string
		dst *[]*policy.Document
	}{{src.VPCEndpointPolicy, "VPC endpoint policy", &ld.endpoint}, {src.Boundary, "permissions boundary", &ld.boundary}} {
		if one.d == nil || one.d.Empty() {
			continue
		}
		doc, err := parseDocument(named(*one.d, one.def))
		if err != nil {
			return nil, err
		}
		*one.dst = []*policy.Document{doc}
	}
	for i, d := range src.Session {
		doc, err := parseDocument(named(d, fmt.Sprintf("session policy %d", i+1)))
		if err != nil {
			return nil, err
		}
		ld.session = append(ld.session, doc)
	}
	if in.Plan.VPCEndpoint != "" && src.VPCEndpointPolicy == nil {
		ld.out.note("requests go through VPC endpoint " + in.Plan.VPCEndpoint + " but its policy was not supplied: assumed to allow everything")
	}
	if caller.Type == policy.TypeAssumedRole && src.Session == nil {
		ld.out.note("session policies of the assumed-role session cannot be read; none assumed")
	}
	// Buckets.
	for _, r := range in.Requirements {
		if _, ok := ld.buckets[r.Bucket]; ok {
			continue
		}
		target := r.Bucket == in.Plan.Bucket
		bs := &bucketSources{}
		pol, acl, own := src.BucketPolicy, src.ACL, src.Ownership
		if !target {
			pol, acl, own = src.SourceBucketPolicy, src.SourceACL, src.SourceOwnership
		}
		name := "bucket policy"
		if !target {
			name = "bucket policy of " + r.Bucket
		}
		if pol != nil {
			if !pol.Empty() {
				doc, err := parseDocument(named(*pol, name))
				if err != nil {
					return nil, err
				}
				bs.policy = doc
			}
		} else if err := l.fetchBucketPolicy(ctx, r.Bucket, name, bs, c, &ld.out); err != nil {
			return nil, err
		}
		if acl != nil {
			bs.acl = acl
		} else if err := l.fetchACL(ctx, r.Bucket, bs, c, &ld.out); err != nil {
			return nil, err
		}
		if own != OwnershipUnknown {
			bs.ownership = own
		} else if err := l.fetchOwnership(ctx, r.Bucket, bs, c, &ld.out); err != nil {
			return nil, err
		}
		ld.buckets[r.Bucket] = bs
	}
	if in.Plan.BucketOwner == "" {
		ld.out.note("bucket owner not known: the bucket is assumed to be in the caller's account " + caller.Account)
	}
	return ld, nil
}

// loadIdentity reads the caller's identity policies (supplied, or through
// IAM) into ld.
func (l *Local) loadIdentity(ctx context.Context, caller policy.Principal, c *apicalls.Counter, ld *loaded) error {
	ld.identityPending = false
	src := l.opts.Sources
	switch {
	case src.Identity != nil:
		for i, d := range src.Identity {
			doc, err := parseDocument(named(d, fmt.Sprintf("identity policy %d", i+1)))
			if err != nil {
				return err
			}
			ld.identity = append(ld.identity, doc)
		}
	case caller.Type == policy.TypeRoot:
		// The root user has no identity policies; decide grants it all.
	case l.opts.IAM != nil:
		before := len(ld.out.Gaps)
		docs, boundary, err := fetchIdentity(ctx, l.opts.IAM, caller, c, &ld.out)
		if err != nil {
			return err
		}
		ld.identity = docs
		if src.Boundary == nil {
			ld.boundary = boundary
		}
		for _, g := range ld.out.Gaps[before:] {
			if !g.AllowOnly {
				ld.identityGap = true
			}
		}
	default:
		ld.out.gap(&ld.identityGap, mpu.Gap{Source: "identity policies", Error: "not supplied, and no IAM client to read them"})
	}
	return nil
}

// canRead reports whether a bucket source can be read with the S3 call
// action, and counts the call. Without an S3 client the source is the gap
// g ("not supplied, and no S3 client to read it").
func (l *Local) canRead(action string, c *apicalls.Counter, out *Output, flag *bool, g mpu.Gap) bool {
	if l.opts.S3 == nil {
		g.Error = "not supplied, and no S3 client to read it"
		out.gap(flag, g)
		return false
	}
	c.Add(action)
	return true
}

// readFailed handles the failure err of the S3 call action that reads a
// bucket source: an error that stops every S3 call (stopsS3) is returned,
// any other is recorded as the gap g, with err's text as its Error.
func readFailed(ctx context.Context, err error, action string, out *Output, flag *bool, g mpu.Gap) error {
	if stopsS3(ctx, err) {
		return callErr(action, err)
	}
	g.Error = errText(err)
	out.gap(flag, g)
	return nil
}

func (l *Local) fetchBucketPolicy(ctx context.Context, bucket, name string, bs *bucketSources, c *apicalls.Counter, out *Output) error {
	if !l.canRead("s3:GetBucketPolicy", c, out, &bs.policyGap, mpu.Gap{Source: name}) {
		return nil
	}
	res, err := l.opts.S3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: &bucket})
	switch {
	case err == nil && res.Policy != nil && strings.TrimSpace(*res.Policy) != "":
		doc, perr := parseDocument(mpu.PolicyDocument{Name: name, JSON: []byte(*res.Policy)})
		if perr != nil {
			out.gap(&bs.policyGap, mpu.Gap{Source: name, Error: perr.Error()})
			return nil
		}
		bs.policy = doc
	case err == nil:
	case s3err.Code(err) == "NoSuchBucketPolicy":
	default:
		return readFailed(ctx, err, "s3:GetBucketPolicy", out, &bs.policyGap, mpu.Gap{Source: name + " (s3:GetBucketPolicy on " + bucket + ")"})
	}
	return nil
}

func (l *Local) fetchACL(ctx context.Context, bucket string, bs *bucketSources, c *apicalls.Counter, out *Output) error {
	if !l.canRead("s3:GetBucketAcl", c, out, &bs.aclGap, mpu.Gap{Source: "bucket ACL of " + bucket, AllowOnly: true}) {
		return nil
	}
	res, err := l.opts.S3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: &bucket})
	if err != nil {
		return readFailed(ctx, err, "s3:GetBucketAcl", out, &bs.aclGap, mpu.Gap{Source: "bucket ACL (s3:GetBucketAcl on " + bucket + ")", AllowOnly: true})
	}
	acl := &BucketACL{}
	if res.Owner != nil && res.Owner.ID != nil {
		acl.OwnerCanonicalID = *res.Owner.ID
	}
	for _, g := range res.Grants {
		if g.Grantee == nil {
			continue
		}
		grant := ACLGrant{Permission: string(g.Permission)}
		switch {
		case g.Grantee.Type == s3types.TypeGroup && g.Grantee.URI != nil:
			grant.Grantee = Grantee{Type: granteeGroup, ID: *g.Grantee.URI}
		case g.Grantee.ID != nil:
			grant.Grantee = Grantee{Type: granteeCanonical, ID: *g.Grantee.ID}
		default:
			out.note("a bucket ACL grant by e-mail address was not evaluated")
			continue
		}
		acl.Grants = append(acl.Grants, grant)
	}
	bs.acl = acl
	return nil
}

func (l *Local) fetchOwnership(ctx context.Context, bucket string, bs *bucketSources, c *apicalls.Counter, out *Output) error {
	if !l.canRead("s3:GetBucketOwnershipControls", c, out, &bs.ownershipGap, mpu.Gap{Source: "object ownership of " + bucket, AllowOnly: true}) {
		return nil
	}
	res, err := l.opts.S3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: &bucket})
	switch {
	case err == nil && res.OwnershipControls != nil && len(res.OwnershipControls.Rules) > 0:
		bs.ownership = ObjectOwnership(res.OwnershipControls.Rules[0].ObjectOwnership)
	case err == nil || s3err.Code(err) == "OwnershipControlsNotFoundError":
		// No ownership controls: ACLs are enabled, objects owned by their writer.
		bs.ownership = OwnershipObjectWriter
	default:
		return readFailed(ctx, err, "s3:GetBucketOwnershipControls", out, &bs.ownershipGap,
			mpu.Gap{Source: "object ownership (s3:GetBucketOwnershipControls on " + bucket + ")", AllowOnly: true})
	}
	return nil
}

// decideRequirement evaluates one requirement against loaded sources.
func (l *Local) decideRequirement(in *Input, caller policy.Principal, ld *loaded, r *Requirement) Check {
	chk := Check{Action: r.Action, Resource: r.Resource, Evaluator: mpu.EvaluatorLocal}
	bs := ld.buckets[r.Bucket]
	if bs == nil {
		bs = &bucketSources{policyGap: true}
	}
	q := question{
		principal: caller, action: r.Action, resource: r.Resource,
		resourceAccount: in.Plan.BucketOwner, initiator: caller.ARN, context: r.Context,
		profile: in.Profile, identity: ld.identity, bucketPolicy: bs.policy,
		endpoint: ld.endpoint, boundary: ld.boundary, session: ld.session,
		acl: bs.acl, ownership: bs.ownership, canonical: in.Plan.CanonicalIDs,
		bucket: r.Bucket, partition: in.Plan.partition(),
	}
	a, err := decide(&q)
	if err != nil {
		chk.Reasons = []string{"could not evaluate: " + err.Error()}
		return chk
	}
	chk.Decision = a.decision
	chk.Reasons = a.reasons
	chk.Statements = a.refs
	chk.DefaultRule = a.defaultRule
	chk.OnlyByDefault = a.onlyDefault
	applyUncertainty(&chk, r, a.raw.MissingKeys)
	denyGap := ld.identityGap || bs.policyGap
	allowGap := bs.aclGap || (bs.ownershipGap && bs.acl != nil && len(bs.acl.Grants) > 0)
	switch {
	case chk.Decision == mpu.Allowed && denyGap:
		chk.Decision = mpu.Unknown
		chk.Reasons = append(chk.Reasons, "the documents read allow it, but a policy that could not be read (see the gaps) may deny it")
	case chk.Decision == mpu.ImplicitDeny && (denyGap || allowGap):
		chk.Decision = mpu.Unknown
		chk.Reasons = append(chk.Reasons, "nothing read allows it, but a source that could not be read (see the gaps) may")
	case chk.Decision == mpu.Allowed && a.onlyACL && bs.ownershipGap:
		chk.Decision = mpu.Unknown
		chk.Reasons = append(chk.Reasons, "only the bucket ACL allows it, and Object Ownership could not be read (ACLs decide nothing under BucketOwnerEnforced)")
	}
	if a.aclUsed && bs.ownership == OwnershipUnknown && !bs.ownershipGap && in.Profile == ProfileAWS {
		chk.Risks = append(chk.Risks, "object ownership unknown: the bucket ACL was honoured")
	}
	return chk
}

// applyUncertainty turns a verdict that depends on a condition key whose
// value is not known before the request into Unknown, and flags statements
// that rely on headers this call does not send.
func applyUncertainty(chk *Check, r *Requirement, missing []string) {
	var unknown []string
	for _, k := range missing {
		chk.MissingContext = append(chk.MissingContext, k)
		if !knownAbsentKey(r, k) {
			unknown = append(unknown, k)
			continue
		}
		if headerKey(k) && r.Step != mpu.Initiate {
			chk.Risks = append(chk.Risks, fmt.Sprintf("a statement depends on %s, a request header that %s does not send (only CreateMultipartUpload does): it is evaluated as absent for this step", k, r.Step.Operation()))
		}
	}
	if len(unknown) > 0 && chk.Decision != mpu.Unknown {
		chk.Reasons = append(chk.Reasons, fmt.Sprintf("the verdict depends on %s, whose value is not known before the request (it would be %s if absent)", strings.Join(unknown, ", "), chk.Decision))
		chk.Decision = mpu.Unknown
	}
}

// fetchIdentity reads the identity policies of caller through IAM
// (package iamread) and decides what each failed read means: operations
// the server does not implement count as "none", with a note; other
// failures are gaps; a canceled context or rejected credentials end the
// evaluation.
func fetchIdentity(ctx context.Context, api IAMReadAPI, caller policy.Principal, c *apicalls.Counter, out *Output) (docs, boundary []*policy.Document, err error) {
	var kind iamread.Kind
	var name string
	switch caller.Type {
	case policy.TypeUser:
		kind, name = iamread.User, caller.Username
	case policy.TypeRole, policy.TypeAssumedRole:
		kind, name = iamread.Role, caller.RoleName
	default:
		out.Gaps = append(out.Gaps, mpu.Gap{Source: "identity policies of " + caller.ARN, Error: "identity policies of a " + caller.Type + " principal cannot be read through IAM"})
		return nil, nil, nil
	}
	err = iamread.Read(ctx, api, kind, name, iamread.Sink{
		Call: c.Add,
		Policy: func(name string, data []byte, isBoundary bool) {
			doc, err := parseDocument(mpu.PolicyDocument{Name: name, JSON: data})
			switch {
			case err != nil:
				out.Gaps = append(out.Gaps, mpu.Gap{Source: name, Error: errText(err)})
			case isBoundary:
				boundary = append(boundary, doc)
			default:
				docs = append(docs, doc)
			}
		},
		Fail: func(src string, err error) error {
			switch {
			case stops(ctx, err):
				return callErr(src, err)
			case notImplemented(err):
				out.note(fmt.Sprintf("the server does not implement %s: assumed none", src))
			default:
				out.Gaps = append(out.Gaps, mpu.Gap{Source: src, Error: errText(err)})
			}
			return nil
		},
	})
	if err != nil {
		return nil, nil, err
	}
	return docs, boundary, nil
}

// notImplemented reports whether err says the server does not implement
// the operation at all (as opposed to denying it).
func notImplemented(err error) bool {
	switch s3err.Code(err) {
	case "NotImplemented", "InvalidAction", "UnknownOperation", "UnsupportedOperation":
		return true
	}
	return s3err.StatusCode(err) == 501
}

// errText describes an API error by code and status, never echoing
// request details.
func errText(err error) string {
	if err == nil {
		return ""
	}
	code, status := s3err.Code(err), s3err.StatusCode(err)
	switch {
	case code != "" && status != 0:
		return fmt.Sprintf("%s (HTTP %d)", code, status)
	case code != "":
		return code
	case status != 0:
		return fmt.Sprintf("HTTP %d", status)
	}
	return err.Error()
}
