package preflight

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
)

// The tests below run kmsperm offline: keys named by ARN (or by key ID in
// a known account), key policies supplied, identity policies supplied or
// deliberately left out, and a KMS client that is always denied.

const (
	otherAcct   = "444455556666"
	srcKeyID    = "0987dcba-09fe-87dc-65ba-ab0987654321"
	srcKeyARNW2 = "arn:aws:kms:us-west-2:" + otherAcct + ":key/" + srcKeyID
	kmsAll      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`
	s3AndKMS    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","kms:*"],"Resource":"*"}]}`
)

// keyPolicyFor allows alice the given actions (a JSON string or array).
func keyPolicyFor(actions string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":` + actions + `,"Resource":"*"}]}`
}

// kmsCheck runs a preflight of plan with a local S3 evaluator that allows
// everything, and a KMS checker whose options (the caller's identity
// policies allowing everything, unless fn changes them) fn sets.
func kmsCheck(t *testing.T, plan *Plan, fn func(*kmsperm.Options)) *Report {
	t.Helper()
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("all", s3AndKMS)}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}})
	c := New(local, func(o *Options) {
		o.KMS = kmsperm.New(&noKMS{}, func(ko *kmsperm.Options) {
			ko.Identity = []mpu.PolicyDocument{doc("all", s3AndKMS)}
			if fn != nil {
				fn(ko)
			}
		})
	})
	rep, err := c.Check(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func kmsPlan(steps ...mpu.Step) *Plan {
	return &Plan{Bucket: "photos", Key: "a.jpg", Caller: alice, BucketOwner: acct, Region: "us-east-1",
		SSE: SSE{Algorithm: "aws:kms", KMSKeyID: keyARN}, Transport: TransportHTTPS, SourceIP: "192.0.2.1", Steps: steps}
}

func kmsRowOf(t *testing.T, rep *Report, s mpu.Step) KMSRow {
	t.Helper()
	for _, k := range rep.KMS {
		if k.Step == s {
			return k
		}
	}
	t.Fatalf("no KMS row for %s:\n%s", s, rep)
	return KMSRow{}
}

// With additional checksums S3 needs kms:GenerateDataKey at Complete too; a
// plan that names no algorithm is taken to send one (the uploader's default).
func TestKMSChecksums(t *testing.T) {
	decryptOnly := keyPolicyFor(`"kms:Decrypt"`)
	for _, tc := range []struct {
		algo      string
		wantGen   bool
		wantAllow bool
	}{
		{"", true, false},
		{"CRC32C", true, false},
		{"sha256", true, false},
		{checksumNone, false, true},
		{"none", false, true},
	} {
		p := kmsPlan(mpu.Complete)
		p.ChecksumAlgorithm = tc.algo
		rep := kmsCheck(t, p, func(ko *kmsperm.Options) { ko.KeyPolicy = []byte(decryptOnly) })
		row := kmsRowOf(t, rep, mpu.Complete)
		if got := slices.Contains(row.Actions, "kms:GenerateDataKey"); got != tc.wantGen {
			t.Errorf("algorithm %q: Complete actions %v", tc.algo, row.Actions)
		}
		if got := row.Decision == mpu.Allowed; got != tc.wantAllow {
			t.Errorf("algorithm %q: Complete %s (%v)", tc.algo, row.Decision, row.Reasons)
		}
	}
	p := kmsPlan()
	p.ChecksumAlgorithm = "MD5"
	if err := p.Validate(); err == nil {
		t.Error("checksum algorithm MD5 accepted")
	}
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k"), ChecksumAlgorithm: s3types.ChecksumAlgorithmSha1}
	if got := PlanFromCreateInput(in).ChecksumAlgorithm; got != "SHA1" {
		t.Errorf("PlanFromCreateInput checksum algorithm %q", got)
	}
}

// The copy source's account, Region, key policy, Bucket Key and encryption
// context all reach the KMS check of UploadPartCopy.
func TestKMSCopySource(t *testing.T) {
	// The source key (another account, us-west-2, named by key ID) lets
	// alice decrypt only objects of the source bucket stored with a Bucket
	// Key and the project=x encryption context.
	srcPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"Copy","Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kms:Decrypt","Resource":"*",
	  "Condition":{"StringEquals":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::src","kms:EncryptionContext:project":"x"}}}]}`
	source := func() *CopySource {
		return &CopySource{Bucket: "src", Key: "big.bin", KMSKeyID: srcKeyID, Account: otherAcct, Region: "us-west-2",
			BucketKey: true, KMSContext: map[string]string{"project": "x"}}
	}
	run := func(cs *CopySource, srcKeyPolicy []byte) (KMSRow, *Report) {
		p := kmsPlan(mpu.UploadPartCopy)
		p.CopySource = cs
		rep := kmsCheck(t, p, func(ko *kmsperm.Options) {
			ko.KeyPolicy = []byte(keyPolicyFor(`"kms:*"`))
			ko.SourceKeyPolicy = srcKeyPolicy
		})
		return kmsRowOf(t, rep, mpu.UploadPartCopy), rep
	}
	row, rep := run(source(), []byte(srcPolicy))
	if row.Decision != mpu.Allowed {
		t.Fatalf("copy with everything wired: %s\n%s", row.Decision, rep)
	}
	if !slices.Contains(row.Resources, srcKeyARNW2) {
		t.Errorf("resources %v lack the source key %s (account and Region of the source)", row.Resources, srcKeyARNW2)
	}

	cs := source()
	cs.BucketKey = false
	if row, rep := run(cs, []byte(srcPolicy)); row.Decision != mpu.ImplicitDeny {
		t.Errorf("without the Bucket Key the context is the object ARN, want implicitDeny: %s\n%s", row.Decision, rep)
	}
	cs = source()
	cs.KMSContext = nil
	if row, rep := run(cs, []byte(srcPolicy)); row.Decision != mpu.ImplicitDeny {
		t.Errorf("without the encryption context, want implicitDeny: %s\n%s", row.Decision, rep)
	}
	cs = source()
	cs.Account = ""
	if row, _ := run(cs, []byte(srcPolicy)); slices.Contains(row.Resources, srcKeyARNW2) || !slices.Contains(row.Resources, "arn:aws:kms:us-west-2:"+acct+":key/"+srcKeyID) {
		t.Errorf("source without an account: resources %v, want the key ID resolved in the caller's account", row.Resources)
	}
	cs = source()
	cs.Region = ""
	if row, _ := run(cs, []byte(srcPolicy)); !slices.Contains(row.Resources, "arn:aws:kms:us-east-1:"+otherAcct+":key/"+srcKeyID) {
		t.Errorf("source without a Region: resources %v, want the plan's Region", row.Resources)
	}
	// Without the source key policy: kms:GetKeyPolicy cannot read across
	// accounts, so the verdict is unknown and the gap says what to supply.
	row, rep = run(source(), nil)
	if row.Decision != mpu.Unknown {
		t.Errorf("source key policy not supplied: %s, want unknown", row.Decision)
	}
	if !slices.ContainsFunc(rep.Gaps, func(g mpu.Gap) bool {
		return strings.Contains(g.Error, otherAcct) && strings.Contains(g.Hint, "key policy")
	}) {
		t.Errorf("no gap for the source key policy: %+v", rep.Gaps)
	}

	bad := kmsPlan(mpu.UploadPartCopy)
	bad.CopySource = source()
	bad.CopySource.Account = "12"
	if err := bad.Validate(); err == nil {
		t.Error("copy source account 12 accepted")
	}
}

// kmsperm's gaps reach the report with their permission and hint, and the
// text shows the hint.
func TestKMSGaps(t *testing.T) {
	// No key policy supplied: the always-denied client cannot read it.
	rep := kmsCheck(t, kmsPlan(mpu.Initiate), nil)
	i := slices.IndexFunc(rep.Gaps, func(g mpu.Gap) bool { return g.Permission == "kms:GetKeyPolicy" })
	if i < 0 {
		t.Fatalf("no kms:GetKeyPolicy gap: %+v", rep.Gaps)
	}
	g := rep.Gaps[i]
	if g.Source != "KMS key policy (kms:GetKeyPolicy)" || !strings.Contains(g.Error, keyARN) || !strings.Contains(g.Hint, "grant the caller kms:GetKeyPolicy on "+keyARN) {
		t.Errorf("gap %+v", g)
	}
	if row := kmsRowOf(t, rep, mpu.Initiate); row.Decision != mpu.Unknown {
		t.Errorf("Initiate KMS row %s without a key policy", row.Decision)
	}
	// The KMS requests count in the report's API calls, denied or not.
	if rep.APICalls["kms:DescribeKey"] != 1 || rep.APICalls["kms:GetKeyPolicy"] != 1 {
		t.Errorf("API calls %v, want one kms:DescribeKey and one kms:GetKeyPolicy", rep.APICalls)
	}
	text := rep.String()
	for _, want := range []string{"gap: KMS key policy (kms:GetKeyPolicy) could not be read: ", "  hint: grant the caller kms:GetKeyPolicy on " + keyARN} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	// A supplied key policy closes the gap; kms:DescribeKey stays denied.
	rep = kmsCheck(t, kmsPlan(mpu.Initiate), func(ko *kmsperm.Options) { ko.KeyPolicy = []byte(keyPolicyFor(`"kms:*"`)) })
	var perms []string
	for _, g := range rep.Gaps {
		perms = append(perms, g.Permission)
	}
	if !slices.Equal(perms, []string{"kms:DescribeKey"}) {
		t.Errorf("gaps with the key policy supplied: %+v", rep.Gaps)
	}
}

// The seed row (the permission table's full KMS list) is reported on its
// own; it counts for OK and Blocking only when required.
func TestKMSSeedRow(t *testing.T) {
	// Enough for the calls S3 makes, not for the table's full list.
	enough := keyPolicyFor(`["kms:GenerateDataKey","kms:Decrypt"]`)
	steps := []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete, mpu.Abort}
	rep := kmsCheck(t, kmsPlan(steps...), func(ko *kmsperm.Options) { ko.KeyPolicy = []byte(enough) })
	seed := rep.KMSSeed
	if seed == nil {
		t.Fatalf("no seed row:\n%s", rep)
	}
	if !seed.Seed || !seed.Advisory || seed.Label != kmsSeedLabel || seed.Decision != mpu.ImplicitDeny {
		t.Errorf("seed row %+v", *seed)
	}
	if want := []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"}; !slices.Equal(seed.Actions, want) {
		t.Errorf("seed actions %v, want %v", seed.Actions, want)
	}
	if seed.Remedy == nil || len(seed.Remedy.Add) == 0 {
		t.Errorf("seed row without a remedy: %+v", seed.Remedy)
	}
	if !rep.OK() || len(rep.Blocking()) != 0 {
		t.Errorf("advisory seed row changed the verdict: OK %v blocking %v\n%s", rep.OK(), rep.Blocking(), rep)
	}
	text := rep.String()
	if f := tableRow(text, "upload (S3 permission table) (KMS)"); !strings.HasPrefix(f, "implicitDeny (advisory) local kms:Encrypt,kms:Decrypt,kms:ReEncrypt*,kms:GenerateDataKey*,kms:DescribeKey "+keyARN) {
		t.Errorf("seed table row %q:\n%s", f, text)
	}
	if !strings.Contains(text, "\nupload (S3 permission table) (KMS): implicitDeny (advisory)\n") {
		t.Errorf("text lacks the seed row's details:\n%s", text)
	}

	required := func(name string, fn func(*kmsperm.Options)) {
		rep := kmsCheck(t, kmsPlan(steps...), func(ko *kmsperm.Options) {
			ko.KeyPolicy = []byte(enough)
			fn(ko)
		})
		if rep.KMSSeed == nil || rep.KMSSeed.Advisory {
			t.Errorf("%s: seed row %+v", name, rep.KMSSeed)
		}
		if rep.OK() {
			t.Errorf("%s: report OK with the required seed list denied", name)
		}
		if b := rep.Blocking(); len(b) != 1 || b[0].Step != mpu.Initiate {
			t.Errorf("%s: blocking %v", name, b)
		}
		// The KMS checker requires the list at Initiate.
		if row := kmsRowOf(t, rep, mpu.Initiate); !slices.Contains(row.Actions, "kms:Encrypt") || row.Decision != mpu.ImplicitDeny {
			t.Errorf("%s: Initiate KMS row %v %s", name, row.Actions, row.Decision)
		}
	}
	required("kmsperm RequireSeedActions", func(ko *kmsperm.Options) { ko.RequireSeedActions = true })

	// The seed row counts through Blocking even if the Initiate row were
	// allowed.
	r := &Report{Steps: []StepResult{{Step: mpu.Initiate, Decision: mpu.Allowed}}, KMSSeed: &KMSRow{Seed: true, Decision: mpu.ExplicitDeny}}
	if r.OK() || len(r.Blocking()) != 1 {
		t.Errorf("required seed row: OK %v blocking %v", r.OK(), r.Blocking())
	}
	r.KMSSeed.Advisory = true
	if !r.OK() || len(r.Blocking()) != 0 {
		t.Errorf("advisory seed row: OK %v blocking %v", r.OK(), r.Blocking())
	}
}

// allowingSimulator answers SimulatePrincipalPolicy with allowed for every
// action.
type allowingSimulator struct{}

func (allowingSimulator) SimulatePrincipalPolicy(_ context.Context, in *iam.SimulatePrincipalPolicyInput, _ ...func(*iam.Options)) (*iam.SimulatePrincipalPolicyOutput, error) {
	out := &iam.SimulatePrincipalPolicyOutput{}
	for _, a := range in.ActionNames {
		out.EvaluationResults = append(out.EvaluationResults, iamtypes.EvaluationResult{EvalActionName: aws.String(a), EvalDecision: iamtypes.PolicyEvaluationDecisionTypeAllowed})
	}
	return out, nil
}

// A KMS row names the evaluator of its identity side: "none" (identity
// policies not available, or a step without KMS actions) is
// EvaluatorNone, not local.
func TestKMSEvaluator(t *testing.T) {
	delegating := `{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"}]}`
	for _, tc := range []struct {
		name     string
		fn       func(*kmsperm.Options)
		want     mpu.EvaluatorKind
		decision mpu.Decision
	}{
		{"identity supplied", func(ko *kmsperm.Options) {}, mpu.EvaluatorLocal, mpu.Allowed},
		{"identity unknown", func(ko *kmsperm.Options) { ko.Identity = nil }, mpu.EvaluatorNone, mpu.Unknown},
		{"simulator", func(ko *kmsperm.Options) {
			ko.Identity = nil
			ko.IAM = allowingSimulator{}
		}, mpu.EvaluatorSimulate, mpu.Allowed},
	} {
		rep := kmsCheck(t, kmsPlan(mpu.Initiate, mpu.UploadPart, mpu.Abort), func(ko *kmsperm.Options) {
			ko.KeyPolicy = []byte(delegating)
			tc.fn(ko)
		})
		for _, s := range []mpu.Step{mpu.Initiate, mpu.UploadPart} {
			if row := kmsRowOf(t, rep, s); row.Evaluator != tc.want || row.Decision != tc.decision {
				t.Errorf("%s: %s row evaluator %q decision %s, want %q %s", tc.name, s, row.Evaluator, row.Decision, tc.want, tc.decision)
			}
		}
		abort := kmsRowOf(t, rep, mpu.Abort)
		if abort.Evaluator != mpu.EvaluatorNone || abort.Decision != mpu.Allowed || len(abort.Actions) != 0 || abort.Label != "Abort" {
			t.Errorf("%s: Abort row %+v", tc.name, abort)
		}
	}
}

// The JSON report carries every KMS row with the documented fields, and
// the seed row on its own; the text table renders them.
func TestKMSJSONAndText(t *testing.T) {
	onlyGenerate := keyPolicyFor(`"kms:GenerateDataKey"`)
	rep := kmsCheck(t, kmsPlan(mpu.Initiate, mpu.UploadPart, mpu.Abort), func(ko *kmsperm.Options) { ko.KeyPolicy = []byte(onlyGenerate) })
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		KMS     []map[string]any `json:"kms"`
		KMSSeed map[string]any   `json:"kms_seed"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.KMS) != 3 {
		t.Fatalf("kms rows %d, want one per checked step: %s", len(m.KMS), data)
	}
	for _, row := range m.KMS {
		for _, k := range []string{"step", "label", "actions", "resources", "decision", "evaluator", "reasons", "remedy"} {
			if _, ok := row[k]; !ok {
				t.Errorf("kms row lacks %q: %v", k, row)
			}
		}
		if _, ok := row["actions"].([]any); !ok {
			t.Errorf("actions is not an array: %v", row)
		}
	}
	up := m.KMS[1]
	if up["step"] != "UploadPart" || up["decision"] != "implicitDeny" || up["evaluator"] != "local" || up["remedy"] == nil ||
		!strings.Contains(up["remedy"].(map[string]any)["summary"].(string), "key policy") {
		t.Errorf("UploadPart row %v", up)
	}
	reasons, _ := json.Marshal(up["reasons"])
	if !strings.Contains(string(reasons), "kms:Decrypt on "+keyARN+": ") {
		t.Errorf("UploadPart reasons do not explain kms:Decrypt: %s", reasons)
	}
	if ab := m.KMS[2]; ab["step"] != "Abort" || ab["evaluator"] != "none" || ab["decision"] != "allowed" || ab["remedy"] != nil {
		t.Errorf("Abort row %v", ab)
	}
	if m.KMSSeed == nil || m.KMSSeed["seed"] != true || m.KMSSeed["advisory"] != true || m.KMSSeed["label"] != kmsSeedLabel {
		t.Errorf("kmsSeed %v", m.KMSSeed)
	}
	if _, ok := m.KMSSeed["step"]; ok {
		t.Errorf("seed row has a step: %v", m.KMSSeed)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("report JSON does not read back: %v", err)
	}
	if len(back.KMS) != 3 || back.KMS[1].Step != mpu.UploadPart || back.KMSSeed == nil || !back.KMSSeed.Advisory {
		t.Errorf("read back %+v %+v", back.KMS, back.KMSSeed)
	}

	text := rep.String()
	if f := tableRow(text, "UploadPart (KMS)"); f != "implicitDeny local kms:Decrypt,kms:GenerateDataKey "+keyARN {
		t.Errorf("UploadPart KMS table row %q:\n%s", f, text)
	}
	if f := tableRow(text, "Abort (KMS)"); f != "allowed none - -" {
		t.Errorf("Abort KMS table row %q:\n%s", f, text)
	}
	for _, want := range []string{
		"\nUploadPart (KMS): implicitDeny\n",
		"  - kms:Decrypt on " + keyARN + ": ",
		"add to the key policy of " + keyARN + ": {",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

// tableRow returns the table line that starts with label, after the label,
// with its columns joined by single spaces ("" when there is none).
func tableRow(text, label string) string {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, label+"  "); ok {
			return strings.Join(strings.Fields(rest), " ")
		}
	}
	return ""
}

// A copy into an object that is not SSE-KMS encrypted (SSE-S3, or no
// encryption header) from an SSE-KMS object needs kms:Decrypt on the source
// key at UploadPartCopy, and nothing on any target key: no aws/s3 key is
// assumed for the target and there is no seed row.
func TestKMSCopySourceOnly(t *testing.T) {
	srcARN := "arn:aws:kms:us-east-1:" + acct + ":key/" + srcKeyID
	// The source key's policy names only another principal: alice is not
	// granted kms:Decrypt (her identity policy allows kms:*, but the key
	// policy neither names her nor delegates to the account).
	notAlice := `{"Version":"2012-10-17","Statement":[{"Sid":"Bob","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/bob"},"Action":"kms:*","Resource":"*"}]}`
	denyAlice := `{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"kms:*","Resource":"*"},
	  {"Sid":"NoAlice","Effect":"Deny","Principal":{"AWS":"` + alice + `"},"Action":"kms:Decrypt","Resource":"*"}]}`
	plan := func(algorithm string) *Plan {
		p := kmsPlan(mpu.Initiate, mpu.UploadPart, mpu.UploadPartCopy, mpu.Complete, mpu.Abort, mpu.ListParts)
		p.SSE = SSE{Algorithm: algorithm}
		p.CopySource = &CopySource{Bucket: "src", Key: "big.bin", KMSKeyID: srcARN}
		return p
	}
	run := func(algorithm, srcPolicy string) (KMSRow, *Report) {
		t.Helper()
		rep := kmsCheck(t, plan(algorithm), func(ko *kmsperm.Options) {
			// A target key policy given with the options is not used
			// for a target that is not SSE-KMS encrypted.
			ko.KeyPolicy = []byte(keyPolicyFor(`"kms:*"`))
			ko.SourceKeyPolicy = []byte(srcPolicy)
		})
		if len(rep.KMS) != 1 {
			t.Fatalf("%s target: %d KMS rows, want only UploadPartCopy:\n%s", algorithm, len(rep.KMS), rep)
		}
		row := kmsRowOf(t, rep, mpu.UploadPartCopy)
		if !slices.Equal(row.Actions, []string{"kms:Decrypt"}) || !slices.Equal(row.Resources, []string{srcARN}) {
			t.Errorf("%s target: UploadPartCopy KMS row actions %v on %v, want kms:Decrypt on the source key only", algorithm, row.Actions, row.Resources)
		}
		if rep.KMSSeed != nil {
			t.Errorf("%s target: seed row %+v for a target that is not SSE-KMS", algorithm, *rep.KMSSeed)
		}
		text := rep.String()
		for _, bad := range []string{"aws/s3", keyARN} {
			if strings.Contains(text, bad) {
				t.Errorf("%s target: report mentions the target key %s:\n%s", algorithm, bad, text)
			}
		}
		for _, g := range rep.Gaps {
			if strings.HasPrefix(g.Source, "KMS") && !strings.Contains(g.Error+g.Hint, srcARN) {
				t.Errorf("%s target: KMS gap not about the source key: %+v", algorithm, g)
			}
		}
		return row, rep
	}
	for _, algorithm := range []string{"AES256", ""} {
		row, rep := run(algorithm, notAlice)
		if row.Decision != mpu.ImplicitDeny {
			t.Errorf("%s target, source key not granting: UploadPartCopy KMS row %s, want implicitDeny\n%s", algorithm, row.Decision, rep)
		}
		if row.Remedy == nil || !strings.Contains(row.Remedy.Summary, srcARN) ||
			!slices.ContainsFunc(row.Remedy.Add, func(a mpu.RemedyStatement) bool {
				return a.Policy == "key policy of "+srcARN && strings.Contains(string(a.Statement), `"kms:Decrypt"`)
			}) {
			t.Errorf("%s target: remedy %+v does not add kms:Decrypt to the key policy of %s", algorithm, row.Remedy, srcARN)
		}
		if !strings.Contains(strings.Join(row.Reasons, " "), "kms:Decrypt on "+srcARN+": ") {
			t.Errorf("%s target: reasons %q do not explain kms:Decrypt on the source key", algorithm, row.Reasons)
		}
		if b := rep.Blocking(); !slices.ContainsFunc(b, func(s StepResult) bool { return s.Step == mpu.UploadPartCopy }) || rep.OK() {
			t.Errorf("%s target: blocking %v, OK %v", algorithm, b, rep.OK())
		}

		row, rep = run(algorithm, keyPolicyFor(`"kms:Decrypt"`))
		if row.Decision != mpu.Allowed || row.Remedy != nil {
			t.Errorf("%s target, source key allowing kms:Decrypt: %s %+v\n%s", algorithm, row.Decision, row.Remedy, rep)
		}
		if b := rep.Blocking(); len(b) != 0 {
			t.Errorf("%s target, source key allowing: blocking %v\n%s", algorithm, b, rep)
		}

		if row, _ := run(algorithm, denyAlice); row.Decision != mpu.ExplicitDeny {
			t.Errorf("%s target, source key denying: %s, want explicitDeny", algorithm, row.Decision)
		}
	}

	// Without a KMS checker the report says the source key was not checked.
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("all", s3AndKMS)}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}})
	rep, err := New(local).Check(context.Background(), plan("AES256"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.KMS) != 0 || !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "kms:Decrypt on its key "+srcARN) }) {
		t.Errorf("no KMS checker: rows %d, notes %q", len(rep.KMS), rep.Notes)
	}
	// A plan that does not check UploadPartCopy needs no KMS check.
	p := plan("AES256")
	p.Steps = []mpu.Step{mpu.Initiate}
	if rep := kmsCheck(t, p, nil); len(rep.KMS) != 0 || rep.KMSSeed != nil {
		t.Errorf("no copy step: KMS rows %+v seed %+v", rep.KMS, rep.KMSSeed)
	}
}

// The uploader's copy hook runs the source key's KMS check for a copy into
// an SSE-S3 object: a source key that does not grant kms:Decrypt refuses
// the copy with a remedy on that key.
func TestUploadCheckerCopyFromKMSSource(t *testing.T) {
	srcARN := "arn:aws:kms:us-east-1:" + acct + ":key/" + srcKeyID
	src := Sources{Identity: []mpu.PolicyDocument{doc("all", s3AndKMS)}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced,
		SourceBucketPolicy: &mpu.PolicyDocument{}, SourceACL: &BucketACL{}, SourceOwnership: OwnershipBucketOwnerEnforced}
	checker := func(srcPolicy string) *UploadChecker {
		return &UploadChecker{Checker: New(NewLocal(LocalOptions{Sources: src}), func(o *Options) {
			o.KMS = kmsperm.New(&noKMS{}, func(ko *kmsperm.Options) {
				ko.Identity = []mpu.PolicyDocument{doc("all", s3AndKMS)}
				ko.SourceKeyPolicy = []byte(srcPolicy)
			})
		}), Template: Plan{Caller: alice, BucketOwner: acct, Region: "us-east-1", Transport: TransportHTTPS, SourceIP: "192.0.2.1"}}
	}
	dst := &s3.CreateMultipartUploadInput{Bucket: aws.String("photos"), Key: aws.String("copy.bin"), ServerSideEncryption: s3types.ServerSideEncryptionAes256}
	steps := []mpu.Step{mpu.Initiate, mpu.UploadPartCopy, mpu.Complete, mpu.Abort}

	notAlice := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/bob"},"Action":"kms:*","Resource":"*"}]}`
	err := checker(notAlice).CheckCopy(context.Background(), dst, "src", "big.bin", "", srcARN, steps)
	var de *DeniedError
	if !errors.As(err, &de) || !errors.Is(err, mpu.ErrPermissionDenied) {
		t.Fatalf("copy from a source key that does not grant kms:Decrypt: %v", err)
	}
	if len(de.Denied) != 1 || de.Denied[0].Step != mpu.UploadPartCopy || !strings.Contains(err.Error(), "(implicitDeny: kms:Decrypt on "+srcARN+")") {
		t.Errorf("denied %+v: %v", de.Denied, err)
	}
	if err := checker(keyPolicyFor(`"kms:Decrypt"`)).CheckCopy(context.Background(), dst, "src", "big.bin", "", srcARN, steps); err != nil {
		t.Errorf("copy from a source key granting kms:Decrypt: %v", err)
	}
	// A source that is not SSE-KMS encrypted needs no key policy at all.
	if err := checker(notAlice).CheckCopy(context.Background(), dst, "src", "big.bin", "", "", steps); err != nil {
		t.Errorf("copy from a source without a KMS key: %v", err)
	}
}
