package preflight

import (
	"fmt"
	"strings"
	"sync"

	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/mpu"
)

// EvalInput is one request to evaluate offline, with everything S3 looks
// at besides IAM policy logic. Only Caller, Action and Resource are required.
type EvalInput struct {
	// Caller is the principal's ARN (or a bare account ID for its root).
	Caller string
	// Action is the IAM action, for example "s3:AbortMultipartUpload".
	Action string
	// Resource is the ARN acted on (object, bucket or KMS key).
	Resource string
	// IdentityPolicies are the caller's identity policies.
	IdentityPolicies []mpu.PolicyDocument
	// BucketPolicy is the bucket's policy (for s3: actions).
	BucketPolicy mpu.PolicyDocument
	// KeyPolicy is the KMS key policy (for kms: actions).
	KeyPolicy mpu.PolicyDocument
	// VPCEndpointPolicy is the policy of the VPC endpoint the request goes through.
	VPCEndpointPolicy mpu.PolicyDocument
	// Boundary is the caller's permissions boundary; empty JSON means
	// none. It limits what identity policies (and resource policies that
	// name the caller's role rather than its session) can grant. The
	// account root user, anonymous callers and services have none.
	Boundary mpu.PolicyDocument
	// Session are the session policies passed when the caller's session
	// was created (AssumeRole*, GetFederationToken: the inline policy and
	// the managed ones); an empty document is skipped. Taken together they
	// limit what identity policies grant: an Allow in any of them counts,
	// a Deny in any of them denies. Only role sessions (or a role ARN
	// standing for them) and federated users have them.
	Session []mpu.PolicyDocument
	// ResourceAccount is the account owning the resource (the bucket
	// owner for S3 resources). Default: the account in Resource's ARN, else
	// the caller's account.
	ResourceAccount string
	// Initiator is the ARN of the upload's initiator, for the
	// owner-or-initiator default rules of Abort and ListParts.
	Initiator string
	// ObjectOwnership is the bucket's Object Ownership setting.
	ObjectOwnership ObjectOwnership
	// ACLGrants are the bucket ACL's grants.
	ACLGrants []ACLGrant
	// CallerCanonicalID is the caller's canonical user ID, when known.
	CallerCanonicalID string
	// CanonicalIDs maps canonical user IDs to account IDs or principal ARNs.
	CanonicalIDs map[string]string
	// BucketKey is true when an S3 Bucket Key is enabled: S3 then sends
	// the bucket ARN, not the object ARN, as the KMS encryption context, so
	// a kms:EncryptionContext:aws:s3:arn value naming an object is
	// replaced with its bucket's ARN.
	BucketKey bool
	// Context holds the request's condition keys; repeat values for a
	// multi-valued key.
	Context map[string][]string
	// Profile is the server profile (default ProfileAWS).
	Profile Profile
}

// EvalResult is the verdict for one request.
type EvalResult struct {
	// Decision is Allowed, ExplicitDeny or ImplicitDeny (EvaluateRequest
	// treats keys absent from the context as absent, so it never returns
	// Unknown; preflight reports do).
	Decision mpu.Decision `json:"decision"`
	// Reasons explain the decision in plain sentences.
	Reasons []string `json:"reasons"`
	// Statements are the statements that decided it.
	Statements []mpu.StatementRef `json:"statements,omitempty"`
	// MissingKeys are condition keys a statement needed that the request lacked.
	MissingKeys []string `json:"missing_keys,omitempty"`
	// DefaultRule names the owner-or-initiator rule when it decided.
	DefaultRule string `json:"default_rule,omitempty"`
	// Risks notes what the verdict depends on that could not be checked.
	Risks []string `json:"risks,omitempty"`
}

// EvaluateRequest evaluates one request offline: the IAM policy logic of
// the policy engine, then S3's layer on top of it (bucket ACL grants and
// Object Ownership, the VPC endpoint policy, the owner-or-initiator
// defaults as the profile says). It makes no network call. Malformed
// policies, ARNs or grants give an error satisfying errors.Is(err,
// mpu.ErrInvalidInput); a malformed policy gives a *PolicyError naming the
// document and the statement.
func EvaluateRequest(in EvalInput) (EvalResult, error) {
	if in.Action == "" || !strings.Contains(in.Action, ":") {
		return EvalResult{}, invalidf("action %q: want service:Action", in.Action)
	}
	if !strings.HasPrefix(in.Resource, "arn:") && in.Resource != "*" {
		return EvalResult{}, invalidf("resource %q is not an ARN", in.Resource)
	}
	p, err := policy.PrincipalFromARN(in.Caller)
	if err != nil {
		return EvalResult{}, invalidf("caller %q: %v", in.Caller, err)
	}
	p.CanonicalID = in.CallerCanonicalID
	if in.Initiator != "" {
		if _, err := policy.PrincipalFromARN(in.Initiator); err != nil {
			return EvalResult{}, invalidf("initiator %q: %v", in.Initiator, err)
		}
	}
	if in.ResourceAccount != "" && !policy.IsAccountID(in.ResourceAccount) {
		return EvalResult{}, invalidf("resource account %q is not a 12-digit account ID", in.ResourceAccount)
	}
	q := question{
		principal: p, action: in.Action, resource: in.Resource,
		initiator: in.Initiator, profile: in.Profile, ownership: in.ObjectOwnership,
		canonical: in.CanonicalIDs, context: copyContext(in.Context),
	}
	q.resourceAccount = in.ResourceAccount
	if q.resourceAccount == "" {
		if f := strings.SplitN(in.Resource, ":", 6); len(f) == 6 && policy.IsAccountID(f[4]) {
			q.resourceAccount = f[4]
		}
	}
	if err := q.addDocuments(in, p); err != nil {
		return EvalResult{}, err
	}
	a, err := decide(&q)
	if err != nil {
		return EvalResult{}, err
	}
	res := EvalResult{Decision: a.decision, Reasons: a.reasons, Statements: a.refs, MissingKeys: a.raw.MissingKeys, DefaultRule: a.defaultRule}
	for _, k := range a.raw.MissingKeys {
		res.Risks = append(res.Risks, fmt.Sprintf("a statement depends on %s, which the request context does not hold; it was evaluated as absent", k))
	}
	if q.acl != nil && in.ObjectOwnership == OwnershipUnknown && in.Profile == ProfileAWS {
		res.Risks = append(res.Risks, "object ownership not given: ACL grants were honoured, but they decide nothing when it is BucketOwnerEnforced")
	}
	return res, nil
}

// addDocuments parses the policy documents of in into q: the key policy
// for a KMS action, the bucket policy and ACL grants otherwise.
func (q *question) addDocuments(in EvalInput, p policy.Principal) error {
	var err error
	for _, d := range in.IdentityPolicies {
		doc, err := parseDocument(named(d, "identity policy"))
		if err != nil {
			return err
		}
		q.identity = append(q.identity, doc)
	}
	kms := strings.HasPrefix(strings.ToLower(in.Action), "kms:")
	if kms {
		if !in.KeyPolicy.Empty() {
			if q.keyPolicy, err = parseDocument(named(in.KeyPolicy, "key policy")); err != nil {
				return err
			}
		}
		if in.BucketKey {
			bucketKeyContext(q.context)
		}
	} else {
		if !in.BucketPolicy.Empty() {
			if q.bucketPolicy, err = parseDocument(named(in.BucketPolicy, "bucket policy")); err != nil {
				return err
			}
		}
		if len(in.ACLGrants) > 0 {
			q.acl = &BucketACL{Grants: in.ACLGrants}
			q.bucket, q.partition = bucketOfARN(in.Resource)
		}
	}
	if !in.VPCEndpointPolicy.Empty() {
		doc, err := parseDocument(named(in.VPCEndpointPolicy, "VPC endpoint policy"))
		if err != nil {
			return err
		}
		q.endpoint = []*policy.Document{doc}
	}
	if !in.Boundary.Empty() {
		switch p.Type {
		case policy.TypeRoot, policy.TypeAnonymous, policy.TypeService:
			return invalidf("caller %q: a permissions boundary applies only to IAM users and roles, not to %s", in.Caller, callerKind(p))
		}
		doc, err := parseDocument(named(in.Boundary, "permissions boundary"))
		if err != nil {
			return err
		}
		q.boundary = []*policy.Document{doc}
	}
	for i, d := range in.Session {
		if d.Empty() {
			continue
		}
		switch p.Type {
		case policy.TypeAssumedRole, policy.TypeRole, policy.TypeFederatedUser:
		default:
			return invalidf("caller %q: session policies apply only to role sessions and federated users, not to %s", in.Caller, callerKind(p))
		}
		doc, err := parseDocument(named(d, fmt.Sprintf("session policy %d", i+1)))
		if err != nil {
			return err
		}
		q.session = append(q.session, doc)
	}
	return nil
}

// callerKind names the kind of principal p for messages.
func callerKind(p policy.Principal) string {
	switch p.Type {
	case policy.TypeRoot:
		return "the account root user"
	case policy.TypeAnonymous:
		return "an anonymous caller"
	case policy.TypeService:
		return "a service principal"
	case policy.TypeUser:
		return "an IAM user"
	}
	return "a " + p.Type
}

func named(d mpu.PolicyDocument, def string) mpu.PolicyDocument {
	if d.Name == "" {
		d.Name = def
	}
	return d
}

// bucketOfARN returns the bucket and partition of an S3 bucket or object ARN.
func bucketOfARN(arn string) (bucket, partition string) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[2] != "s3" {
		return "", "aws"
	}
	b, _, _ := strings.Cut(f[5], "/")
	return b, f[1]
}

// bucketKeyContext rewrites an object ARN in the S3 encryption context
// key to its bucket ARN, as S3 does when a Bucket Key is enabled.
func bucketKeyContext(ctx map[string][]string) {
	for k, vs := range ctx {
		if !strings.EqualFold(k, "kms:EncryptionContext:aws:s3:arn") {
			continue
		}
		out := make([]string, len(vs))
		for i, v := range vs {
			if b, p := bucketOfARN(v); b != "" {
				v = bucketARN(p, b)
			}
			out[i] = v
		}
		ctx[k] = out
	}
}

func copyContext(in map[string][]string) map[string][]string {
	out := make(map[string][]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// question is one request with every document that bears on it.
type question struct {
	principal       policy.Principal
	action          string
	resource        string
	resourceAccount string // "" = the caller's account
	initiator       string
	context         map[string][]string
	profile         Profile

	identity     []*policy.Document
	bucketPolicy *policy.Document
	keyPolicy    *policy.Document
	endpoint     []*policy.Document
	boundary     []*policy.Document
	session      []*policy.Document

	// bucket ACL: applies to s3 actions on bucket.
	acl       *BucketACL
	ownership ObjectOwnership
	canonical map[string]string
	bucket    string
	partition string
}

// answer is the verdict for a question.
type answer struct {
	decision    mpu.Decision
	raw         policy.Result
	refs        []mpu.StatementRef
	reasons     []string
	defaultRule string // the default rule that allowed it
	onlyDefault bool   // allowed by the default rule alone
	onlyACL     bool   // allowed by the bucket ACL alone
	aclUsed     bool   // ACL grants were part of the resource side
}

var allowAll = sync.OnceValue(func() *policy.Document {
	d, err := policy.ParseNamed("account root user", []byte(`{"Version":"2012-10-17","Statement":[{"Sid":"RootUser","Effect":"Allow","Action":"*","Resource":"*"}]}`))
	if err != nil {
		panic("preflight: built-in policy does not parse: " + err.Error())
	}
	return d
})

// decide evaluates a question: the engine, then S3's layer.
func decide(q *question) (answer, error) {
	var a answer
	owner := q.resourceAccount
	if owner == "" {
		owner = q.principal.Account
	}
	if q.profile == ProfileNoDefaults && q.principal.Type == policy.TypeRoot && q.principal.Account == owner {
		a.decision = mpu.Allowed
		a.reasons = []string{"the server's root account bypasses policy evaluation (server profile " + q.profile.String() + ")"}
		return a, nil
	}
	set := policy.PolicySet{Identity: q.identity, Endpoint: q.endpoint, Boundary: q.boundary, Session: q.session}
	if q.principal.Type == policy.TypeRoot {
		set.Identity = append([]*policy.Document{allowAll()}, set.Identity...)
	}
	if q.keyPolicy != nil {
		set.Resource = []*policy.Document{q.keyPolicy}
		set.KeyPolicyMode = true
	} else if q.bucketPolicy != nil {
		bp, dropped := q.profile.resourcePolicy(q.bucketPolicy)
		set.Resource = []*policy.Document{bp}
		for _, st := range dropped {
			ref := mpu.StatementRef{Policy: bp.Name, Kind: policy.KindResource, Sid: st.Sid, Index: st.Index, Effect: st.Effect}
			a.reasons = append(a.reasons, fmt.Sprintf("%s uses NotPrincipal, NotAction or NotResource, which server profile %q does not read: it applies to no request", ref, q.profile))
		}
	}
	var aclDoc *policy.Document
	if q.acl != nil && q.keyPolicy == nil && q.profile.aclEnabled(q.ownership) && (q.bucketPolicy == nil || q.profile.aclWithBucketPolicy()) {
		part := q.partition
		if part == "" {
			part = "aws"
		}
		d, err := aclDocument("bucket ACL", part, q.bucket, q.acl, q.profile, q.canonical, q.principal, q.resourceAccount)
		if err != nil {
			return a, err
		}
		if d != nil {
			aclDoc = d
			set.Resource = append(set.Resource, d)
			a.aclUsed = true
		}
	}
	req := policy.Request{Principal: q.principal, Action: q.action, Resource: q.resource, ResourceAccount: q.resourceAccount, Context: q.context}
	a.raw = policy.Evaluate(req, set)
	a.refs = a.raw.Deciding
	a.reasons = append(a.reasons, a.raw.Reasons...)
	a.decision = a.raw.Decision.Verdict()
	if a.decision == mpu.Allowed && aclDoc != nil {
		only := len(a.raw.Deciding) > 0
		for _, r := range a.raw.Deciding {
			if r.Policy != aclDoc.Name || r.Kind != policy.KindResource {
				only = false
			}
		}
		a.onlyACL = only
	}
	if a.decision != mpu.ImplicitDeny {
		return a, nil
	}
	rule := defaultRuleApplies(q.action, q.principal, q.initiator, q.resourceAccount)
	if rule == "" {
		return a, nil
	}
	if !q.profile.Defaults() {
		a.reasons = append(a.reasons, fmt.Sprintf("Amazon S3 would allow this by its %s, but server profile %q applies no owner-or-initiator defaults: %s must be granted explicitly", rule, q.profile, q.action))
		return a, nil
	}
	if len(q.endpoint) > 0 {
		er := policy.Evaluate(req, policy.PolicySet{Identity: []*policy.Document{allowAll()}, Endpoint: q.endpoint})
		if er.Decision != policy.Allowed {
			a.reasons = append(a.reasons, fmt.Sprintf("the %s does not help: the VPC endpoint policy does not allow %s", rule, q.action))
			return a, nil
		}
	}
	a.decision = mpu.Allowed
	a.defaultRule = rule
	a.onlyDefault = true
	a.reasons = append(a.reasons, fmt.Sprintf("allowed by S3's %s (no policy grants %s; only an explicit Deny could stop it)", rule, q.action))
	return a, nil
}

// parseContext parses KEY=VALUE pairs into a request context; a key given
// several times gets several values (a multi-valued key). Keys keep their
// spelling; lookups are case-insensitive.
func parseContext(pairs []string) (map[string][]string, error) {
	ctx := map[string][]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || !strings.Contains(k, ":") {
			return nil, invalidf("context %q: want KEY=VALUE with a key such as aws:SourceIp", p)
		}
		ctx[k] = append(ctx[k], v)
	}
	return ctx, nil
}
