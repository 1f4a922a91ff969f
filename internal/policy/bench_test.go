package policy

import (
	"fmt"
	"testing"
)

// benchSet is a dozen realistic policies: eight identity policies (one with
// policy variables and conditions), a bucket policy with Deny conditions, a
// permissions boundary, a session policy and an endpoint policy.
func benchSet(b *testing.B) (Request, PolicySet) {
	b.Helper()
	var set PolicySet
	for i := 0; i < 7; i++ {
		set.Identity = append(set.Identity, mustParse(b, fmt.Sprintf("managed-%d", i), fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
			{"Sid":"Read%[1]d","Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion","s3:ListBucket"],"Resource":["arn:aws:s3:::bucket-%[1]d","arn:aws:s3:::bucket-%[1]d/*"]},
			{"Sid":"Logs%[1]d","Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:*:111122223333:log-group:/app/%[1]d:*"},
			{"Sid":"NoIam%[1]d","Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}`, i)))
	}
	set.Identity = append(set.Identity, mustParse(b, "inline-upload", `{"Version":"2012-10-17","Statement":[
		{"Sid":"Home","Effect":"Allow","Action":["s3:PutObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],"Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/home/${aws:username}/*",
		 "Condition":{"StringEquals":{"s3:x-amz-server-side-encryption":"aws:kms"},"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}},
		{"Sid":"List","Effect":"Allow","Action":"s3:ListBucketMultipartUploads","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET"}]}`))
	set.Resource = []*Document{mustParse(b, "bucket", `{"Version":"2012-10-17","Statement":[
		{"Sid":"TLS","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::DOC-EXAMPLE-BUCKET","arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},
		{"Sid":"KMS","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/*","Condition":{"StringNotEqualsIfExists":{"s3:x-amz-server-side-encryption":"aws:kms"}}},
		{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":["444455556666","arn:aws:iam::999999999999:role/partner"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::DOC-EXAMPLE-BUCKET/shared/*"}]}`)}
	set.Boundary = []*Document{mustParse(b, "boundary", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:*","logs:*","kms:*"],"Resource":"*"}}`)}
	set.Session = []*Document{mustParse(b, "session", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`)}
	set.Endpoint = []*Document{mustParse(b, "vpce", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::DOC-EXAMPLE-BUCKET","arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"]}}`)}
	p, err := PrincipalFromARN("arn:aws:iam::111122223333:user/alice")
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Principal: p, Action: "s3:PutObject", Resource: "arn:aws:s3:::DOC-EXAMPLE-BUCKET/home/alice/backup.tar",
		Context: map[string][]string{"aws:SecureTransport": {"true"}, "s3:x-amz-server-side-encryption": {"aws:kms"}, "aws:SourceIp": {"203.0.113.9"}}}
	return req, set
}

// BenchmarkEvaluate measures one request against a dozen policies.
func BenchmarkEvaluate(b *testing.B) {
	req, set := benchSet(b)
	if r := Evaluate(req, set); r.Decision != Allowed {
		b.Fatalf("benchmark request is %v: %q", r.Decision, r.Reasons)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(req, set)
	}
}

// BenchmarkParse measures parsing a typical bucket policy.
func BenchmarkParse(b *testing.B) {
	_, set := benchSet(b)
	data := set.Resource[0].JSON()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
