package preflight

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
)

// fakeIAM serves identity policies from maps and records calls.
type fakeIAM struct {
	mu       sync.Mutex
	calls    []string
	user     map[string]string // inline user policies of alice
	attached map[string]string // managed policy ARN -> document
	groups   map[string]map[string]string
	role     map[string]string
	fail     map[string]error // by operation
	pageSize int
	boundary string // ARN of a permissions boundary in attached, for users and roles
}

func (f *fakeIAM) GetUser(_ context.Context, in *iam.GetUserInput, _ ...func(*iam.Options)) (*iam.GetUserOutput, error) {
	if err := f.rec("GetUser"); err != nil {
		return nil, err
	}
	u := &iamtypes.User{UserName: in.UserName}
	if f.boundary != "" {
		u.PermissionsBoundary = &iamtypes.AttachedPermissionsBoundary{PermissionsBoundaryArn: aws.String(f.boundary)}
	}
	return &iam.GetUserOutput{User: u}, nil
}
func (f *fakeIAM) GetRole(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	if err := f.rec("GetRole"); err != nil {
		return nil, err
	}
	r := &iamtypes.Role{RoleName: in.RoleName}
	if f.boundary != "" {
		r.PermissionsBoundary = &iamtypes.AttachedPermissionsBoundary{PermissionsBoundaryArn: aws.String(f.boundary)}
	}
	return &iam.GetRoleOutput{Role: r}, nil
}

func (f *fakeIAM) rec(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
	return f.fail[op]
}

func page(names []string, marker *string, size int) ([]string, *string, bool) {
	start := 0
	if marker != nil {
		for i, n := range names {
			if n == *marker {
				start = i
			}
		}
	}
	if size <= 0 || start+size >= len(names) {
		return names[start:], nil, false
	}
	return names[start : start+size], aws.String(names[start+size]), true
}

func keys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

func (f *fakeIAM) ListUserPolicies(_ context.Context, in *iam.ListUserPoliciesInput, _ ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error) {
	if err := f.rec("ListUserPolicies"); err != nil {
		return nil, err
	}
	n, m, more := page(keys(f.user), in.Marker, f.pageSize)
	return &iam.ListUserPoliciesOutput{PolicyNames: n, Marker: m, IsTruncated: more}, nil
}
func (f *fakeIAM) GetUserPolicy(_ context.Context, in *iam.GetUserPolicyInput, _ ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error) {
	if err := f.rec("GetUserPolicy"); err != nil {
		return nil, err
	}
	return &iam.GetUserPolicyOutput{PolicyDocument: aws.String(url.PathEscape(f.user[*in.PolicyName]))}, nil
}
func (f *fakeIAM) ListAttachedUserPolicies(context.Context, *iam.ListAttachedUserPoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error) {
	if err := f.rec("ListAttachedUserPolicies"); err != nil {
		return nil, err
	}
	var out []iamtypes.AttachedPolicy
	for _, a := range keys(f.attached) {
		out = append(out, iamtypes.AttachedPolicy{PolicyArn: aws.String(a)})
	}
	return &iam.ListAttachedUserPoliciesOutput{AttachedPolicies: out}, nil
}
func (f *fakeIAM) ListGroupsForUser(context.Context, *iam.ListGroupsForUserInput, ...func(*iam.Options)) (*iam.ListGroupsForUserOutput, error) {
	if err := f.rec("ListGroupsForUser"); err != nil {
		return nil, err
	}
	var out []iamtypes.Group
	for g := range f.groups {
		out = append(out, iamtypes.Group{GroupName: aws.String(g)})
	}
	return &iam.ListGroupsForUserOutput{Groups: out}, nil
}
func (f *fakeIAM) ListGroupPolicies(_ context.Context, in *iam.ListGroupPoliciesInput, _ ...func(*iam.Options)) (*iam.ListGroupPoliciesOutput, error) {
	if err := f.rec("ListGroupPolicies"); err != nil {
		return nil, err
	}
	return &iam.ListGroupPoliciesOutput{PolicyNames: keys(f.groups[*in.GroupName])}, nil
}
func (f *fakeIAM) GetGroupPolicy(_ context.Context, in *iam.GetGroupPolicyInput, _ ...func(*iam.Options)) (*iam.GetGroupPolicyOutput, error) {
	if err := f.rec("GetGroupPolicy"); err != nil {
		return nil, err
	}
	return &iam.GetGroupPolicyOutput{PolicyDocument: aws.String(f.groups[*in.GroupName][*in.PolicyName])}, nil
}
func (f *fakeIAM) ListAttachedGroupPolicies(context.Context, *iam.ListAttachedGroupPoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedGroupPoliciesOutput, error) {
	if err := f.rec("ListAttachedGroupPolicies"); err != nil {
		return nil, err
	}
	return &iam.ListAttachedGroupPoliciesOutput{}, nil
}
func (f *fakeIAM) ListRolePolicies(_ context.Context, in *iam.ListRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error) {
	if err := f.rec("ListRolePolicies:" + *in.RoleName); err != nil {
		return nil, err
	}
	return &iam.ListRolePoliciesOutput{PolicyNames: keys(f.role)}, nil
}
func (f *fakeIAM) GetRolePolicy(_ context.Context, in *iam.GetRolePolicyInput, _ ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error) {
	if err := f.rec("GetRolePolicy"); err != nil {
		return nil, err
	}
	return &iam.GetRolePolicyOutput{PolicyDocument: aws.String(url.PathEscape(f.role[*in.PolicyName]))}, nil
}
func (f *fakeIAM) ListAttachedRolePolicies(context.Context, *iam.ListAttachedRolePoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error) {
	if err := f.rec("ListAttachedRolePolicies"); err != nil {
		return nil, err
	}
	return &iam.ListAttachedRolePoliciesOutput{}, nil
}
func (f *fakeIAM) GetPolicy(_ context.Context, in *iam.GetPolicyInput, _ ...func(*iam.Options)) (*iam.GetPolicyOutput, error) {
	if err := f.rec("GetPolicy"); err != nil {
		return nil, err
	}
	return &iam.GetPolicyOutput{Policy: &iamtypes.Policy{Arn: in.PolicyArn, DefaultVersionId: aws.String("v3")}}, nil
}
func (f *fakeIAM) GetPolicyVersion(_ context.Context, in *iam.GetPolicyVersionInput, _ ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error) {
	if err := f.rec("GetPolicyVersion:" + *in.VersionId); err != nil {
		return nil, err
	}
	return &iam.GetPolicyVersionOutput{PolicyVersion: &iamtypes.PolicyVersion{Document: aws.String(url.PathEscape(f.attached[*in.PolicyArn]))}}, nil
}

// fakeBucket serves a bucket policy, ACL and ownership.
type fakeBucket struct {
	policy    string
	acl       []s3types.Grant
	ownership s3types.ObjectOwnership
	fail      map[string]error
}

func (f *fakeBucket) GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error) {
	if err := f.fail["GetBucketPolicy"]; err != nil {
		return nil, err
	}
	if f.policy == "" {
		return nil, s3mem.APIError("GetBucketPolicy", 404, "NoSuchBucketPolicy", "none")
	}
	return &s3.GetBucketPolicyOutput{Policy: aws.String(f.policy)}, nil
}
func (f *fakeBucket) GetBucketAcl(context.Context, *s3.GetBucketAclInput, ...func(*s3.Options)) (*s3.GetBucketAclOutput, error) {
	if err := f.fail["GetBucketAcl"]; err != nil {
		return nil, err
	}
	return &s3.GetBucketAclOutput{Owner: &s3types.Owner{ID: aws.String("owner-canonical")}, Grants: f.acl}, nil
}
func (f *fakeBucket) GetBucketOwnershipControls(context.Context, *s3.GetBucketOwnershipControlsInput, ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error) {
	if err := f.fail["GetBucketOwnershipControls"]; err != nil {
		return nil, err
	}
	if f.ownership == "" {
		return nil, s3mem.APIError("GetBucketOwnershipControls", 404, "OwnershipControlsNotFoundError", "none")
	}
	return &s3.GetBucketOwnershipControlsOutput{OwnershipControls: &s3types.OwnershipControls{Rules: []s3types.OwnershipControlsRule{{ObjectOwnership: f.ownership}}}}, nil
}

func checkPlan(t *testing.T, ev Evaluator, p *Plan, prof Profile) *Report {
	t.Helper()
	rep, err := New(ev, func(o *Options) { o.Profile = prof }).Check(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func decisions(rep *Report) string {
	var b strings.Builder
	for _, s := range rep.Steps {
		b.WriteString(s.Step.String() + "=" + s.Decision.String() + " ")
	}
	return strings.TrimSpace(b.String())
}

func TestLocalHeaderKeysOnlyOnInitiate(t *testing.T) {
	id := `{"Version":"2012-10-17","Statement":[{"Sid":"PutWithACL","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}]}`
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("acl-only", id)}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}})
	p := &Plan{Bucket: "photos", Key: "a.jpg", ACL: "bucket-owner-full-control", Caller: alice, BucketOwner: acct, Transport: TransportHTTPS, SourceIP: "192.0.2.1",
		Steps: []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete}}
	rep := checkPlan(t, local, p, ProfileAWS)
	if got := decisions(rep); got != "Initiate=allowed UploadPart=implicitDeny Complete=implicitDeny" {
		t.Fatalf("decisions %s", got)
	}
	up, _ := rep.Step(mpu.UploadPart)
	if len(up.Risks) == 0 || !strings.Contains(up.Risks[0], "s3:x-amz-acl") || !strings.Contains(up.Risks[0], "UploadPart does not send") {
		t.Errorf("UploadPart risks %q", up.Risks)
	}
	if up.Remedy == nil || len(up.Remedy.Add) != 1 || string(up.Remedy.Add[0].Statement) != `{"Sid":"AllowUploadPart","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/a.jpg"}` {
		t.Errorf("remedy %+v", up.Remedy)
	}
	if len(rep.Blocking()) != 2 || rep.OK() {
		t.Errorf("blocking %d OK %v", len(rep.Blocking()), rep.OK())
	}
}

func TestLocalUnknownContext(t *testing.T) {
	id := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("tls", id)}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}})
	p := &Plan{Bucket: "photos", Key: "a.jpg", Caller: alice, BucketOwner: acct, Steps: []mpu.Step{mpu.Initiate}}
	rep := checkPlan(t, local, p, ProfileAWS)
	s := rep.Steps[0]
	if s.Decision != mpu.Unknown || !strings.Contains(strings.Join(s.Reasons, " "), "aws:SecureTransport") {
		t.Fatalf("unknown transport: %s %q", s.Decision, s.Reasons)
	}
	p.Transport = TransportHTTPS
	if rep := checkPlan(t, local, p, ProfileAWS); rep.Steps[0].Decision != mpu.Allowed {
		t.Fatalf("HTTPS: %s %q", rep.Steps[0].Decision, rep.Steps[0].Reasons)
	}
	p.Transport = TransportHTTP
	if rep := checkPlan(t, local, p, ProfileAWS); rep.Steps[0].Decision != mpu.ImplicitDeny {
		t.Fatalf("HTTP: %s", rep.Steps[0].Decision)
	}
}

func TestLocalGaps(t *testing.T) {
	p := &Plan{Bucket: "photos", Key: "a.jpg", Caller: alice, BucketOwner: acct, Transport: TransportHTTPS, SourceIP: "192.0.2.1", Steps: []mpu.Step{mpu.Initiate, mpu.Abort, mpu.ListUploads}}
	denyAbort := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"},{"Sid":"NoAbort","Effect":"Deny","Action":"s3:AbortMultipartUpload","Resource":"*"}]}`
	// Bucket policy unreadable: an Allow may be undone by it, a Deny stays.
	bk := &fakeBucket{fail: map[string]error{"GetBucketPolicy": s3mem.AccessDenied("GetBucketPolicy")}}
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("id", denyAbort)}}, S3: bk})
	rep := checkPlan(t, local, p, ProfileAWS)
	if got := decisions(rep); got != "Initiate=unknown Abort=explicitDeny ListUploads=unknown" {
		t.Fatalf("policy gap: %s", got)
	}
	if len(rep.Gaps) != 1 || !strings.Contains(rep.Gaps[0].Source, "s3:GetBucketPolicy") || rep.Gaps[0].Error != "AccessDenied (HTTP 403)" {
		t.Fatalf("gaps %+v", rep.Gaps)
	}
	// ACL unreadable: it can only grant, so an Allow stands.
	bk = &fakeBucket{fail: map[string]error{"GetBucketAcl": s3mem.AccessDenied("GetBucketAcl")}}
	local = NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("id", denyAbort)}}, S3: bk})
	rep = checkPlan(t, local, p, ProfileAWS)
	if got := decisions(rep); got != "Initiate=allowed Abort=explicitDeny ListUploads=unknown" {
		t.Fatalf("ACL gap: %s", got)
	}
	// Nothing to read with: identity is a gap too.
	rep = checkPlan(t, NewLocal(LocalOptions{}), p, ProfileAWS)
	if got := decisions(rep); got != "Initiate=unknown Abort=unknown ListUploads=unknown" {
		t.Fatalf("no sources: %s", got)
	}
}

func TestLocalFetchesIdentity(t *testing.T) {
	f := &fakeIAM{
		pageSize: 1,
		user: map[string]string{
			"put":  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/*"}]}`,
			"list": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucketMultipartUploads","Resource":"arn:aws:s3:::photos"}]}`,
		},
		attached: map[string]string{"arn:aws:iam::111122223333:policy/parts": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListMultipartUploadParts","Resource":"*"}]}`},
		groups:   map[string]map[string]string{"ops": {"no-abort": `{"Version":"2012-10-17","Statement":[{"Sid":"GroupNoAbort","Effect":"Deny","Action":"s3:AbortMultipartUpload","Resource":"*"}]}`}},
	}
	bk := &fakeBucket{ownership: s3types.ObjectOwnershipBucketOwnerEnforced}
	local := NewLocal(LocalOptions{IAM: f, S3: bk})
	p := &Plan{Bucket: "photos", Key: "a.jpg", Caller: alice, BucketOwner: acct, Transport: TransportHTTPS, SourceIP: "192.0.2.1"}
	rep := checkPlan(t, local, p, ProfileNoDefaults)
	if got := decisions(rep); got != "Initiate=allowed UploadPart=allowed Complete=allowed Abort=explicitDeny ListParts=allowed ListUploads=allowed" {
		t.Fatalf("decisions %s", got)
	}
	ab, _ := rep.Step(mpu.Abort)
	if len(ab.Checks[0].Statements) != 1 || ab.Checks[0].Statements[0].Sid != "GroupNoAbort" || ab.Checks[0].Statements[0].Policy != "group/ops/no-abort" {
		t.Errorf("abort deciding %+v", ab.Checks[0].Statements)
	}
	if ab.Remedy == nil || len(ab.Remedy.Change) != 1 || !strings.Contains(ab.Remedy.Summary, "explicit Deny") {
		t.Errorf("abort remedy %+v", ab.Remedy)
	}
	want := "GetUser ListUserPolicies ListUserPolicies GetUserPolicy GetUserPolicy ListAttachedUserPolicies GetPolicy GetPolicyVersion:v3 ListGroupsForUser ListGroupPolicies GetGroupPolicy ListAttachedGroupPolicies"
	if got := strings.Join(f.calls, " "); got != want {
		t.Errorf("IAM calls\n%s\nwant\n%s", got, want)
	}
	if rep.totalCalls() != 15 {
		t.Errorf("total calls %d %v", rep.totalCalls(), rep.APICalls)
	}
	// A server without managed policies or groups: notes, not gaps.
	f2 := &fakeIAM{user: f.user, fail: map[string]error{
		"ListAttachedUserPolicies": s3mem.APIError("ListAttachedUserPolicies", 400, "InvalidAction", "no"),
		"ListGroupsForUser":        s3mem.APIError("ListGroupsForUser", 400, "InvalidAction", "no"),
	}}
	rep = checkPlan(t, NewLocal(LocalOptions{IAM: f2, S3: bk}), p, ProfileNoDefaults)
	if len(rep.Gaps) != 0 || !strings.Contains(strings.Join(rep.Notes, "\n"), "does not implement") {
		t.Errorf("gaps %+v notes %q", rep.Gaps, rep.Notes)
	}
	if s, _ := rep.Step(mpu.Initiate); s.Decision != mpu.Allowed {
		t.Errorf("Initiate %s", s.Decision)
	}
	// Listing denied: a gap, and no Allow survives it.
	f3 := &fakeIAM{user: f2.user, fail: map[string]error{"ListUserPolicies": s3mem.AccessDenied("ListUserPolicies")}}
	rep = checkPlan(t, NewLocal(LocalOptions{IAM: f3, S3: bk}), p, ProfileNoDefaults)
	if s, _ := rep.Step(mpu.Initiate); s.Decision != mpu.Unknown || len(rep.Gaps) == 0 {
		t.Errorf("denied listing: %s gaps %+v", s.Decision, rep.Gaps)
	}
}

func TestLocalAssumedRoleAndACL(t *testing.T) {
	f := &fakeIAM{role: map[string]string{"put": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`}}
	bk := &fakeBucket{ownership: s3types.ObjectOwnershipBucketOwnerPreferred, acl: []s3types.Grant{
		{Grantee: &s3types.Grantee{Type: s3types.TypeCanonicalUser, ID: aws.String("c-ci")}, Permission: s3types.PermissionRead},
	}}
	session := "arn:aws:sts::111122223333:assumed-role/ci/build-7"
	p := &Plan{Bucket: "photos", Key: "a.jpg", Caller: session, CanonicalIDs: map[string]string{"c-ci": "arn:aws:iam::111122223333:role/ci"}, BucketOwner: acct, Transport: TransportHTTPS, SourceIP: "192.0.2.1"}
	rep := checkPlan(t, NewLocal(LocalOptions{IAM: f, S3: bk}), p, ProfileAWS)
	if got := decisions(rep); got != "Initiate=allowed UploadPart=allowed Complete=allowed Abort=allowed ListParts=allowed ListUploads=allowed" {
		t.Fatalf("decisions %s\n%s", got, rep)
	}
	if f.calls[0] != "GetRole" || f.calls[1] != "ListRolePolicies:ci" {
		t.Errorf("IAM calls %v", f.calls)
	}
	ab, _ := rep.Step(mpu.Abort)
	if ab.DefaultRule != ruleInitiator || ab.Remedy == nil || !strings.Contains(ab.Remedy.Summary, "owner-or-initiator default") {
		t.Errorf("abort by default: %q %+v", ab.DefaultRule, ab.Remedy)
	}
	lu, _ := rep.Step(mpu.ListUploads)
	if lu.Checks[0].Statements[0].Policy != "bucket ACL" {
		t.Errorf("ListUploads decided by %+v", lu.Checks[0].Statements)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "session policies") {
		t.Errorf("notes %q", rep.Notes)
	}
}

func TestCrossAccountRemedy(t *testing.T) {
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}})
	p := &Plan{Bucket: "photos", Key: "a.jpg", Caller: carol, BucketOwner: acct, Transport: TransportHTTPS, SourceIP: "192.0.2.1", Steps: []mpu.Step{mpu.UploadPart}}
	rep := checkPlan(t, local, p, ProfileAWS)
	rm := rep.Steps[0].Remedy
	if rm == nil || len(rm.Add) != 2 || rm.Add[1].Policy != "bucket policy" {
		t.Fatalf("remedy %+v", rm)
	}
	var st map[string]any
	if err := json.Unmarshal(rm.Add[1].Statement, &st); err != nil || st["Principal"].(map[string]any)["AWS"] != carol {
		t.Fatalf("bucket statement %s", rm.Add[1].Statement)
	}
	if !strings.Contains(rm.Summary, "cross-account access needs both") {
		t.Errorf("summary %q", rm.Summary)
	}
}

func TestMalformedSuppliedPolicy(t *testing.T) {
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("mine.json", `{"Statement":{"Effect":"Allow","Action":"s3:PutObject"`)}}})
	_, err := New(local).Check(context.Background(), &Plan{Bucket: "b", Key: "k", Caller: alice})
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Policy != "mine.json" || !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("err %v", err)
	}
}

func TestLocalPermissionsBoundary(t *testing.T) {
	const b = "arn:aws:iam::111122223333:policy/boundary"
	boundaryDoc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:AbortMultipartUpload"],"Resource":"*"}]}`
	// The boundary is found through GetUser, not among the attached policies.
	f2 := &fakeIAM{boundary: b, user: map[string]string{"all": allowS3}}
	bk := &fakeBucket{ownership: s3types.ObjectOwnershipBucketOwnerEnforced}
	p := &Plan{Bucket: "photos", Key: "a.jpg", Caller: alice, BucketOwner: acct, Transport: TransportHTTPS, SourceIP: "192.0.2.1", Steps: []mpu.Step{mpu.Initiate, mpu.Abort, mpu.ListUploads}}
	iamWithBoundaryDoc := &boundaryIAM{fakeIAM: f2, doc: boundaryDoc}
	rep := checkPlan(t, NewLocal(LocalOptions{IAM: iamWithBoundaryDoc, S3: bk}), p, ProfileNoDefaults)
	if got := decisions(rep); got != "Initiate=allowed Abort=allowed ListUploads=implicitDeny" {
		t.Fatalf("decisions %s\n%s", got, rep)
	}
	// An unreadable boundary may deny anything: no Allow survives it.
	f3 := &fakeIAM{user: f2.user, fail: map[string]error{"GetUser": s3mem.AccessDenied("GetUser")}}
	rep = checkPlan(t, NewLocal(LocalOptions{IAM: f3, S3: bk}), p, ProfileNoDefaults)
	if got := decisions(rep); got != "Initiate=unknown Abort=unknown ListUploads=unknown" {
		t.Fatalf("unreadable boundary: %s", got)
	}
}

// boundaryIAM serves the boundary document through GetPolicyVersion.
type boundaryIAM struct {
	*fakeIAM
	doc string
}

func (b *boundaryIAM) GetPolicyVersion(_ context.Context, in *iam.GetPolicyVersionInput, _ ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error) {
	if err := b.rec("GetPolicyVersion"); err != nil {
		return nil, err
	}
	return &iam.GetPolicyVersionOutput{PolicyVersion: &iamtypes.PolicyVersion{Document: aws.String(url.PathEscape(b.doc))}}, nil
}
