// Package iamread reads a principal's identity policies through IAM: the
// inline and attached policies of a user, of the user's groups or of a
// role, and its permissions boundary. It only reads: it never evaluates a
// policy (package preflight does), never decides what a failed read means
// (its Sink does), and never changes anything in IAM.
package iamread

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// API is the part of the IAM API Read calls. *iam.Client satisfies it.
type API interface {
	GetUser(ctx context.Context, params *iam.GetUserInput, optFns ...func(*iam.Options)) (*iam.GetUserOutput, error)
	GetRole(ctx context.Context, params *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListUserPolicies(ctx context.Context, params *iam.ListUserPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error)
	GetUserPolicy(ctx context.Context, params *iam.GetUserPolicyInput, optFns ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error)
	ListAttachedUserPolicies(ctx context.Context, params *iam.ListAttachedUserPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error)
	ListGroupsForUser(ctx context.Context, params *iam.ListGroupsForUserInput, optFns ...func(*iam.Options)) (*iam.ListGroupsForUserOutput, error)
	ListGroupPolicies(ctx context.Context, params *iam.ListGroupPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListGroupPoliciesOutput, error)
	GetGroupPolicy(ctx context.Context, params *iam.GetGroupPolicyInput, optFns ...func(*iam.Options)) (*iam.GetGroupPolicyOutput, error)
	ListAttachedGroupPolicies(ctx context.Context, params *iam.ListAttachedGroupPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedGroupPoliciesOutput, error)
	ListRolePolicies(ctx context.Context, params *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRolePolicy(ctx context.Context, params *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	ListAttachedRolePolicies(ctx context.Context, params *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	GetPolicy(ctx context.Context, params *iam.GetPolicyInput, optFns ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(ctx context.Context, params *iam.GetPolicyVersionInput, optFns ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
}

var _ API = (*iam.Client)(nil)

// Kind is the kind of IAM principal whose policies are read.
type Kind string

// The kinds of principal Read reads. A group is read as part of its users.
const (
	User  Kind = "user"
	Group Kind = "group"
	Role  Kind = "role"
)

// Sink receives what Read finds, in the order it finds it.
type Sink struct {
	// Call is told of each request before it is made, by operation
	// ("iam:GetUser"). It may be nil.
	Call func(op string)
	// Policy receives one policy document's JSON, named for reports
	// ("user/alice/inline-name", "managed policy ARN", "permissions
	// boundary ARN"); boundary marks the permissions boundary.
	Policy func(name string, doc []byte, boundary bool)
	// Fail receives a read that failed, named by what was being read and
	// the operation ("inline policies of user alice
	// (iam:ListUserPolicies)"). A non-nil return ends Read with that
	// error; nil goes on with the next read.
	Fail func(source string, err error) error
}

// page is one page of an IAM listing: its items, the next marker, and
// whether there are more.
type page struct {
	items []string
	next  *string
	more  bool
}

// kindOps are the IAM operations that read one kind of principal.
type kindOps struct {
	// getOp reads the principal itself, for its permissions boundary; ""
	// when the kind has none (groups).
	getOp    string
	boundary func(ctx context.Context, api API, name string) (*iamtypes.AttachedPermissionsBoundary, error)
	// listInlineOp lists the names of its inline policies; getInlineOp
	// reads one.
	listInlineOp string
	listInline   func(ctx context.Context, api API, name string, marker *string) (page, error)
	getInlineOp  string
	getInline    func(ctx context.Context, api API, name, policy string) (*string, error)
	// listAttachedOp lists the ARNs of its attached managed policies.
	listAttachedOp string
	listAttached   func(ctx context.Context, api API, name string, marker *string) (page, error)
	// groupsOp lists the groups whose policies also apply (users only).
	groupsOp string
	groups   func(ctx context.Context, api API, name string, marker *string) (page, error)
}

// kinds is the one table of what is read for each kind of principal.
var kinds = map[Kind]kindOps{
	User: {
		getOp: "iam:GetUser",
		boundary: func(ctx context.Context, api API, name string) (*iamtypes.AttachedPermissionsBoundary, error) {
			u, err := api.GetUser(ctx, &iam.GetUserInput{UserName: &name})
			if err != nil || u.User == nil {
				return nil, err
			}
			return u.User.PermissionsBoundary, nil
		},
		listInlineOp: "iam:ListUserPolicies",
		listInline: func(ctx context.Context, api API, name string, m *string) (page, error) {
			r, err := api.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: &name, Marker: m})
			if err != nil {
				return page{}, err
			}
			return page{r.PolicyNames, r.Marker, r.IsTruncated}, nil
		},
		getInlineOp: "iam:GetUserPolicy",
		getInline: func(ctx context.Context, api API, name, policy string) (*string, error) {
			r, err := api.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: &name, PolicyName: &policy})
			if err != nil {
				return nil, err
			}
			return r.PolicyDocument, nil
		},
		listAttachedOp: "iam:ListAttachedUserPolicies",
		listAttached: func(ctx context.Context, api API, name string, m *string) (page, error) {
			r, err := api.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: &name, Marker: m})
			if err != nil {
				return page{}, err
			}
			return page{policyARNs(r.AttachedPolicies), r.Marker, r.IsTruncated}, nil
		},
		groupsOp: "iam:ListGroupsForUser",
		groups: func(ctx context.Context, api API, name string, m *string) (page, error) {
			r, err := api.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: &name, Marker: m})
			if err != nil {
				return page{}, err
			}
			var out []string
			for _, g := range r.Groups {
				if g.GroupName != nil {
					out = append(out, *g.GroupName)
				}
			}
			return page{out, r.Marker, r.IsTruncated}, nil
		},
	},
	Group: {
		listInlineOp: "iam:ListGroupPolicies",
		listInline: func(ctx context.Context, api API, name string, m *string) (page, error) {
			r, err := api.ListGroupPolicies(ctx, &iam.ListGroupPoliciesInput{GroupName: &name, Marker: m})
			if err != nil {
				return page{}, err
			}
			return page{r.PolicyNames, r.Marker, r.IsTruncated}, nil
		},
		getInlineOp: "iam:GetGroupPolicy",
		getInline: func(ctx context.Context, api API, name, policy string) (*string, error) {
			r, err := api.GetGroupPolicy(ctx, &iam.GetGroupPolicyInput{GroupName: &name, PolicyName: &policy})
			if err != nil {
				return nil, err
			}
			return r.PolicyDocument, nil
		},
		listAttachedOp: "iam:ListAttachedGroupPolicies",
		listAttached: func(ctx context.Context, api API, name string, m *string) (page, error) {
			r, err := api.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: &name, Marker: m})
			if err != nil {
				return page{}, err
			}
			return page{policyARNs(r.AttachedPolicies), r.Marker, r.IsTruncated}, nil
		},
	},
	Role: {
		getOp: "iam:GetRole",
		boundary: func(ctx context.Context, api API, name string) (*iamtypes.AttachedPermissionsBoundary, error) {
			r, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
			if err != nil || r.Role == nil {
				return nil, err
			}
			return r.Role.PermissionsBoundary, nil
		},
		listInlineOp: "iam:ListRolePolicies",
		listInline: func(ctx context.Context, api API, name string, m *string) (page, error) {
			r, err := api.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: &name, Marker: m})
			if err != nil {
				return page{}, err
			}
			return page{r.PolicyNames, r.Marker, r.IsTruncated}, nil
		},
		getInlineOp: "iam:GetRolePolicy",
		getInline: func(ctx context.Context, api API, name, policy string) (*string, error) {
			r, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &name, PolicyName: &policy})
			if err != nil {
				return nil, err
			}
			return r.PolicyDocument, nil
		},
		listAttachedOp: "iam:ListAttachedRolePolicies",
		listAttached: func(ctx context.Context, api API, name string, m *string) (page, error) {
			r, err := api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &name, Marker: m})
			if err != nil {
				return page{}, err
			}
			return page{policyARNs(r.AttachedPolicies), r.Marker, r.IsTruncated}, nil
		},
	},
}

func policyARNs(ps []iamtypes.AttachedPolicy) []string {
	var out []string
	for _, p := range ps {
		if p.PolicyArn != nil {
			out = append(out, *p.PolicyArn)
		}
	}
	return out
}

// reader is one Read.
type reader struct {
	ctx  context.Context
	api  API
	sink Sink
	// err is the error a Sink.Fail returned; once set, nothing more is read.
	err error
}

// Read reads the identity policies of the principal of the given kind
// (User or Role) and name, and its permissions boundary, into sink: for a
// user also the policies of its groups. It returns the error a
// Sink.Fail returned, or an error for a kind it cannot read.
func Read(ctx context.Context, api API, kind Kind, name string, sink Sink) error {
	if kind != User && kind != Role {
		return fmt.Errorf("iamread: the identity policies of a %s principal cannot be read through IAM", kind)
	}
	if sink.Call == nil {
		sink.Call = func(string) {}
	}
	r := &reader{ctx: ctx, api: api, sink: sink}
	r.principal(kind, name)
	return r.err
}

// fail hands a failed read to the sink and reports whether reading goes
// on.
func (r *reader) fail(source string, err error) bool {
	r.err = r.sink.Fail(source, err)
	return r.err == nil
}

// principal reads one principal: its boundary, inline and attached
// policies, then its groups'.
func (r *reader) principal(kind Kind, name string) {
	k := kinds[kind]
	if k.getOp != "" && !r.boundary(kind, name, k) {
		return
	}
	names, err := r.list(k.listInlineOp, name, k.listInline)
	if err != nil && !r.fail(fmt.Sprintf("inline policies of %s %s (%s)", kind, name, k.listInlineOp), err) {
		return
	}
	for _, n := range names {
		r.sink.Call(k.getInlineOp)
		doc, err := k.getInline(r.ctx, r.api, name, n)
		switch {
		case err != nil || doc == nil:
			if !r.fail(fmt.Sprintf("%s policy %s/%s (%s)", kind, name, n, k.getInlineOp), orMissing(err)) {
				return
			}
		case !r.policy(fmt.Sprintf("%s/%s/%s", kind, name, n), *doc, false):
			return
		}
	}
	arns, err := r.list(k.listAttachedOp, name, k.listAttached)
	if err != nil && !r.fail(fmt.Sprintf("managed policies of %s %s (%s)", kind, name, k.listAttachedOp), err) {
		return
	}
	for _, arn := range arns {
		if !r.managed(arn, "managed policy "+arn, false) {
			return
		}
	}
	if k.groupsOp == "" {
		return
	}
	groups, err := r.list(k.groupsOp, name, k.groups)
	if err != nil && !r.fail(fmt.Sprintf("groups of %s %s (%s)", kind, name, k.groupsOp), err) {
		return
	}
	for _, g := range groups {
		if r.principal(Group, g); r.err != nil {
			return
		}
	}
}

// boundary reads the principal's permissions boundary, if it has one, and
// reports whether reading goes on.
func (r *reader) boundary(kind Kind, name string, k kindOps) bool {
	r.sink.Call(k.getOp)
	b, err := k.boundary(r.ctx, r.api, name)
	switch {
	case err != nil:
		return r.fail(fmt.Sprintf("permissions boundary of %s %s (%s)", kind, name, k.getOp), err)
	case b == nil || b.PermissionsBoundaryArn == nil:
		return true
	}
	arn := *b.PermissionsBoundaryArn
	return r.managed(arn, "permissions boundary "+arn, true)
}

// managed reads the default version of a managed policy into the sink
// under name, and reports whether reading goes on.
func (r *reader) managed(arn, name string, boundary bool) bool {
	r.sink.Call("iam:GetPolicy")
	p, err := r.api.GetPolicy(r.ctx, &iam.GetPolicyInput{PolicyArn: &arn})
	if err != nil || p.Policy == nil || p.Policy.DefaultVersionId == nil {
		return r.fail("managed policy "+arn+" (iam:GetPolicy)", orMissing(err))
	}
	r.sink.Call("iam:GetPolicyVersion")
	v, err := r.api.GetPolicyVersion(r.ctx, &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: p.Policy.DefaultVersionId})
	if err != nil || v.PolicyVersion == nil || v.PolicyVersion.Document == nil {
		return r.fail("managed policy "+arn+" (iam:GetPolicyVersion)", orMissing(err))
	}
	return r.policy(name, *v.PolicyVersion.Document, boundary)
}

// policy decodes a document as IAM returns it and hands it to the sink; a
// document that is not JSON is a failed read of name. It reports whether
// reading goes on.
func (r *reader) policy(name, text string, boundary bool) bool {
	doc, err := decode(text)
	if err != nil {
		return r.fail(name, err)
	}
	r.sink.Policy(name, doc, boundary)
	return true
}

// list collects a Marker-paginated IAM listing, counting each page as a
// call of op.
func (r *reader) list(op, name string, fetch func(context.Context, API, string, *string) (page, error)) ([]string, error) {
	var out []string
	var marker *string
	for i := 0; i < 1000; i++ {
		r.sink.Call(op)
		p, err := fetch(r.ctx, r.api, name, marker)
		if err != nil {
			return out, err
		}
		out = append(out, p.items...)
		if !p.more || p.next == nil || *p.next == "" {
			return out, nil
		}
		marker = p.next
	}
	return out, errors.New("listing did not end after 1000 pages")
}

// decode returns the JSON of a policy document as IAM returns it:
// URL-encoded (RFC 3986) by AWS, sometimes plain on other servers.
func decode(s string) ([]byte, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") {
		return []byte(t), nil
	}
	d, err := url.PathUnescape(t)
	if err != nil {
		return nil, fmt.Errorf("policy document is neither JSON nor URL-encoded JSON: %w", err)
	}
	return []byte(d), nil
}

func orMissing(err error) error {
	if err != nil {
		return err
	}
	return errors.New("the reply holds no document")
}
