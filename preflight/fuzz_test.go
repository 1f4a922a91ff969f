package preflight

import (
	"testing"

	"github.com/s3mpu/s3mpu/mpu"
)

// FuzzEvaluateRequest checks that no policy, action, resource or grant
// makes EvaluateRequest panic, that it never answers Unknown, and that a
// Deny-everything bucket policy added to any input never yields Allowed
// (except for the server root under ProfileNoDefaults, which bypasses
// policies).
func FuzzEvaluateRequest(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, "s3:PutObject", "arn:aws:s3:::b/k", "WRITE=canonical:x", false)
	f.Add(`{"Statement":{"Effect":"Allow","NotAction":"s3:Get*","NotResource":"arn:aws:s3:::b"}}`, "s3:AbortMultipartUpload", "arn:aws:s3:::b/k", "READ=group:AllUsers", true)
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::${aws:username}/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`, "s3:ListMultipartUploadParts", "arn:aws:s3:::alice/x", "", false)
	f.Add(`{`, "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k", "FULL_CONTROL=account:111122223333", true)
	denyAll := mpu.PolicyDocument{Name: "deny", JSON: []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}`)}
	f.Fuzz(func(t *testing.T, pol, action, resource, grant string, nodefaults bool) {
		in := EvalInput{Caller: "arn:aws:iam::111122223333:user/alice", Action: action, Resource: resource, Initiator: "arn:aws:iam::111122223333:user/alice",
			IdentityPolicies: []mpu.PolicyDocument{{Name: "fuzz", JSON: []byte(pol)}}, CallerCanonicalID: "x"}
		if g, err := ParseACLGrant(grant); err == nil {
			in.ACLGrants = []ACLGrant{g}
		}
		if nodefaults {
			in.Profile = ProfileNoDefaults
		}
		res, err := EvaluateRequest(in)
		if err == nil && res.Decision == mpu.Unknown {
			t.Fatalf("EvaluateRequest answered Unknown")
		}
		in.BucketPolicy, in.KeyPolicy = denyAll, denyAll
		if res, err := EvaluateRequest(in); err == nil && res.Decision == mpu.Allowed {
			t.Fatalf("allowed despite a Deny-everything resource policy: %+v", res)
		}
		_, _ = EvaluateUpload(mpu.Abort, in)
	})
}
