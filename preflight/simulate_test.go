package preflight

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/mpu"
)

// fakeSimulator is an httptest server speaking the IAM query protocol for
// SimulatePrincipalPolicy. No IAM policy simulator runs locally (it is an
// AWS service), so this stand-in decides with the policy engine over the
// identity policies it holds per principal, plus the ResourcePolicy of the
// request, and pages its results MaxPage at a time.
type fakeSimulator struct {
	mu       sync.Mutex
	identity map[string]string // PolicySourceArn -> policy JSON
	maxPage  int
	requests []url.Values
	status   int // when non-zero, every call fails with it
}

func (f *fakeSimulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	form := r.PostForm
	f.mu.Lock()
	f.requests = append(f.requests, form)
	status := f.status
	f.mu.Unlock()
	if form.Get("Action") != "SimulatePrincipalPolicy" {
		http.Error(w, "unexpected action "+form.Get("Action"), 400)
		return
	}
	if status != 0 {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprint(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
		return
	}
	list := func(prefix string) []string {
		var out []string
		for i := 1; ; i++ {
			v, ok := form[prefix+".member."+strconv.Itoa(i)]
			if !ok {
				return out
			}
			out = append(out, v[0])
		}
	}
	ctx := map[string][]string{}
	for i := 1; ; i++ {
		p := "ContextEntries.member." + strconv.Itoa(i)
		name := form.Get(p + ".ContextKeyName")
		if name == "" {
			break
		}
		ctx[name] = list(p + ".ContextKeyValues")
	}
	src := form.Get("PolicySourceArn")
	principal, _ := policy.PrincipalFromARN(src)
	set := policy.PolicySet{}
	if d, err := policy.ParseNamed("identity", []byte(f.identity[src])); err == nil {
		set.Identity = []*policy.Document{d}
	}
	if rp := form.Get("ResourcePolicy"); rp != "" {
		d, err := policy.ParseNamed("ResourcePolicy", []byte(rp))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		set.Resource = []*policy.Document{d}
	}
	type stmt struct {
		SourcePolicyID   string `xml:"SourcePolicyId"`
		SourcePolicyType string `xml:"SourcePolicyType"`
		Line             int    `xml:"StartPosition>Line"`
	}
	type result struct {
		EvalActionName   string
		EvalResourceName string
		EvalDecision     string
		Matched          []stmt   `xml:"MatchedStatements>member"`
		Missing          []string `xml:"MissingContextValues>member"`
	}
	var all []result
	for _, a := range list("ActionNames") {
		for _, res := range list("ResourceArns") {
			r := policy.Evaluate(policy.Request{Principal: principal, Action: a, Resource: res, Context: ctx}, set)
			out := result{EvalActionName: a, EvalResourceName: res, EvalDecision: r.Decision.String(), Missing: r.MissingKeys}
			for _, d := range r.Deciding {
				typ := "IAM Policy"
				if d.Kind == policy.KindResource {
					typ = "resource"
				}
				out.Matched = append(out.Matched, stmt{SourcePolicyID: d.Policy, SourcePolicyType: typ, Line: d.Index + 1})
			}
			all = append(all, out)
		}
	}
	start, _ := strconv.Atoi(form.Get("Marker"))
	end := len(all)
	if f.maxPage > 0 && start+f.maxPage < end {
		end = start + f.maxPage
	}
	type body struct {
		XMLName xml.Name `xml:"SimulatePrincipalPolicyResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Results []result `xml:"SimulatePrincipalPolicyResult>EvaluationResults>member"`
		Trunc   bool     `xml:"SimulatePrincipalPolicyResult>IsTruncated"`
		Marker  string   `xml:"SimulatePrincipalPolicyResult>Marker,omitempty"`
		ReqID   string   `xml:"ResponseMetadata>RequestId"`
	}
	b := body{Xmlns: "https://iam.amazonaws.com/doc/2010-05-08/", Results: all[start:end], Trunc: end < len(all), ReqID: "r1"}
	if b.Trunc {
		b.Marker = strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(b)
}

func newSimClient(t *testing.T, f *fakeSimulator) *iam.Client {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-secret", "")})
}

// TestSimulateBatchesAndPaginates runs the simulator evaluator against
// fakeSimulator (no IAM policy simulator runs locally): one batched call per
// request context, every page followed, context keys typed.
func TestSimulateBatchesAndPaginates(t *testing.T) {
	f := &fakeSimulator{maxPage: 2, identity: map[string]string{
		alice: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:ListBucketMultipartUploads"],"Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`,
	}}
	// The bucket has no policy and no ACL grants; the identity policies are
	// not readable locally (no IAM client): the simulator decides them.
	local := NewLocal(LocalOptions{Sources: Sources{BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}})
	sim := NewSimulate(newSimClient(t, f), local)
	p := &Plan{Bucket: "photos", Key: "a.jpg", Caller: alice, BucketOwner: acct, ACL: "private", Transport: TransportHTTPS, SourceIP: "192.0.2.1"}
	rep := checkPlan(t, sim, p, ProfileNoDefaults)
	if got := decisions(rep); got != "Initiate=allowed UploadPart=allowed Complete=allowed Abort=implicitDeny ListParts=implicitDeny ListUploads=allowed" {
		t.Fatalf("decisions %s\n%s", got, rep)
	}
	// Initiate carries the ACL header, the rest do not: two batches; the
	// second (4 actions x 2 resources = 8 results, 2 a page) needs 4 pages.
	if n := len(f.requests); n != 5 || rep.APICalls["iam:SimulatePrincipalPolicy"] != 5 {
		t.Fatalf("%d requests, counted %v", n, rep.APICalls)
	}
	first := f.requests[0]
	if first.Get("PolicySourceArn") != alice || first.Get("ActionNames.member.1") != "s3:PutObject" || first.Get("ResourceArns.member.1") != "arn:aws:s3:::photos/a.jpg" {
		t.Errorf("first request %v", first)
	}
	types := map[string]string{}
	for i := 1; first.Get("ContextEntries.member."+strconv.Itoa(i)+".ContextKeyName") != ""; i++ {
		p := "ContextEntries.member." + strconv.Itoa(i)
		types[first.Get(p+".ContextKeyName")] = first.Get(p + ".ContextKeyType")
	}
	if types["aws:SecureTransport"] != "boolean" || types["aws:SourceIp"] != "ip" || types["s3:x-amz-acl"] != "string" {
		t.Errorf("context types %v", types)
	}
	if _, ok := types["s3:x-amz-acl"]; !ok || f.requests[1].Get("ContextEntries.member.1.ContextKeyName") == "s3:x-amz-acl" {
		t.Errorf("header key placement wrong")
	}
	for _, s := range rep.Steps {
		if s.Evaluator != mpu.EvaluatorSimulate {
			t.Errorf("%s decided by %s", s.Step, s.Evaluator)
		}
	}
	// Without any local knowledge only an explicit deny is certain.
	f.requests = nil
	rep = checkPlan(t, NewSimulate(newSimClient(t, f), nil), p, ProfileNoDefaults)
	for _, s := range rep.Steps {
		if s.Decision != mpu.Unknown {
			t.Errorf("no local evaluator: %s is %s", s.Step, s.Decision)
		}
	}
}

// TestSimulateBlindSpotsFilledLocally checks, against fakeSimulator (no IAM
// policy simulator runs locally), that what the simulator cannot see is
// decided by the local engine: the default rules, roles with a bucket
// policy, a failing simulator.
func TestSimulateBlindSpotsFilledLocally(t *testing.T) {
	put := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`
	bucketPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"Lister","Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"s3:ListBucketMultipartUploads","Resource":"arn:aws:s3:::photos"}]}`
	f := &fakeSimulator{identity: map[string]string{alice: put, "arn:aws:iam::111122223333:role/ci": put}}
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("put", put)}, BucketPolicy: &mpu.PolicyDocument{Name: "bucket policy", JSON: []byte(bucketPolicy)}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}})
	sim := NewSimulate(newSimClient(t, f), local)
	p := &Plan{Bucket: "photos", Key: "a.jpg", Caller: alice, BucketOwner: acct, Transport: TransportHTTPS, SourceIP: "192.0.2.1"}
	rep := checkPlan(t, sim, p, ProfileAWS)
	want := map[mpu.Step]string{mpu.Initiate: "allowed/simulate", mpu.Abort: "allowed/local", mpu.ListParts: "allowed/local", mpu.ListUploads: "allowed/simulate"}
	for st, w := range want {
		s, _ := rep.Step(st)
		if got := s.Decision.String() + "/" + string(s.Evaluator); got != w {
			t.Errorf("%s: %s, want %s (%q)", st, got, w, s.Reasons)
		}
	}
	if f.requests[0].Get("ResourcePolicy") == "" || f.requests[0].Get("ResourceOwner") != rootA {
		t.Errorf("resource policy not passed for a user: %v", f.requests[0])
	}
	// A role session: the simulator gets the role, no resource policy, and the local engine decides.
	f.requests = nil
	p.Caller = "arn:aws:sts::111122223333:assumed-role/ci/run-1"
	rep = checkPlan(t, sim, p, ProfileAWS)
	if src := f.requests[0].Get("PolicySourceArn"); src != "arn:aws:iam::111122223333:role/ci" || f.requests[0].Get("ResourcePolicy") != "" {
		t.Errorf("role request %v", f.requests[0])
	}
	if s, _ := rep.Step(mpu.ListUploads); s.Evaluator != mpu.EvaluatorLocal || !strings.Contains(s.Reasons[0], "resource policies for roles") {
		t.Errorf("ListUploads for a role: %s %q", s.Evaluator, s.Reasons)
	}
	// A failing simulator: everything decided locally.
	f.status = 403
	rep = checkPlan(t, sim, p, ProfileAWS)
	for _, s := range rep.Steps {
		if s.Evaluator != mpu.EvaluatorLocal || !strings.Contains(s.Reasons[0], "the simulator failed: AccessDenied") {
			t.Errorf("%s: %s %q", s.Step, s.Evaluator, s.Reasons)
		}
	}
}

func TestSimulateRootIsLocal(t *testing.T) {
	f := &fakeSimulator{}
	local := NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}})
	rep := checkPlan(t, NewSimulate(newSimClient(t, f), local), &Plan{Bucket: "photos", Key: "a", Caller: rootA, BucketOwner: acct, Transport: TransportHTTPS, SourceIP: "192.0.2.1"}, ProfileAWS)
	if len(f.requests) != 0 || !rep.OK() {
		t.Fatalf("root: %d simulator calls, report\n%s", len(f.requests), rep)
	}
}

func TestSimulateReadsIdentityOnlyForBlindSpots(t *testing.T) {
	put := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:AbortMultipartUpload"],"Resource":"*"}]}`
	f := &fakeSimulator{identity: map[string]string{alice: put}}
	fi := &fakeIAM{user: map[string]string{"put": put}}
	bk := &fakeBucket{ownership: "BucketOwnerEnforced"}
	sim := NewSimulate(newSimClient(t, f), NewLocal(LocalOptions{IAM: fi, S3: bk}))
	p := &Plan{Bucket: "photos", Key: "a.jpg", Caller: alice, BucketOwner: acct, Transport: TransportHTTPS, SourceIP: "192.0.2.1", Steps: []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete, mpu.Abort}}
	rep := checkPlan(t, sim, p, ProfileNoDefaults)
	if !rep.OK() || len(fi.calls) != 0 {
		t.Fatalf("no blind spot: OK %v, IAM calls %v\n%s", rep.OK(), fi.calls, rep)
	}
	// One simulator call (no headers), three bucket reads.
	if rep.totalCalls() != 4 || rep.APICalls["iam:SimulatePrincipalPolicy"] != 1 {
		t.Fatalf("calls %v", rep.APICalls)
	}
	// ListParts under the AWS profile is a blind spot (the default rule): IAM is read.
	p.Steps = append(p.Steps, mpu.ListParts)
	rep = checkPlan(t, sim, p, ProfileAWS)
	if s, _ := rep.Step(mpu.ListParts); s.Decision != mpu.Allowed || s.Evaluator != mpu.EvaluatorLocal || s.DefaultRule != ruleInitiator {
		t.Fatalf("ListParts: %s %s %q", s.Decision, s.Evaluator, s.DefaultRule)
	}
	if len(fi.calls) == 0 {
		t.Fatal("identity not read for the blind spot")
	}
}
