package preflight

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
)

// noKMS answers every KMS call with AccessDenied; supplied key policies
// make the calls unnecessary for full key ARNs.
type noKMS struct{ calls int }

func (n *noKMS) DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	n.calls++
	return nil, s3mem.APIError("DescribeKey", 400, "AccessDeniedException", "no")
}
func (n *noKMS) GetKeyPolicy(context.Context, *kms.GetKeyPolicyInput, ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	n.calls++
	return nil, s3mem.APIError("GetKeyPolicy", 400, "AccessDeniedException", "no")
}

const keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func kmsReport(t *testing.T, keyPolicy string) *Report {
	t.Helper()
	put := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],"Resource":"*"}]}`
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("put", put)}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}})
	c := New(local, func(o *Options) {
		o.KMS = kmsperm.New(&noKMS{}, func(ko *kmsperm.Options) {
			ko.KeyPolicy = []byte(keyPolicy)
			ko.Identity = []mpu.PolicyDocument{doc("put", put)}
		})
	})
	rep, err := c.Check(context.Background(), &Plan{Bucket: "photos", Key: "a.jpg", Caller: alice, BucketOwner: acct, Region: "us-east-1",
		SSE: SSE{Algorithm: "aws:kms", KMSKeyID: keyARN}, Transport: TransportHTTPS, SourceIP: "192.0.2.1",
		Steps: []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete, mpu.Abort}})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestReportKMSRows(t *testing.T) {
	onlyGenerate := `{"Version":"2012-10-17","Statement":[{"Sid":"Gen","Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kms:GenerateDataKey","Resource":"*"}]}`
	rep := kmsReport(t, onlyGenerate)
	if len(rep.KMS) == 0 {
		t.Fatalf("no KMS rows\n%s", rep)
	}
	var up *KMSRow
	for i := range rep.KMS {
		if rep.KMS[i].Step == mpu.UploadPart {
			up = &rep.KMS[i]
		}
	}
	if up == nil || !up.Decision.Denied() || !strings.Contains(strings.Join(up.Actions, ","), "kms:Decrypt") || up.Resources[0] != keyARN {
		t.Fatalf("UploadPart KMS row %+v", up)
	}
	if rep.OK() {
		t.Error("report with a denied KMS row is OK")
	}
	blocking := map[mpu.Step]bool{}
	for _, s := range rep.Blocking() {
		blocking[s.Step] = true
	}
	if !blocking[mpu.UploadPart] || blocking[mpu.Abort] {
		t.Errorf("blocking %v", blocking)
	}
	all := `{"Version":"2012-10-17","Statement":[{"Sid":"Use","Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kms:*","Resource":"*"}]}`
	if rep := kmsReport(t, all); !rep.OK() {
		t.Errorf("all KMS actions allowed, report not OK:\n%s", rep)
	}
}

func TestReportJSONShape(t *testing.T) {
	rep := kmsReport(t, `{"Version":"2012-10-17","Statement":[]}`)
	rep.Gaps = []mpu.Gap{{Source: "bucket policy", Error: "AccessDenied"}}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"caller", "bucket", "key", "profile", "steps", "kms", "gaps"} {
		if _, ok := m[k]; !ok {
			t.Errorf("report JSON lacks %q: %s", k, data)
		}
	}
	steps := m["steps"].([]any)
	for _, s := range steps {
		step := s.(map[string]any)
		for _, k := range []string{"step", "actions", "resources", "decision", "evaluator", "reasons", "remedy", "checks"} {
			if _, ok := step[k]; !ok {
				t.Errorf("step JSON lacks %q: %v", k, step)
			}
		}
		switch step["decision"] {
		case "allowed", "explicitDeny", "implicitDeny", "unknown":
		default:
			t.Errorf("decision %v", step["decision"])
		}
		if _, err := mpu.ParseStep(step["step"].(string)); err != nil {
			t.Error(err)
		}
		if _, ok := step["reasons"].([]any); !ok {
			t.Errorf("reasons is not an array: %v", step["reasons"])
		}
	}
	row := m["kms"].([]any)[0].(map[string]any)
	for _, k := range []string{"step", "actions", "resources", "decision", "evaluator", "reasons"} {
		if _, ok := row[k]; !ok {
			t.Errorf("kms row lacks %q: %v", k, row)
		}
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("report JSON does not read back: %v", err)
	}
	if len(back.Steps) != len(rep.Steps) || back.Steps[3].Step != mpu.Abort || back.Steps[0].Decision != rep.Steps[0].Decision || back.Profile != rep.Profile {
		t.Errorf("read back %+v", back.Steps)
	}
}

func TestReportText(t *testing.T) {
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("put", putOnly)}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}})
	rep := checkPlan(t, local, &Plan{Bucket: "photos", Key: "a.jpg", Caller: alice, Transport: TransportHTTPS, SourceIP: "192.0.2.1",
		CopySource: &CopySource{Bucket: "src", Key: "o"}}, ProfileAWS)
	rep.Leftover = []string{"upload-1"}
	text := rep.String()
	for _, want := range []string{
		"STEP", "DECISION", "BY", "ACTION", "RESOURCE",
		"allowed (default)",
		"s3:GetObject",
		"fix: allowed only by S3's owner-or-initiator default",
		"UploadPartCopy: unknown",
		"gap: bucket policy of src could not be read",
		"note: bucket owner not known",
		"warning: probe upload upload-1 could not be removed",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

// fakeSTS answers GetCallerIdentity.
type fakeSTS struct {
	arn string
	err error
}

func (f fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sts.GetCallerIdentityOutput{Arn: &f.arn}, nil
}

func TestFindCaller(t *testing.T) {
	session := "arn:aws:sts::111122223333:assumed-role/ci/run-9"
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("all", allowS3)}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}})
	c := New(local, func(o *Options) { o.STS = fakeSTS{arn: session} })
	rep, err := c.Check(context.Background(), &Plan{Bucket: "photos", Key: "a", BucketOwner: acct, Transport: TransportHTTPS, SourceIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Caller != session || rep.APICalls["sts:GetCallerIdentity"] != 1 || !rep.OK() {
		t.Fatalf("caller %s calls %v ok %v", rep.Caller, rep.APICalls, rep.OK())
	}
	_, err = New(local, func(o *Options) { o.STS = fakeSTS{err: s3mem.AccessDenied("GetCallerIdentity")} }).Check(context.Background(), &Plan{Bucket: "photos", Key: "a"})
	if !errors.Is(err, mpu.ErrPermissionDenied) {
		t.Fatalf("denied STS: %v", err)
	}
	if _, err := New(local).Check(context.Background(), &Plan{Bucket: "photos", Key: "a"}); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("no STS: %v", err)
	}
	if _, err := New(nil).Check(context.Background(), &Plan{Bucket: "photos", Key: "a", Caller: alice}); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("no evaluator: %v", err)
	}
}
