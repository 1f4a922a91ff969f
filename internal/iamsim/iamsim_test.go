package iamsim

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/s3mpu/s3mpu/internal/policy"
)

func TestEntries(t *testing.T) {
	es := Entries(map[string][]string{
		"aws:EpochTime": {"1"}, "aws:CurrentTime": {"2026-11-27T00:00:00Z"}, "aws:SourceIp": {"192.0.2.1"},
		"aws:SecureTransport": {"true"}, "aws:ViaAWSService": {"true"}, "kms:EncryptionContextKeys": {"aws:s3:arn"},
		"s3:RequestObjectTagKeys": {"a", "b"}, "s3:x-amz-acl": {"private"}, "absent": nil,
	})
	var got []string
	for _, e := range es {
		got = append(got, *e.ContextKeyName+":"+string(e.ContextKeyType))
	}
	want := "aws:CurrentTime:date aws:EpochTime:numeric aws:SecureTransport:boolean aws:SourceIp:ip aws:ViaAWSService:boolean kms:EncryptionContextKeys:stringList s3:RequestObjectTagKeys:stringList s3:x-amz-acl:string"
	if !sort.StringsAreSorted(got) || strings.Join(got, " ") != want {
		t.Fatalf("entries\n%v\nwant\n%v", strings.Join(got, " "), want)
	}
}

// pager answers in pages of one result, one per action, and counts.
type pager struct {
	actions []string
	calls   int
	endless bool
	err     error
}

func (p *pager) SimulatePrincipalPolicy(_ context.Context, in *iam.SimulatePrincipalPolicyInput, _ ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error) {
	p.calls++
	if p.err != nil {
		return nil, p.err
	}
	i := 0
	if in.Marker != nil {
		fmt.Sscan(*in.Marker, &i)
	}
	out := &iam.SimulatePrincipalPolicyOutput{}
	if i < len(p.actions) {
		out.EvaluationResults = []iamtypes.EvaluationResult{{EvalActionName: aws.String(p.actions[i])}}
	}
	if i+1 < len(p.actions) || p.endless {
		out.IsTruncated, out.Marker = true, aws.String(fmt.Sprint(i+1))
	}
	return out, nil
}

func TestRunFollowsPages(t *testing.T) {
	p := &pager{actions: []string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}}
	pages := 0
	res, err := Run(context.Background(), p, &iam.SimulatePrincipalPolicyInput{}, func() { pages++ })
	if err != nil || len(res) != 3 || pages != 3 || p.calls != 3 {
		t.Fatalf("Run: %d results, %d pages counted, %d calls, %v", len(res), pages, p.calls, err)
	}
	for i, r := range res {
		if *r.EvalActionName != p.actions[i] {
			t.Errorf("result %d is %s", i, *r.EvalActionName)
		}
	}
}

func TestRunStops(t *testing.T) {
	if _, err := Run(context.Background(), &pager{endless: true}, &iam.SimulatePrincipalPolicyInput{}, nil); !errors.Is(err, ErrPagination) {
		t.Errorf("endless pages: %v", err)
	}
	boom := errors.New("AccessDenied")
	if _, err := Run(context.Background(), &pager{err: boom}, &iam.SimulatePrincipalPolicyInput{}, nil); !errors.Is(err, boom) {
		t.Errorf("failed call: %v", err)
	}
}

// TestSource: users and roles are simulated as themselves, a role session
// as its role (in its partition), and what the simulator cannot take not
// at all.
func TestSource(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:iam::111122223333:user/alice":                    "arn:aws:iam::111122223333:user/alice",
		"arn:aws:iam::111122223333:role/app":                      "arn:aws:iam::111122223333:role/app",
		"arn:aws:sts::111122223333:assumed-role/app/session-1":    "arn:aws:iam::111122223333:role/app",
		"arn:aws-cn:sts::111122223333:assumed-role/app/session-1": "arn:aws-cn:iam::111122223333:role/app",
		"arn:aws:iam::111122223333:root":                          "",
		"arn:aws:sts::111122223333:federated-user/bob":            "",
	} {
		p, err := policy.PrincipalFromARN(arn)
		if err != nil {
			t.Fatalf("%s: %v", arn, err)
		}
		if got := Source(p); got != want {
			t.Errorf("Source(%s) = %q, want %q", arn, got, want)
		}
	}
}
