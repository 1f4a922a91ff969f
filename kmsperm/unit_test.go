package kmsperm_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/internal/mpu"
	"github.com/s3mpu/s3mpu/kmsperm"
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
			if !errors.Is(err, kmsperm.ErrInvalidInput) {
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
	if _, err := kmsperm.ParseKey(keyID, "nowhere", acctA, "", ""); !errors.Is(err, kmsperm.ErrInvalidInput) {
		t.Errorf("bad Region accepted: %v", err)
	}
	if _, err := kmsperm.ParseKey(keyID, region, "12", "", ""); !errors.Is(err, kmsperm.ErrInvalidInput) {
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
	for _, d := range []kmsperm.Decision{kmsperm.Unknown, kmsperm.Allowed, kmsperm.ExplicitDeny, kmsperm.ImplicitDeny} {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back kmsperm.Decision
		if err := json.Unmarshal(b, &back); err != nil || back != d {
			t.Errorf("%s round trip: %s, %v", d, back, err)
		}
	}
	var zero kmsperm.Decision
	if zero != kmsperm.Unknown {
		t.Error("the zero Decision is not Unknown")
	}
	if _, err := kmsperm.Decision(42).MarshalText(); err == nil {
		t.Error("invalid decision marshalled")
	}
	var d kmsperm.Decision
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
		"bad identity policy": func(in *kmsperm.Input) { in.Identity = []kmsperm.NamedPolicy{{Name: "x", JSON: []byte(`[`)}} },
		"unknown step":        func(in *kmsperm.Input) { in.Steps = []mpu.Step{mpu.Step(42)} },
		"copy source without object": func(in *kmsperm.Input) {
			in.CopySource = &kmsperm.CopySource{KMSKeyID: srcKeyARN}
		},
	} {
		in := good
		mutate(&in)
		rep, err := kmsperm.New(nil).Check(context.Background(), in)
		if !errors.Is(err, kmsperm.ErrInvalidInput) || rep != nil {
			t.Errorf("%s: err = %v, report %v", name, err, rep != nil)
			continue
		}
		var e *kmsperm.Error
		if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "kmsperm: ") {
			t.Errorf("%s: err %T %q", name, err, err)
		}
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
	for _, s := range []string{`"step":"Complete"`, `"decision":"allowed"`, `"key":"target"`, `"policySource":"supplied"`} {
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
	done := make(chan kmsperm.Decision, 8)
	for i := 0; i < 8; i++ {
		go func() {
			rep, err := c.Check(context.Background(), in)
			if err != nil {
				done <- kmsperm.Unknown
				return
			}
			done <- rep.Decision()
		}()
	}
	for i := 0; i < 8; i++ {
		if d := <-done; d != kmsperm.Allowed {
			t.Errorf("concurrent check %d: %s", i, d)
		}
	}
}
