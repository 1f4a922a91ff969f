package kmsperm_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
)

func TestParseKey(t *testing.T) {
	for _, c := range []struct {
		in                     string
		arn, alias, acct, id   string
		def, managed, wantFail bool
	}{
		{in: "", alias: "alias/aws/s3", acct: acctA, def: true, managed: true},
		{in: keyID, arn: "arn:aws:kms:us-east-1:" + acctB + ":key/" + keyID, acct: acctB, id: keyID},
		{in: keyARN, arn: keyARN, acct: acctA, id: keyID},
		{in: "alias/uploads", alias: "alias/uploads", acct: acctB},
		{in: "arn:aws:kms:us-east-1:" + acctA + ":alias/uploads", alias: "alias/uploads", acct: acctA},
		{in: "alias/aws/s3", alias: "alias/aws/s3", acct: acctB, managed: true},
		{in: "mrk-1234abcd12ab34cd56ef1234567890ab", arn: "arn:aws:kms:us-east-1:" + acctB + ":key/mrk-1234abcd12ab34cd56ef1234567890ab", acct: acctB, id: "mrk-1234abcd12ab34cd56ef1234567890ab"},
		{in: "arn:aws:kms:eu-west-1:" + acctA + ":key/" + keyID, wantFail: true}, // another Region
		{in: "arn:aws:s3:::bucket", wantFail: true},
		{in: "not a key", wantFail: true},
		{in: "arn:aws:kms:us-east-1:" + acctA + ":grant/xyz", wantFail: true},
	} {
		// The requester is in account B; the bucket belongs to A.
		k, err := kmsperm.ParseKey(c.in, region, acctB, acctA, "")
		if c.wantFail {
			if !errors.Is(err, mpu.ErrInvalidInput) {
				t.Errorf("ParseKey(%q) err = %v, want ErrInvalidInput", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseKey(%q): %v", c.in, err)
			continue
		}
		if k.ARN != c.arn || k.Alias != c.alias || k.Account != c.acct || k.ID != c.id || k.Default != c.def || k.AWSManaged != c.managed {
			t.Errorf("ParseKey(%q) = %+v", c.in, k)
		}
	}
	if _, err := kmsperm.ParseKey(keyID, "nowhere", acctA, "", ""); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Errorf("bad Region accepted: %v", err)
	}
	if _, err := kmsperm.ParseKey(keyID, region, "12", "", ""); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Errorf("bad account accepted: %v", err)
	}
}

func TestRequirements(t *testing.T) {
	got := map[mpu.Step][]string{}
	for _, s := range mpu.AllSteps {
		for _, r := range kmsperm.Requirements(s, kmsperm.RequirementOptions{Checksums: true, SourceKMS: true}) {
			if r.Step != s || r.Why == "" || !strings.HasPrefix(r.Doc, "https://docs.aws.amazon.com/") {
				t.Errorf("requirement %+v", r)
			}
			got[s] = append(got[s], r.Action+"@"+r.Key.String())
		}
	}
	want := map[mpu.Step][]string{
		mpu.Initiate:       {"kms:GenerateDataKey@target"},
		mpu.UploadPart:     {"kms:Decrypt@target", "kms:GenerateDataKey@target"},
		mpu.UploadPartCopy: {"kms:Decrypt@target", "kms:GenerateDataKey@target", "kms:Decrypt@source"},
		mpu.Complete:       {"kms:Decrypt@target", "kms:GenerateDataKey@target"},
		mpu.ListParts:      {"kms:Decrypt@target"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requirements = %v\nwant %v", got, want)
	}
	// Without checksums Complete needs only Decrypt; without an SSE-KMS
	// source the copy needs nothing on a source key.
	if n := len(kmsperm.Requirements(mpu.Complete, kmsperm.RequirementOptions{})); n != 1 {
		t.Errorf("Complete without checksums: %d requirements", n)
	}
	if n := len(kmsperm.Requirements(mpu.UploadPartCopy, kmsperm.RequirementOptions{})); n != 2 {
		t.Errorf("UploadPartCopy without a KMS source: %d requirements", n)
	}
	if r := kmsperm.Requirements(mpu.Step(99), kmsperm.RequirementOptions{}); r != nil {
		t.Errorf("unknown step: %v", r)
	}
}

func TestRequestContext(t *testing.T) {
	k, err := kmsperm.ParseKey(keyARN, region, acctA, "", "")
	if err != nil {
		t.Fatal(err)
	}
	o := kmsperm.Object{Bucket: bucket, Key: objKey, EncryptionContext: map[string]string{"project": "alpha"}}
	ctx := kmsperm.RequestContext(o, k, region, acctB)
	want := map[string][]string{
		"kms:ViaService":                   {"s3.us-east-1.amazonaws.com"},
		"kms:CallerAccount":                {acctB},
		"kms:EncryptionContext:aws:s3:arn": {"arn:aws:s3:::" + bucket + "/" + objKey},
		"kms:EncryptionContext:project":    {"alpha"},
		"kms:EncryptionContextKeys":        {"aws:s3:arn", "project"},
		"kms:EncryptionAlgorithm":          {"SYMMETRIC_DEFAULT"},
		"aws:ViaAWSService":                {"true"},
		"aws:RequestedRegion":              {region},
	}
	if !reflect.DeepEqual(ctx, want) {
		t.Errorf("context = %v\nwant %v", ctx, want)
	}
	o.BucketKeyEnabled = true
	if got := kmsperm.RequestContext(o, k, region, acctB)["kms:EncryptionContext:aws:s3:arn"]; !reflect.DeepEqual(got, []string{"arn:aws:s3:::" + bucket}) {
		t.Errorf("Bucket Key context = %v, want the bucket ARN", got)
	}
	if got := kmsperm.ViaService("cn-north-1", "aws-cn"); got != "s3.cn-north-1.amazonaws.com.cn" {
		t.Errorf("China ViaService = %s", got)
	}
}

func TestStatements(t *testing.T) {
	got := string(kmsperm.KeyPolicyStatement(alice, []string{"kms:GenerateDataKey", "kms:Decrypt"}, "s3.us-east-1.amazonaws.com"))
	want := `{"Sid":"AllowS3MultipartUploadWithThisKey","Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":["kms:Decrypt","kms:GenerateDataKey"],"Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}`
	if got != want {
		t.Errorf("KeyPolicyStatement = %s", got)
	}
	got = string(kmsperm.IdentityStatement(keyARN, []string{"kms:Decrypt"}, ""))
	want = `{"Sid":"AllowS3MultipartUploadWithKey","Effect":"Allow","Action":"kms:Decrypt","Resource":"` + keyARN + `"}`
	if got != want {
		t.Errorf("IdentityStatement = %s", got)
	}
}

func TestDecisionText(t *testing.T) {
	for _, d := range []mpu.Decision{mpu.Unknown, mpu.Allowed, mpu.ExplicitDeny, mpu.ImplicitDeny} {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back mpu.Decision
		if err := json.Unmarshal(b, &back); err != nil || back != d {
			t.Errorf("%s round trip: %s, %v", d, back, err)
		}
	}
	var zero mpu.Decision
	if zero != mpu.Unknown {
		t.Error("the zero Decision is not Unknown")
	}
	if _, err := mpu.Decision(42).MarshalText(); err == nil {
		t.Error("invalid decision marshalled")
	}
	var d mpu.Decision
	if err := d.UnmarshalText([]byte("maybe")); err == nil {
		t.Error("unknown decision text accepted")
	}
}

func TestCheckInvalidInput(t *testing.T) {
	good := baseInput(keyARN)
	good.KeyPolicy = []byte(kpProgrammatic)
	for name, mutate := range map[string]func(*kmsperm.Input){
		"bad caller":     func(in *kmsperm.Input) { in.Caller = "alice" },
		"service caller": func(in *kmsperm.Input) { in.Caller = "s3.amazonaws.com" },
		"no bucket":      func(in *kmsperm.Input) { in.Object.Bucket = "" },
		"bad region":     func(in *kmsperm.Input) { in.Region = "mars" },
		"key in other region": func(in *kmsperm.Input) {
			in.KMSKeyID = "arn:aws:kms:eu-west-1:" + acctA + ":key/" + keyID
		},
		"bad key policy":      func(in *kmsperm.Input) { in.KeyPolicy = []byte(`{"Statement":"nope"}`) },
		"bad identity policy": func(in *kmsperm.Input) { in.Identity = []mpu.PolicyDocument{{Name: "x", JSON: []byte(`[`)}} },
		"unknown step":        func(in *kmsperm.Input) { in.Steps = []mpu.Step{mpu.Step(42)} },
		"copy source without object": func(in *kmsperm.Input) {
			in.CopySource = &kmsperm.CopySource{KMSKeyID: srcKeyARN}
		},
		"target key with TargetNotKMS": func(in *kmsperm.Input) {
			in.TargetNotKMS = true
			in.KeyPolicy = nil
		},
		"target key policy with TargetNotKMS": func(in *kmsperm.Input) {
			in.TargetNotKMS, in.KMSKeyID = true, ""
		},
		"bad region with TargetNotKMS": func(in *kmsperm.Input) {
			in.TargetNotKMS, in.KMSKeyID, in.KeyPolicy, in.Region = true, "", nil, "mars"
		},
	} {
		in := good
		mutate(&in)
		rep, err := kmsperm.New(nil).Check(context.Background(), in)
		if !errors.Is(err, mpu.ErrInvalidInput) || rep != nil {
			t.Errorf("%s: err = %v, report %v", name, err, rep != nil)
			continue
		}
		var e *kmsperm.Error
		if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "kmsperm: ") {
			t.Errorf("%s: err %T %q", name, err, err)
		}
	}
}

// A target that is not SSE-KMS encrypted (SSE-S3 or none) copying from an
// SSE-KMS source needs kms:Decrypt on the source key at UploadPartCopy and
// nothing on any target key: no aws/s3 key is assumed.
func TestCheckTargetNotKMS(t *testing.T) {
	// Requirements keep only the source key's.
	ropts := kmsperm.RequirementOptions{Checksums: true, SourceKMS: true, TargetNotKMS: true}
	for _, s := range mpu.AllSteps {
		var got []string
		for _, r := range kmsperm.Requirements(s, ropts) {
			got = append(got, r.Action+"@"+r.Key.String())
		}
		var want []string
		if s == mpu.UploadPartCopy {
			want = []string{"kms:Decrypt@source"}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s requirements with TargetNotKMS = %v, want %v", s, got, want)
		}
	}

	// The source key of account B, whose policy names only account B.
	srcOwnerOnly := `{"Version": "2012-10-17", "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
  "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "kms:*", "Resource": "*"}]}`
	input := func(srcPolicy string) kmsperm.Input {
		return kmsperm.Input{
			Caller:       alice,
			Region:       region,
			Object:       kmsperm.Object{Bucket: bucket, Key: objKey},
			TargetNotKMS: true,
			Identity:     []mpu.PolicyDocument{{Name: "alice-source", JSON: []byte(idSourceKey)}},
			CopySource: &kmsperm.CopySource{Object: kmsperm.Object{Bucket: "source-bucket", Key: "big.bin"},
				KMSKeyID: srcKeyARN, Account: acctB, KeyPolicy: []byte(srcPolicy)},
		}
	}
	check := func(in kmsperm.Input, optFns ...func(*kmsperm.Options)) *kmsperm.Report {
		t.Helper()
		rep, err := kmsperm.New(nil, optFns...).Check(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Keys) != 1 || rep.Keys[0].Role != kmsperm.SourceKey || rep.Keys[0].Key.ARN != srcKeyARN {
			t.Errorf("keys = %s, want only the source key", dump(rep.Keys))
		}
		if len(rep.Rows) != len(mpu.AllSteps) {
			t.Errorf("%d rows, want one per step", len(rep.Rows))
		}
		for _, row := range rep.Rows {
			for _, a := range row.Actions {
				if a.Key != kmsperm.SourceKey || row.Step != mpu.UploadPartCopy {
					t.Errorf("%s row has %s on the %s key %s", row.Step, a.Action, a.Key, a.KeyARN)
				}
			}
			if row.Step != mpu.UploadPartCopy && (len(row.Actions) != 0 || row.Decision != mpu.Allowed) {
				t.Errorf("%s row = %s, want allowed without actions", row.Step, dump(row))
			}
		}
		if len(rep.Seed.Actions) != 0 || rep.Seed.Decision != mpu.Allowed || len(rep.Seed.Reasons) == 0 {
			t.Errorf("seed row = %s, want no actions", dump(rep.Seed))
		}
		return rep
	}

	rep := check(input(kpSourceExternal))
	row, _ := rep.Row(mpu.UploadPartCopy)
	if row.Decision != mpu.Allowed || len(row.Actions) != 1 || row.Actions[0].Action != kmsperm.ActionDecrypt || row.Actions[0].KeyARN != srcKeyARN {
		t.Errorf("UploadPartCopy with the source key allowing = %s", dump(row))
	}
	// RequireSeedActions adds nothing: there is no target key.
	rep = check(input(kpSourceExternal), func(o *kmsperm.Options) { o.RequireSeedActions = true })
	if row, _ := rep.Row(mpu.Initiate); len(row.Actions) != 0 {
		t.Errorf("Initiate with RequireSeedActions = %s", dump(row))
	}

	rep = check(input(srcOwnerOnly))
	row, _ = rep.Row(mpu.UploadPartCopy)
	if row.Decision != mpu.ImplicitDeny || len(row.Actions) != 1 || row.Actions[0].Key != kmsperm.SourceKey {
		t.Fatalf("UploadPartCopy with the source key not allowing = %s", dump(row))
	}
	found := false
	_, add := remedyParts(row)
	for _, m := range add {
		if m.Policy == "key policy of "+srcKeyARN && m.Account == acctB && strings.Contains(string(m.Statement), `"kms:Decrypt"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no key policy remedy on %s with kms:Decrypt: %s", srcKeyARN, dump(row.Remedy))
	}
	if rep.Decision() != mpu.ImplicitDeny {
		t.Errorf("report decision %s", rep.Decision())
	}

	// Nothing to check without an SSE-KMS source.
	in := input(kpSourceExternal)
	in.CopySource.KMSKeyID = ""
	rep, err := kmsperm.New(nil).Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Keys) != 0 || rep.Decision() != mpu.Allowed || len(rep.Seed.Actions) != 0 {
		t.Errorf("no SSE-KMS source: %s", dump(rep))
	}
}

func TestCheckStepsAndReportJSON(t *testing.T) {
	in := baseInput(keyARN)
	in.KeyPolicy = []byte(kpProgrammatic)
	in.Steps = []mpu.Step{mpu.Complete, mpu.Initiate}
	rep, err := kmsperm.New(nil).Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].Step != mpu.Complete || rep.Rows[1].Step != mpu.Initiate {
		t.Fatalf("rows = %s", dump(rep.Rows))
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"step":"Complete"`, `"decision":"allowed"`, `"key":"target"`, `"policy_source":"supplied"`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("report JSON lacks %s", s)
		}
	}
	if strings.Contains(string(b), "wJalr") {
		t.Error("a secret leaked into the report")
	}
}

func TestCheckConcurrent(t *testing.T) {
	c := kmsperm.New(nil)
	in := baseInput(keyARN)
	in.KeyPolicy = []byte(kpConsole)
	done := make(chan mpu.Decision, 8)
	for i := 0; i < 8; i++ {
		go func() {
			rep, err := c.Check(context.Background(), in)
			if err != nil {
				done <- mpu.Unknown
				return
			}
			done <- rep.Decision()
		}()
	}
	for i := 0; i < 8; i++ {
		if d := <-done; d != mpu.Allowed {
			t.Errorf("concurrent check %d: %s", i, d)
		}
	}
}
