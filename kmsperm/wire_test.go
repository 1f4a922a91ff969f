package kmsperm_test

// No KMS server and no IAM server run locally. These tests point real
// *kms.Client and *iam.Client values (static credentials, BaseEndpoint) at
// httptest servers that speak the services' wire protocols: KMS's JSON
// protocol (POST /, X-Amz-Target: TrentService.<Operation>, Content-Type
// application/x-amz-json-1.1) and IAM's query protocol (form-encoded
// Action=SimulatePrincipalPolicy, XML reply). They check what kmsperm sends
// and how it reads the replies, including errors; they cannot check what the
// real services would decide.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
)

type fakeKey struct {
	arn, id, account string
	enabled          bool
	manager          string // "CUSTOMER" or "AWS"
	policy           string
}

// fakeKMS is an httptest handler for DescribeKey and GetKeyPolicy.
type fakeKMS struct {
	t       *testing.T
	mu      sync.Mutex
	keys    map[string]*fakeKey // by key ARN, key ID, alias name and alias ARN
	denied  map[string]bool     // operation -> AccessDeniedException
	calls   []string            // "Operation KeyId"
	badSign bool
}

func newFakeKMS(t *testing.T) *fakeKMS {
	return &fakeKMS{t: t, keys: map[string]*fakeKey{}, denied: map[string]bool{}}
}

func (f *fakeKMS) add(k *fakeKey, aliases ...string) {
	f.keys[k.arn], f.keys[k.id] = k, k
	region := strings.Split(k.arn, ":")[3]
	for _, a := range aliases {
		f.keys[a] = k
		f.keys["arn:aws:kms:"+region+":"+k.account+":"+a] = k
	}
}

func (f *fakeKMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, msg)
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		fail(400, "ValidationException", "bad request shape")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") {
		f.mu.Lock()
		f.badSign = true
		f.mu.Unlock()
		fail(400, "UnrecognizedClientException", "unsigned")
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	if !ok {
		fail(400, "UnknownOperationException", "no target")
		return
	}
	var body struct{ KeyId, PolicyName string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		fail(400, "SerializationException", err.Error())
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, op+" "+body.KeyId)
	denied := f.denied[op]
	k := f.keys[body.KeyId]
	f.mu.Unlock()
	if denied {
		fail(400, "AccessDeniedException", "User: arn:aws:iam::111122223333:user/Alice is not authorized to perform: kms:"+op)
		return
	}
	if k == nil {
		fail(400, "NotFoundException", "Key '"+body.KeyId+"' does not exist")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch op {
	case "DescribeKey":
		state := "Enabled"
		if !k.enabled {
			state = "Disabled"
		}
		md := map[string]any{
			"KeyId": k.id, "Arn": k.arn, "AWSAccountId": k.account, "Enabled": k.enabled, "KeyState": state,
			"KeyManager": k.manager, "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT",
			"Origin": "AWS_KMS", "MultiRegion": false, "CreationDate": 1.7e9,
		}
		json.NewEncoder(w).Encode(map[string]any{"KeyMetadata": md})
	case "GetKeyPolicy":
		if body.PolicyName != "default" || body.KeyId != k.arn {
			fail(400, "ValidationException", "expected the key ARN and policy name default")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Policy": k.policy, "PolicyName": "default"})
	default:
		fail(400, "UnknownOperationException", op)
	}
}

func (f *fakeKMS) client(t *testing.T) *kms.Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return kms.New(kms.Options{
		Region:           region,
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		RetryMaxAttempts: 1,
	})
}

func (f *fakeKMS) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func baseInput(keyID string) kmsperm.Input {
	return kmsperm.Input{
		Caller:   alice,
		Region:   region,
		Object:   kmsperm.Object{Bucket: bucket, Key: objKey},
		KMSKeyID: keyID,
		Identity: []mpu.PolicyDocument{{Name: "alice-kms", JSON: []byte(idKeyUse)}},
	}
}

func decisionOf(t *testing.T, rep *kmsperm.Report, s mpu.Step) mpu.Decision {
	t.Helper()
	row, ok := rep.Row(s)
	if !ok {
		t.Fatalf("no row for %s", s)
	}
	return row.Decision
}

func TestKMSAliasResolvedAndPolicyRead(t *testing.T) {
	f := newFakeKMS(t)
	f.add(&fakeKey{arn: keyARN, id: keyID, account: acctA, enabled: true, manager: "CUSTOMER", policy: kpProgrammatic}, "alias/uploads")
	rep, err := kmsperm.New(f.client(t)).Check(context.Background(), baseInput("alias/uploads"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DescribeKey arn:aws:kms:us-east-1:111122223333:alias/uploads", "GetKeyPolicy " + keyARN}
	if got := f.callList(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("calls = %q, want %q", got, want)
	}
	k := rep.Keys[0]
	if k.Key.ARN != keyARN || k.Key.Account != acctA || !k.Key.Described || !k.Key.Enabled || k.PolicySource != kmsperm.PolicyGetKeyPolicy {
		t.Errorf("key report = %+v", k)
	}
	for _, s := range []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete, mpu.ListParts} {
		if d := decisionOf(t, rep, s); d != mpu.Allowed {
			t.Errorf("%s = %s", s, d)
		}
	}
	if len(rep.Gaps) != 0 {
		t.Errorf("gaps = %+v", rep.Gaps)
	}
	if f.badSign {
		t.Error("a request was not signed")
	}
}

func TestKMSGetKeyPolicyDenied(t *testing.T) {
	f := newFakeKMS(t)
	f.add(&fakeKey{arn: keyARN, id: keyID, account: acctA, enabled: true, manager: "CUSTOMER", policy: kpProgrammatic})
	f.denied["GetKeyPolicy"] = true
	rep, err := kmsperm.New(f.client(t)).Check(context.Background(), baseInput(keyARN))
	if err != nil {
		t.Fatal(err)
	}
	if d := decisionOf(t, rep, mpu.UploadPart); d != mpu.Unknown {
		t.Errorf("UploadPart = %s, want unknown (an unreadable key policy never allows)", d)
	}
	if len(rep.Gaps) != 1 || rep.Gaps[0].Permission != "kms:GetKeyPolicy" || !strings.Contains(rep.Gaps[0].Hint, "--key-policy FILE") {
		t.Errorf("gaps = %+v", rep.Gaps)
	}
	if rep.Keys[0].PolicySource != kmsperm.PolicyUnavailable {
		t.Errorf("policy source = %s", rep.Keys[0].PolicySource)
	}
	// A supplied key policy closes the gap without a GetKeyPolicy call.
	in := baseInput(keyARN)
	in.KeyPolicy = []byte(kpProgrammatic)
	n := len(f.callList())
	rep, err = kmsperm.New(f.client(t)).Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if d := decisionOf(t, rep, mpu.UploadPart); d != mpu.Allowed || len(rep.Gaps) != 0 {
		t.Errorf("UploadPart = %s, gaps %+v", d, rep.Gaps)
	}
	for _, c := range f.callList()[n:] {
		if strings.HasPrefix(c, "GetKeyPolicy") {
			t.Errorf("GetKeyPolicy called although the policy was supplied")
		}
	}
}

func TestKMSDescribeKeyDeniedForAlias(t *testing.T) {
	f := newFakeKMS(t)
	f.add(&fakeKey{arn: keyARN, id: keyID, account: acctA, enabled: true, manager: "CUSTOMER", policy: kpProgrammatic}, "alias/uploads")
	f.denied["DescribeKey"] = true
	rep, err := kmsperm.New(f.client(t)).Check(context.Background(), baseInput("alias/uploads"))
	if err != nil {
		t.Fatal(err)
	}
	if d := decisionOf(t, rep, mpu.Initiate); d != mpu.Unknown {
		t.Errorf("Initiate = %s", d)
	}
	perms := map[string]bool{}
	for _, g := range rep.Gaps {
		perms[g.Permission] = true
	}
	if !perms["kms:DescribeKey"] {
		t.Errorf("gaps = %+v", rep.Gaps)
	}
	for _, c := range f.callList() {
		if strings.HasPrefix(c, "GetKeyPolicy") {
			t.Errorf("GetKeyPolicy called without a key ARN: %s", c)
		}
	}
}

func TestKMSDisabledKey(t *testing.T) {
	f := newFakeKMS(t)
	f.add(&fakeKey{arn: keyARN, id: keyID, account: acctA, enabled: false, manager: "CUSTOMER", policy: kpProgrammatic})
	rep, err := kmsperm.New(f.client(t)).Check(context.Background(), baseInput(keyID))
	if err != nil {
		t.Fatal(err)
	}
	row, _ := rep.Row(mpu.UploadPart)
	if row.Decision != mpu.ImplicitDeny || !strings.Contains(row.Actions[0].Reasons[0], "not enabled (state Disabled)") {
		t.Errorf("row = %s", dump(row))
	}
	// One change to the key, not a statement.
	if texts, add := remedyParts(row); len(texts) != 1 || len(add) != 0 || !strings.HasPrefix(texts[0], "enable the key") {
		t.Errorf("remedy = %+v", row.Remedy)
	}
}

func TestKMSKeyNotFound(t *testing.T) {
	// A target key that does not exist is an error, not a gap: S3 will fail
	// the upload, so no verdict can be "unknown". The message names the key
	// as given, its account and Region.
	for _, given := range []string{keyARN, keyID, "alias/missing"} {
		f := newFakeKMS(t)
		rep, err := kmsperm.New(f.client(t)).Check(context.Background(), baseInput(given))
		if err == nil {
			t.Fatalf("%s: no error; report gaps %+v", given, rep.Gaps)
		}
		if rep != nil {
			t.Errorf("%s: a report with the error", given)
		}
		if !errors.Is(err, mpu.ErrNotFound) || errors.Is(err, mpu.ErrPermissionDenied) {
			t.Errorf("%s: %v is not ErrNotFound", given, err)
		}
		var ke *kmsperm.Error
		if !errors.As(err, &ke) || ke.Key != given {
			t.Errorf("%s: *kmsperm.Error %+v does not name the key as given", given, ke)
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "NotFoundException" {
			t.Errorf("%s: the API error is not reachable: %v", given, err)
		}
		for _, want := range []string{given, "does not exist", "account " + acctA, "Region " + region} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: message %q does not say %q", given, err, want)
			}
		}
	}
}

func TestKMSSourceKeyNotFoundIsAGap(t *testing.T) {
	// The copy source's key comes from the source object; a source key
	// DescribeKey cannot find stays a gap (the target key exists).
	f := newFakeKMS(t)
	f.add(&fakeKey{arn: keyARN, id: keyID, account: acctA, enabled: true, manager: "CUSTOMER", policy: kpProgrammatic})
	in := baseInput(keyARN)
	missing := "arn:aws:kms:us-east-1:" + acctA + ":key/00000000-0000-0000-0000-00000000dead"
	in.CopySource = &kmsperm.CopySource{Object: kmsperm.Object{Bucket: "source-bucket", Key: "big.bin"}, KMSKeyID: missing}
	rep, err := kmsperm.New(f.client(t)).Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range rep.Gaps {
		found = found || strings.Contains(g.Error, missing) && strings.Contains(g.Error, "does not exist")
	}
	if !found {
		t.Errorf("gaps = %+v", rep.Gaps)
	}
}

func TestKMSDefaultKeyNotCreatedYet(t *testing.T) {
	// S3 creates aws/s3 on first use; DescribeKey answers NotFoundException
	// until then, and the key's documented policy still applies.
	f := newFakeKMS(t)
	in := baseInput("")
	in.Identity = []mpu.PolicyDocument{}
	rep, err := kmsperm.New(f.client(t)).Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.callList(); len(got) != 1 || got[0] != "DescribeKey arn:aws:kms:us-east-1:111122223333:alias/aws/s3" {
		t.Errorf("calls = %q", got)
	}
	if d := rep.Decision(); d != mpu.Allowed || len(rep.Gaps) != 0 {
		t.Errorf("decision %s, gaps %+v", d, rep.Gaps)
	}
}

func TestKMSAWSManagedKeyOfAnotherAccountNotDescribed(t *testing.T) {
	f := newFakeKMS(t)
	in := baseInput("")
	in.Caller, in.BucketAccount = bob, acctA
	rep, err := kmsperm.New(f.client(t)).Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.callList(); len(got) != 0 {
		t.Errorf("calls = %q, want none", got)
	}
	if d := rep.Decision(); d != mpu.ImplicitDeny || len(rep.Gaps) != 0 {
		t.Errorf("decision %s, gaps %+v", d, rep.Gaps)
	}
}

func TestKMSCrossAccountKeyPolicyNotFetched(t *testing.T) {
	f := newFakeKMS(t)
	f.add(&fakeKey{arn: keyARN, id: keyID, account: acctA, enabled: true, manager: "CUSTOMER", policy: kpExternalAccount})
	in := baseInput(keyARN)
	in.Caller = bob
	in.BucketAccount = acctA
	rep, err := kmsperm.New(f.client(t)).Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range f.callList() {
		if strings.HasPrefix(c, "GetKeyPolicy") {
			t.Errorf("GetKeyPolicy called across accounts")
		}
	}
	if d := decisionOf(t, rep, mpu.UploadPart); d != mpu.Unknown {
		t.Errorf("UploadPart = %s", d)
	}
}

func TestKMSCanceledContext(t *testing.T) {
	f := newFakeKMS(t)
	f.add(&fakeKey{arn: keyARN, id: keyID, account: acctA, enabled: true, manager: "CUSTOMER", policy: kpProgrammatic})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := kmsperm.New(f.client(t)).Check(ctx, baseInput(keyARN))
	if !errors.Is(err, mpu.ErrCanceled) {
		t.Fatalf("err = %v, want ErrCanceled", err)
	}
	var e *kmsperm.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %T is not *kmsperm.Error", err)
	}
}

// fakeIAM answers SimulatePrincipalPolicy from a table of decisions.
type fakeIAM struct {
	mu        sync.Mutex
	decisions map[string]string // action -> allowed / implicitDeny / explicitDeny
	denied    bool
	forms     []url.Values
}

func (f *fakeIAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "SimulatePrincipalPolicy" {
		http.Error(w, "bad request", 400)
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, r.Form)
	denied := f.denied
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if denied {
		w.WriteHeader(403)
		fmt.Fprint(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: iam:SimulatePrincipalPolicy</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
		return
	}
	var b strings.Builder
	b.WriteString(`<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>`)
	for i := 1; ; i++ {
		a := r.Form.Get(fmt.Sprintf("ActionNames.member.%d", i))
		if a == "" {
			break
		}
		d := f.decisions[a]
		if d == "" {
			d = "implicitDeny"
		}
		fmt.Fprintf(&b, `<member><EvalActionName>%s</EvalActionName><EvalResourceName>%s</EvalResourceName><EvalDecision>%s</EvalDecision>`, a, r.Form.Get("ResourceArns.member.1"), d)
		if d != "implicitDeny" {
			b.WriteString(`<MatchedStatements><member><SourcePolicyId>alice-kms</SourcePolicyId><SourcePolicyType>IAM Policy</SourcePolicyType></member></MatchedStatements>`)
		}
		b.WriteString(`<MissingContextValues/></member>`)
	}
	b.WriteString(`</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>`)
	fmt.Fprint(w, b.String())
}

func (f *fakeIAM) client(t *testing.T) *iam.Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return iam.New(iam.Options{
		Region:           region,
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		RetryMaxAttempts: 1,
	})
}

func simInput() kmsperm.Input {
	in := baseInput(keyARN)
	in.Identity = nil // decided by the simulator
	in.KeyPolicy = []byte(kpProgrammatic)
	in.Caller = session
	return in
}

func TestSimulatorAllows(t *testing.T) {
	f := &fakeIAM{decisions: map[string]string{"kms:Decrypt": "allowed", "kms:GenerateDataKey": "allowed"}}
	c := kmsperm.New(nil, func(o *kmsperm.Options) { o.IAM = f.client(t) })
	rep, err := c.Check(context.Background(), simInput())
	if err != nil {
		t.Fatal(err)
	}
	row, _ := rep.Row(mpu.UploadPart)
	if row.Decision != mpu.Allowed || row.Actions[0].Evaluator != mpu.EvaluatorSimulate {
		t.Errorf("row = %s", dump(row))
	}
	if len(f.forms) != 1 {
		t.Fatalf("%d simulator calls, want 1", len(f.forms))
	}
	if n := rep.APICalls["iam:SimulatePrincipalPolicy"]; n != 1 || len(rep.APICalls) != 1 {
		t.Errorf("API calls %v, want the one simulator call", rep.APICalls)
	}
	form := f.forms[0]
	if got := form.Get("PolicySourceArn"); got != role {
		t.Errorf("PolicySourceArn = %s, want the session's role %s", got, role)
	}
	if got := form.Get("ResourceArns.member.1"); got != keyARN {
		t.Errorf("ResourceArns = %s", got)
	}
	ctxKeys := map[string]string{}
	for i := 1; ; i++ {
		name := form.Get(fmt.Sprintf("ContextEntries.member.%d.ContextKeyName", i))
		if name == "" {
			break
		}
		ctxKeys[name] = form.Get(fmt.Sprintf("ContextEntries.member.%d.ContextKeyValues.member.1", i))
	}
	if ctxKeys["kms:ViaService"] != "s3.us-east-1.amazonaws.com" || ctxKeys["kms:CallerAccount"] != acctA ||
		ctxKeys["kms:EncryptionContext:aws:s3:arn"] != "arn:aws:s3:::"+bucket+"/"+objKey {
		t.Errorf("context entries = %v", ctxKeys)
	}
	if d := rep.Seed.Decision; d != mpu.ImplicitDeny {
		t.Errorf("seed = %s, want implicitDeny (the simulator allows only Decrypt and GenerateDataKey)", d)
	}
}

func TestSimulatorImplicitDeny(t *testing.T) {
	f := &fakeIAM{decisions: map[string]string{"kms:GenerateDataKey": "allowed"}}
	c := kmsperm.New(nil, func(o *kmsperm.Options) { o.IAM = f.client(t) })
	rep, err := c.Check(context.Background(), simInput())
	if err != nil {
		t.Fatal(err)
	}
	if d := decisionOf(t, rep, mpu.Initiate); d != mpu.Allowed {
		t.Errorf("Initiate = %s", d)
	}
	row, _ := rep.Row(mpu.Complete)
	if texts, add := remedyParts(row); row.Decision != mpu.ImplicitDeny || len(texts) != 1 || len(add) != 1 || !policyIs(add[0], "identity policy") {
		t.Errorf("Complete row = %s", dump(row))
	}
}

func TestSimulatorDenied(t *testing.T) {
	f := &fakeIAM{denied: true}
	c := kmsperm.New(nil, func(o *kmsperm.Options) { o.IAM = f.client(t) })
	rep, err := c.Check(context.Background(), simInput())
	if err != nil {
		t.Fatal(err)
	}
	if d := decisionOf(t, rep, mpu.UploadPart); d != mpu.Unknown {
		t.Errorf("UploadPart = %s, want unknown", d)
	}
	found := false
	for _, g := range rep.Gaps {
		found = found || g.Permission == "iam:SimulatePrincipalPolicy"
	}
	if !found {
		t.Errorf("gaps = %+v", rep.Gaps)
	}
}

func TestSimulatorKeyPolicyDoesNotCover(t *testing.T) {
	f := &fakeIAM{decisions: map[string]string{"kms:Decrypt": "allowed", "kms:GenerateDataKey": "allowed"}}
	c := kmsperm.New(nil, func(o *kmsperm.Options) { o.IAM = f.client(t) })
	in := simInput()
	in.Caller = alice
	in.KeyPolicy = []byte(kpUsersOnly)
	rep, err := c.Check(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	row, _ := rep.Row(mpu.Initiate)
	if row.Decision != mpu.ImplicitDeny || !strings.Contains(row.Actions[0].Reasons[0], "neither allows the caller nor delegates") {
		t.Errorf("row = %s", dump(row))
	}
	if texts, add := remedyParts(row); len(texts) != 1 || len(add) != 1 || !policyIs(add[0], "key policy") {
		t.Errorf("remedy = %s", dump(row.Remedy))
	}
	if got := f.forms[0].Get("PolicySourceArn"); got != alice {
		t.Errorf("PolicySourceArn = %s", got)
	}
}

func TestSimulatorExplicitDeny(t *testing.T) {
	f := &fakeIAM{decisions: map[string]string{"kms:Decrypt": "explicitDeny", "kms:GenerateDataKey": "allowed"}}
	c := kmsperm.New(nil, func(o *kmsperm.Options) { o.IAM = f.client(t) })
	rep, err := c.Check(context.Background(), simInput())
	if err != nil {
		t.Fatal(err)
	}
	row, _ := rep.Row(mpu.UploadPart)
	if texts, _ := remedyParts(row); row.Decision != mpu.ExplicitDeny || len(texts) == 0 || !strings.Contains(texts[0], "alice-kms") {
		t.Errorf("row = %s", dump(row))
	}
}
