package preflight

import (
	"errors"
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/mpu"
)

const (
	acct    = "111122223333"
	other   = "444455556666"
	alice   = "arn:aws:iam::111122223333:user/alice"
	bob     = "arn:aws:iam::111122223333:user/bob"
	carol   = "arn:aws:iam::444455556666:user/carol"
	rootA   = "arn:aws:iam::111122223333:root"
	rootB   = "arn:aws:iam::444455556666:root"
	objARN  = "arn:aws:s3:::photos/2026/a.jpg"
	bktARN  = "arn:aws:s3:::photos"
	putOnly = `{"Version":"2012-10-17","Statement":[{"Sid":"Put","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/*"}]}`
	allowS3 = `{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	getOnly = `{"Version":"2012-10-17","Statement":[{"Sid":"Get","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}`
	session = "arn:aws:sts::111122223333:assumed-role/uploader/s1"
)

func doc(name, json string) mpu.PolicyDocument {
	return mpu.PolicyDocument{Name: name, JSON: []byte(json)}
}

func TestEvaluateRequest(t *testing.T) {
	denyAbortBucket := `{"Version":"2012-10-17","Statement":[{"Sid":"NoAbort","Effect":"Deny","Principal":"*","Action":"s3:AbortMultipartUpload","Resource":"arn:aws:s3:::photos/*"}]}`
	grantCarol := `{"Version":"2012-10-17","Statement":[{"Sid":"Carol","Effect":"Allow","Principal":{"AWS":"` + carol + `"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/*"}]}`
	vpceNoAbort := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*"}]}`
	keyPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"Use","Effect":"Allow","Principal":{"AWS":"` + alice + `"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::photos"}}}]}`
	write := func(g string) []ACLGrant {
		gr, err := ParseACLGrant(g)
		if err != nil {
			t.Fatal(err)
		}
		return []ACLGrant{gr}
	}
	cases := []struct {
		name string
		in   EvalInput
		want mpu.Decision
		rule string
		why  string // substring of the reasons
	}{
		{name: "identity allows", in: EvalInput{Caller: alice, Action: "s3:PutObject", Resource: objARN, IdentityPolicies: []mpu.PolicyDocument{doc("p", putOnly)}}, want: mpu.Allowed},
		{name: "nothing allows", in: EvalInput{Caller: alice, Action: "s3:PutObject", Resource: objARN}, want: mpu.ImplicitDeny},
		{name: "initiator may abort by default on AWS", in: EvalInput{Caller: alice, Action: actionAbortMultipartUpload, Resource: objARN, Initiator: alice, IdentityPolicies: []mpu.PolicyDocument{doc("p", putOnly)}}, want: mpu.Allowed, rule: ruleInitiator},
		{name: "initiator may list parts by default on AWS", in: EvalInput{Caller: alice, Action: actionListMultipartUploadParts, Resource: objARN, Initiator: alice}, want: mpu.Allowed, rule: ruleInitiator},
		{name: "no default without the defaults profile", in: EvalInput{Caller: alice, Action: actionAbortMultipartUpload, Resource: objARN, Initiator: alice, Profile: ProfileNoDefaults}, want: mpu.ImplicitDeny, why: "applies no owner-or-initiator defaults"},
		{name: "another user gets no default", in: EvalInput{Caller: bob, Action: actionAbortMultipartUpload, Resource: objARN, Initiator: alice}, want: mpu.ImplicitDeny},
		{name: "bucket owner root by default", in: EvalInput{Caller: rootA, Action: actionAbortMultipartUpload, Resource: objARN, Initiator: carol, ResourceAccount: acct, BucketPolicy: doc("b", grantCarol)}, want: mpu.Allowed},
		{name: "initiator account root by default", in: EvalInput{Caller: rootB, Action: actionAbortMultipartUpload, Resource: objARN, Initiator: carol, ResourceAccount: acct}, want: mpu.Allowed, rule: ruleInitiatorAccount},
		{name: "explicit deny beats the default", in: EvalInput{Caller: alice, Action: actionAbortMultipartUpload, Resource: objARN, Initiator: alice, BucketPolicy: doc("b", denyAbortBucket)}, want: mpu.ExplicitDeny},
		{name: "list uploads has no default", in: EvalInput{Caller: rootB, Action: actionListBucketMultipartUploads, Resource: bktARN, Initiator: rootB, ResourceAccount: acct}, want: mpu.ImplicitDeny},
		{name: "endpoint policy blocks the default", in: EvalInput{Caller: alice, Action: actionAbortMultipartUpload, Resource: objARN, Initiator: alice, VPCEndpointPolicy: doc("vpce", vpceNoAbort)}, want: mpu.ImplicitDeny, why: "VPC endpoint policy"},
		{name: "cross account needs both: identity only", in: EvalInput{Caller: carol, Action: "s3:PutObject", Resource: objARN, ResourceAccount: acct, IdentityPolicies: []mpu.PolicyDocument{doc("p", putOnly)}}, want: mpu.ImplicitDeny},
		{name: "cross account needs both: both", in: EvalInput{Caller: carol, Action: "s3:PutObject", Resource: objARN, ResourceAccount: acct, IdentityPolicies: []mpu.PolicyDocument{doc("p", putOnly)}, BucketPolicy: doc("b", grantCarol)}, want: mpu.Allowed},
		{name: "AWS: ACL grant to the caller's canonical ID is a grant to its account", in: EvalInput{Caller: alice, CallerCanonicalID: "c-acct", Action: "s3:PutObject", Resource: objARN, ACLGrants: write("WRITE=canonical:c-acct"), ObjectOwnership: OwnershipObjectWriter}, want: mpu.ImplicitDeny},
		{name: "AWS: the account's grant plus the user's identity policy", in: EvalInput{Caller: alice, CallerCanonicalID: "c-acct", Action: "s3:PutObject", Resource: objARN, ACLGrants: write("WRITE=canonical:c-acct"), ObjectOwnership: OwnershipObjectWriter, IdentityPolicies: []mpu.PolicyDocument{doc("p", putOnly)}}, want: mpu.Allowed},
		{name: "AWS: cross-account canonical grant delegates", in: EvalInput{Caller: carol, CallerCanonicalID: "c-other", ResourceAccount: acct, Action: "s3:PutObject", Resource: objARN, ACLGrants: write("WRITE=canonical:c-other"), ObjectOwnership: OwnershipObjectWriter}, want: mpu.ImplicitDeny},
		{name: "AWS: cross-account canonical grant plus identity", in: EvalInput{Caller: carol, CallerCanonicalID: "c-other", ResourceAccount: acct, Action: "s3:PutObject", Resource: objARN, ACLGrants: write("WRITE=canonical:c-other"), ObjectOwnership: OwnershipObjectWriter, IdentityPolicies: []mpu.PolicyDocument{doc("p", putOnly)}}, want: mpu.Allowed},
		{name: "versitygw: ACL grant to the caller's canonical ID (its access key)", in: EvalInput{Caller: alice, CallerCanonicalID: "c-alice", Action: "s3:PutObject", Resource: objARN, ACLGrants: write("WRITE=canonical:c-alice"), Profile: ProfileNoDefaults}, want: mpu.Allowed},
		{name: "ACL ignored under BucketOwnerEnforced", in: EvalInput{Caller: carol, CallerCanonicalID: "c-other", ResourceAccount: acct, Action: "s3:PutObject", Resource: objARN, ACLGrants: write("WRITE=canonical:c-other"), ObjectOwnership: OwnershipBucketOwnerEnforced, IdentityPolicies: []mpu.PolicyDocument{doc("p", putOnly)}}, want: mpu.ImplicitDeny},
		{name: "ACL WRITE gives no abort on AWS", in: EvalInput{Caller: alice, CallerCanonicalID: "c-alice", Action: actionAbortMultipartUpload, Resource: objARN, ACLGrants: write("FULL_CONTROL=canonical:c-alice"), ObjectOwnership: OwnershipObjectWriter}, want: mpu.ImplicitDeny},
		{name: "ACL WRITE gives abort on versitygw", in: EvalInput{Caller: alice, CallerCanonicalID: "c-alice", Action: actionAbortMultipartUpload, Resource: objARN, ACLGrants: write("WRITE=canonical:c-alice"), Profile: ProfileNoDefaults}, want: mpu.Allowed},
		{name: "ACL READ gives list uploads", in: EvalInput{Caller: carol, CallerCanonicalID: "c-other", ResourceAccount: acct, Action: actionListBucketMultipartUploads, Resource: bktARN, ACLGrants: write("READ=canonical:c-other"), ObjectOwnership: OwnershipBucketOwnerPreferred,
			IdentityPolicies: []mpu.PolicyDocument{doc("p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucketMultipartUploads","Resource":"*"}]}`)}}, want: mpu.Allowed},
		{name: "ACL grant to AllUsers", in: EvalInput{Caller: bob, Action: actionListBucketMultipartUploads, Resource: bktARN, ACLGrants: write("READ=group:AllUsers"), ObjectOwnership: OwnershipObjectWriter}, want: mpu.Allowed},
		{name: "ACL grant to another account delegates", in: EvalInput{Caller: carol, Action: "s3:PutObject", Resource: objARN, ResourceAccount: acct, ACLGrants: write("WRITE=account:" + other), ObjectOwnership: OwnershipObjectWriter}, want: mpu.ImplicitDeny},
		{name: "ACL grant to another account plus identity", in: EvalInput{Caller: carol, Action: "s3:PutObject", Resource: objARN, ResourceAccount: acct, ACLGrants: write("WRITE=account:" + other), ObjectOwnership: OwnershipObjectWriter, IdentityPolicies: []mpu.PolicyDocument{doc("p", putOnly)}}, want: mpu.Allowed},
		{name: "canonical ID mapped to a user ARN", in: EvalInput{Caller: bob, Action: "s3:PutObject", Resource: objARN, ACLGrants: write("WRITE=canonical:XYZ"), CanonicalIDs: map[string]string{"XYZ": bob}, ObjectOwnership: OwnershipObjectWriter}, want: mpu.Allowed},
		{name: "versitygw ignores ACLs when a bucket policy exists", in: EvalInput{Caller: alice, CallerCanonicalID: "c-alice", Action: "s3:PutObject", Resource: objARN, ACLGrants: write("WRITE=canonical:c-alice"), BucketPolicy: doc("b", grantCarol), Profile: ProfileNoDefaults}, want: mpu.ImplicitDeny},
		{name: "AWS honours ACLs beside a bucket policy", in: EvalInput{Caller: carol, CallerCanonicalID: "c-other", ResourceAccount: acct, Action: "s3:AbortMultipartUpload", Resource: objARN, ACLGrants: write("FULL_CONTROL=canonical:c-other"), BucketPolicy: doc("b", grantCarol), ObjectOwnership: OwnershipObjectWriter,
			IdentityPolicies: []mpu.PolicyDocument{doc("p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}}, want: mpu.ImplicitDeny},
		{name: "AWS honours ACLs beside a bucket policy: list uploads", in: EvalInput{Caller: carol, CallerCanonicalID: "c-other", ResourceAccount: acct, Action: actionListBucketMultipartUploads, Resource: bktARN, ACLGrants: write("READ=canonical:c-other"), BucketPolicy: doc("b", grantCarol), ObjectOwnership: OwnershipObjectWriter,
			IdentityPolicies: []mpu.PolicyDocument{doc("p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}}, want: mpu.Allowed},
		{name: "AWS: NotPrincipal deny naming only the user still denies it", in: EvalInput{Caller: alice, Action: "s3:PutObject", Resource: objARN, IdentityPolicies: []mpu.PolicyDocument{doc("p", putOnly)},
			BucketPolicy: doc("b", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"`+alice+`"},"Action":"s3:PutObject","Resource":"*"}]}`)}, want: mpu.ExplicitDeny},
		{name: "versitygw reads no NotPrincipal in bucket policies", in: EvalInput{Caller: bob, Action: "s3:PutObject", Resource: objARN, IdentityPolicies: []mpu.PolicyDocument{doc("p", putOnly)}, Profile: ProfileNoDefaults,
			BucketPolicy: doc("b", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"`+alice+`"},"Action":"s3:PutObject","Resource":"*"}]}`)}, want: mpu.Allowed, why: "does not read"},
		{name: "versitygw root bypasses policies", in: EvalInput{Caller: rootA, Action: "s3:PutObject", Resource: objARN, BucketPolicy: doc("b", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}`), Profile: ProfileNoDefaults}, want: mpu.Allowed},
		{name: "bucket key context", in: EvalInput{Caller: alice, Action: "kms:Decrypt", Resource: "arn:aws:kms:us-east-1:111122223333:key/k1", KeyPolicy: doc("key", keyPolicy), BucketKey: true, Context: map[string][]string{"kms:EncryptionContext:aws:s3:arn": {objARN}}}, want: mpu.Allowed},
		{name: "permissions boundary without the action denies", in: EvalInput{Caller: alice, Action: "s3:PutObject", Resource: objARN, IdentityPolicies: []mpu.PolicyDocument{doc("p", allowS3)}, Boundary: doc("boundary.json", getOnly)}, want: mpu.ImplicitDeny, why: "permissions boundary does not allow"},
		{name: "permissions boundary with the action allows", in: EvalInput{Caller: alice, Action: "s3:GetObject", Resource: objARN, IdentityPolicies: []mpu.PolicyDocument{doc("p", allowS3)}, Boundary: doc("boundary.json", getOnly)}, want: mpu.Allowed},
		{name: "permissions boundary grants nothing by itself", in: EvalInput{Caller: alice, Action: "s3:GetObject", Resource: objARN, Boundary: doc("boundary.json", getOnly)}, want: mpu.ImplicitDeny},
		{name: "session policy without the action denies", in: EvalInput{Caller: session, Action: "s3:PutObject", Resource: objARN, IdentityPolicies: []mpu.PolicyDocument{doc("p", allowS3)}, Session: []mpu.PolicyDocument{doc("s1.json", getOnly)}}, want: mpu.ImplicitDeny, why: "session policy does not allow"},
		{name: "an Allow in any session policy counts", in: EvalInput{Caller: session, Action: "s3:GetObject", Resource: objARN, IdentityPolicies: []mpu.PolicyDocument{doc("p", allowS3)}, Session: []mpu.PolicyDocument{doc("s1.json", getOnly), doc("s2.json", putOnly)}}, want: mpu.Allowed},
		{name: "a session policy Deny denies", in: EvalInput{Caller: session, Action: "s3:GetObject", Resource: objARN, IdentityPolicies: []mpu.PolicyDocument{doc("p", allowS3)},
			Session: []mpu.PolicyDocument{doc("s1.json", getOnly), doc("s2.json", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:GetObject","Resource":["arn:aws:s3:::photos/${aws:username}/*","arn:aws:s3:::photos/2026/*"]}]}`)}}, want: mpu.ExplicitDeny},
		{name: "object context without bucket key", in: EvalInput{Caller: alice, Action: "kms:Decrypt", Resource: "arn:aws:kms:us-east-1:111122223333:key/k1", KeyPolicy: doc("key", keyPolicy), Context: map[string][]string{"kms:EncryptionContext:aws:s3:arn": {objARN}}}, want: mpu.ImplicitDeny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := EvaluateRequest(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != c.want {
				t.Fatalf("decision %s, want %s; reasons %q", res.Decision, c.want, res.Reasons)
			}
			if c.rule != "" && res.DefaultRule != c.rule {
				t.Errorf("rule %q, want %q", res.DefaultRule, c.rule)
			}
			if c.why != "" && !strings.Contains(strings.Join(res.Reasons, "\n"), c.why) {
				t.Errorf("reasons %q lack %q", res.Reasons, c.why)
			}
		})
	}
}

func TestEvaluateRequestBadInput(t *testing.T) {
	bad := []EvalInput{
		{Caller: "alice", Action: "s3:PutObject", Resource: objARN},
		{Caller: alice, Action: "PutObject", Resource: objARN},
		{Caller: alice, Action: "s3:PutObject", Resource: "photos/a"},
		{Caller: alice, Action: "s3:PutObject", Resource: objARN, Initiator: "nobody"},
		{Caller: alice, Action: "s3:PutObject", Resource: objARN, ResourceAccount: "12"},
		{Caller: rootA, Action: "s3:PutObject", Resource: objARN, Boundary: doc("boundary.json", getOnly)},
		{Caller: alice, Action: "s3:PutObject", Resource: objARN, Session: []mpu.PolicyDocument{doc("s.json", getOnly)}},
		{Caller: session, Action: "s3:PutObject", Resource: objARN, Session: []mpu.PolicyDocument{doc("s.json", `{"Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}`)}},
		{Caller: alice, Action: "s3:PutObject", Resource: objARN, Boundary: doc("b.json", `{"Statement":[{"Effect":"Allow","Action":"s3"}]}`)},
		{Caller: alice, Action: "s3:PutObject", Resource: objARN, IdentityPolicies: []mpu.PolicyDocument{doc("broken.json", `{"Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"},{"Sid":"Bad","Effect":"Maybe","Action":"s3:*","Resource":"*"}]}`)}},
	}
	for i, in := range bad {
		_, err := EvaluateRequest(in)
		if !errors.Is(err, mpu.ErrInvalidInput) {
			t.Errorf("case %d: err %v, want ErrInvalidInput", i, err)
		}
	}
	_, err := EvaluateRequest(bad[len(bad)-1])
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Policy != "broken.json" || pe.Statement != 1 || pe.Sid != "Bad" {
		t.Fatalf("err %#v, want a PolicyError naming broken.json statement 1 (Bad)", err)
	}
	if !strings.Contains(err.Error(), "broken.json") {
		t.Errorf("message %q does not name the file", err)
	}
}

func TestEvaluateUpload(t *testing.T) {
	in := EvalInput{Caller: bob, Resource: objARN, Initiator: alice, IdentityPolicies: []mpu.PolicyDocument{doc("p", putOnly)}}
	res, err := EvaluateUpload(mpu.Abort, in)
	if err != nil || res.Decision != mpu.ImplicitDeny {
		t.Fatalf("bob aborting alice's upload: %v %v", res.Decision, err)
	}
	in.Caller = alice
	res, err = EvaluateUpload(mpu.ListParts, in)
	if err != nil || res.Decision != mpu.Allowed || res.DefaultRule != ruleInitiator {
		t.Fatalf("alice listing her own parts: %v %q %v", res.Decision, res.DefaultRule, err)
	}
	if _, err := EvaluateUpload(mpu.Complete, in); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("Complete: %v", err)
	}
}

func TestDefaultManagers(t *testing.T) {
	got := strings.Join(DefaultManagers(acct, carol), " ")
	want := rootA + " " + carol + " " + rootB
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	got = strings.Join(DefaultManagers("", "arn:aws:sts::444455556666:assumed-role/ci/run1"), " ")
	if got != "arn:aws:sts::444455556666:assumed-role/ci/run1" {
		t.Fatalf("assumed role: %s", got)
	}
}

func TestParseACLGrant(t *testing.T) {
	for in, want := range map[string]string{
		"write=account:111122223333":                "WRITE=account:111122223333",
		"READ=group:AllUsers":                       "READ=group:" + groupAllUsers,
		"FULL_CONTROL=canonical:abc":                "FULL_CONTROL=canonical:abc",
		"READ_ACP=group:" + groupAuthenticatedUsers: "READ_ACP=group:" + groupAuthenticatedUsers,
	} {
		g, err := ParseACLGrant(in)
		if err != nil || g.String() != want {
			t.Errorf("%s: %v %v, want %s", in, g, err, want)
		}
	}
	for _, in := range []string{"WRITE", "WRITE=", "WRITE=account:12", "LIST=account:111122223333", "READ=group:Friends", "READ=email:a@b"} {
		if _, err := ParseACLGrant(in); !errors.Is(err, mpu.ErrInvalidInput) {
			t.Errorf("%s: %v, want ErrInvalidInput", in, err)
		}
	}
}

func TestParseHelpers(t *testing.T) {
	if p, err := ParseProfile("VersityGW"); err != nil || p != ProfileNoDefaults {
		t.Errorf("ParseProfile: %v %v", p, err)
	}
	if _, err := ParseProfile("minio"); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Errorf("ParseProfile(minio): %v", err)
	}
	if o, err := ParseObjectOwnership("bucketownerenforced"); err != nil || o != OwnershipBucketOwnerEnforced {
		t.Errorf("ParseObjectOwnership: %v %v", o, err)
	}
	if _, err := ParseObjectOwnership("Mine"); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Errorf("ParseObjectOwnership(Mine): %v", err)
	}
	for _, d := range []mpu.Decision{mpu.Unknown, mpu.Allowed, mpu.ExplicitDeny, mpu.ImplicitDeny} {
		b, err := d.MarshalText()
		var back mpu.Decision
		if err != nil || back.UnmarshalText(b) != nil || back != d {
			t.Errorf("decision %v round trip: %s %v", d, b, err)
		}
	}
	if _, err := mpu.Decision(9).MarshalText(); err == nil {
		t.Error("Decision(9) marshalled")
	}
}

func TestParseContext(t *testing.T) {
	ctx, err := parseContext([]string{"aws:SourceIp=192.0.2.1", "s3:RequestObjectTagKeys=a", "s3:RequestObjectTagKeys=b", "aws:Referer="})
	if err != nil || len(ctx["s3:RequestObjectTagKeys"]) != 2 || ctx["aws:SourceIp"][0] != "192.0.2.1" || len(ctx["aws:Referer"]) != 1 {
		t.Fatalf("%v %v", ctx, err)
	}
	for _, bad := range []string{"novalue", "=x", "plain=1"} {
		if _, err := parseContext([]string{bad}); !errors.Is(err, mpu.ErrInvalidInput) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
