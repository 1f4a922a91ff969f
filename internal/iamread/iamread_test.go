package iamread

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// fake answers from maps; a name in fail makes the call on it fail.
// Listings come one item per page, to exercise the pagination.
type fake struct {
	API
	inline   map[string][]string // "user/alice" -> inline policy names
	attached map[string][]string // "user/alice" -> ARNs
	groups   []string
	boundary string
	fail     map[string]bool // operation -> fails
}

var errDenied = errors.New("AccessDenied")

func (f *fake) check(op string) error {
	if f.fail[op] {
		return errDenied
	}
	return nil
}

// one returns the page of items at marker (an index), one item per page.
func one(items []string, m *string) ([]string, *string, bool) {
	i := 0
	if m != nil {
		fmt.Sscan(*m, &i)
	}
	if i >= len(items) {
		return nil, nil, false
	}
	return items[i : i+1], aws.String(fmt.Sprint(i + 1)), i+1 < len(items)
}

func attachedOf(arns []string) []iamtypes.AttachedPolicy {
	var out []iamtypes.AttachedPolicy
	for _, a := range arns {
		out = append(out, iamtypes.AttachedPolicy{PolicyArn: aws.String(a)})
	}
	return out
}

func doc(name string) *string {
	return aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"` + name + `","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
}

func (f *fake) GetUser(_ context.Context, in *iam.GetUserInput, _ ...func(*iam.Options)) (*iam.GetUserOutput, error) {
	if err := f.check("GetUser"); err != nil {
		return nil, err
	}
	u := &iamtypes.User{UserName: in.UserName}
	if f.boundary != "" {
		u.PermissionsBoundary = &iamtypes.AttachedPermissionsBoundary{PermissionsBoundaryArn: aws.String(f.boundary)}
	}
	return &iam.GetUserOutput{User: u}, nil
}

func (f *fake) GetRole(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	if err := f.check("GetRole"); err != nil {
		return nil, err
	}
	return &iam.GetRoleOutput{Role: &iamtypes.Role{RoleName: in.RoleName}}, nil
}

func (f *fake) ListUserPolicies(_ context.Context, in *iam.ListUserPoliciesInput, _ ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error) {
	if err := f.check("ListUserPolicies"); err != nil {
		return nil, err
	}
	items, next, more := one(f.inline["user/"+*in.UserName], in.Marker)
	return &iam.ListUserPoliciesOutput{PolicyNames: items, Marker: next, IsTruncated: more}, nil
}

func (f *fake) GetUserPolicy(_ context.Context, in *iam.GetUserPolicyInput, _ ...func(*iam.Options)) (*iam.GetUserPolicyOutput, error) {
	return &iam.GetUserPolicyOutput{PolicyDocument: doc(*in.PolicyName)}, f.check("GetUserPolicy")
}

func (f *fake) ListAttachedUserPolicies(_ context.Context, in *iam.ListAttachedUserPoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error) {
	items, next, more := one(f.attached["user/"+*in.UserName], in.Marker)
	return &iam.ListAttachedUserPoliciesOutput{AttachedPolicies: attachedOf(items), Marker: next, IsTruncated: more}, f.check("ListAttachedUserPolicies")
}

func (f *fake) ListGroupsForUser(_ context.Context, in *iam.ListGroupsForUserInput, _ ...func(*iam.Options)) (*iam.ListGroupsForUserOutput, error) {
	items, next, more := one(f.groups, in.Marker)
	var gs []iamtypes.Group
	for _, g := range items {
		gs = append(gs, iamtypes.Group{GroupName: aws.String(g)})
	}
	return &iam.ListGroupsForUserOutput{Groups: gs, Marker: next, IsTruncated: more}, f.check("ListGroupsForUser")
}

func (f *fake) ListGroupPolicies(_ context.Context, in *iam.ListGroupPoliciesInput, _ ...func(*iam.Options)) (*iam.ListGroupPoliciesOutput, error) {
	items, next, more := one(f.inline["group/"+*in.GroupName], in.Marker)
	return &iam.ListGroupPoliciesOutput{PolicyNames: items, Marker: next, IsTruncated: more}, f.check("ListGroupPolicies")
}

func (f *fake) GetGroupPolicy(_ context.Context, in *iam.GetGroupPolicyInput, _ ...func(*iam.Options)) (*iam.GetGroupPolicyOutput, error) {
	return &iam.GetGroupPolicyOutput{PolicyDocument: aws.String("%7B%22Version%22%3A%222012-10-17%22%7D")}, f.check("GetGroupPolicy")
}

func (f *fake) ListAttachedGroupPolicies(_ context.Context, in *iam.ListAttachedGroupPoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedGroupPoliciesOutput, error) {
	items, next, more := one(f.attached["group/"+*in.GroupName], in.Marker)
	return &iam.ListAttachedGroupPoliciesOutput{AttachedPolicies: attachedOf(items), Marker: next, IsTruncated: more}, f.check("ListAttachedGroupPolicies")
}

func (f *fake) ListRolePolicies(_ context.Context, in *iam.ListRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error) {
	items, next, more := one(f.inline["role/"+*in.RoleName], in.Marker)
	return &iam.ListRolePoliciesOutput{PolicyNames: items, Marker: next, IsTruncated: more}, f.check("ListRolePolicies")
}

func (f *fake) GetRolePolicy(_ context.Context, in *iam.GetRolePolicyInput, _ ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error) {
	return &iam.GetRolePolicyOutput{PolicyDocument: doc(*in.PolicyName)}, f.check("GetRolePolicy")
}

func (f *fake) ListAttachedRolePolicies(_ context.Context, in *iam.ListAttachedRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error) {
	items, next, more := one(f.attached["role/"+*in.RoleName], in.Marker)
	return &iam.ListAttachedRolePoliciesOutput{AttachedPolicies: attachedOf(items), Marker: next, IsTruncated: more}, f.check("ListAttachedRolePolicies")
}

func (f *fake) GetPolicy(_ context.Context, in *iam.GetPolicyInput, _ ...func(*iam.Options)) (*iam.GetPolicyOutput, error) {
	return &iam.GetPolicyOutput{Policy: &iamtypes.Policy{Arn: in.PolicyArn, DefaultVersionId: aws.String("v1")}}, f.check("GetPolicy")
}

func (f *fake) GetPolicyVersion(_ context.Context, in *iam.GetPolicyVersionInput, _ ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error) {
	return &iam.GetPolicyVersionOutput{PolicyVersion: &iamtypes.PolicyVersion{Document: doc(*in.PolicyArn)}}, f.check("GetPolicyVersion")
}

// record reads and returns what the sink saw, one line per event.
func record(t *testing.T, api API, kind Kind, name string, stopAt string) ([]string, map[string]int, error) {
	t.Helper()
	var seen []string
	calls := map[string]int{}
	err := Read(context.Background(), api, kind, name, Sink{
		Call: func(op string) { calls[op]++ },
		Policy: func(name string, doc []byte, boundary bool) {
			if !strings.HasPrefix(string(doc), "{") {
				t.Errorf("policy %s: not decoded JSON: %s", name, doc)
			}
			seen = append(seen, fmt.Sprintf("policy %s boundary=%v", name, boundary))
		},
		Fail: func(src string, err error) error {
			seen = append(seen, "fail "+src)
			if stopAt != "" && strings.Contains(src, stopAt) {
				return fmt.Errorf("stopped at %s: %w", src, err)
			}
			return nil
		},
	})
	return seen, calls, err
}

func TestReadUser(t *testing.T) {
	f := &fake{
		inline:   map[string][]string{"user/alice": {"a", "b"}, "group/dev": {"g"}},
		attached: map[string][]string{"user/alice": {"arn:aws:iam::1:policy/m"}, "group/ops": {"arn:aws:iam::1:policy/o"}},
		groups:   []string{"dev", "ops"},
		boundary: "arn:aws:iam::1:policy/bound",
	}
	seen, calls, err := record(t, f, User, "alice", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"policy permissions boundary arn:aws:iam::1:policy/bound boundary=true",
		"policy user/alice/a boundary=false",
		"policy user/alice/b boundary=false",
		"policy managed policy arn:aws:iam::1:policy/m boundary=false",
		"policy group/dev/g boundary=false",
		"policy managed policy arn:aws:iam::1:policy/o boundary=false",
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("read:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	wantCalls := map[string]int{
		"iam:GetUser": 1, "iam:ListUserPolicies": 2, "iam:GetUserPolicy": 2,
		"iam:ListAttachedUserPolicies": 1, "iam:GetPolicy": 3, "iam:GetPolicyVersion": 3,
		"iam:ListGroupsForUser": 2, "iam:ListGroupPolicies": 2, "iam:GetGroupPolicy": 1,
		"iam:ListAttachedGroupPolicies": 2,
	}
	if !reflect.DeepEqual(calls, wantCalls) {
		t.Errorf("calls %v, want %v", calls, wantCalls)
	}
}

func TestReadRoleFailures(t *testing.T) {
	f := &fake{
		inline:   map[string][]string{"role/r": {"x"}},
		attached: map[string][]string{"role/r": {"arn:aws:iam::1:policy/m"}},
		fail:     map[string]bool{"GetRole": true, "GetRolePolicy": true},
	}
	seen, _, err := record(t, f, Role, "r", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"fail permissions boundary of role r (iam:GetRole)",
		"fail role policy r/x (iam:GetRolePolicy)",
		"policy managed policy arn:aws:iam::1:policy/m boundary=false",
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("read:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

// TestReadStops: a Fail that returns an error ends the reading at once,
// whichever read failed, and Read returns that error.
func TestReadStops(t *testing.T) {
	ops := []string{"GetUser", "ListUserPolicies", "GetUserPolicy", "ListAttachedUserPolicies", "GetPolicy", "GetPolicyVersion", "ListGroupsForUser", "ListGroupPolicies", "GetGroupPolicy", "ListAttachedGroupPolicies"}
	for _, op := range ops {
		f := &fake{
			inline:   map[string][]string{"user/u": {"a"}, "group/g": {"b"}},
			attached: map[string][]string{"user/u": {"arn:aws:iam::1:policy/m"}, "group/g": {"arn:aws:iam::1:policy/n"}},
			groups:   []string{"g"},
			fail:     map[string]bool{op: true},
		}
		seen, _, err := record(t, f, User, "u", "(iam:"+op+")")
		if !errors.Is(err, errDenied) {
			t.Errorf("%s fails: Read returned %v", op, err)
			continue
		}
		if last := seen[len(seen)-1]; !strings.HasPrefix(last, "fail ") || !strings.HasSuffix(last, "(iam:"+op+")") {
			t.Errorf("%s fails: read went on after the stop: %v", op, seen)
		}
	}
}

func TestReadOtherKinds(t *testing.T) {
	for _, k := range []Kind{Group, "federated"} {
		if err := Read(context.Background(), &fake{}, k, "x", Sink{}); err == nil {
			t.Errorf("Read(%s) = nil, want an error", k)
		}
	}
}
