package policy_test

import (
	"errors"
	"fmt"

	"github.com/s3mpu/s3mpu/internal/policy"
)

func ExampleEvaluate() {
	identity, err := policy.ParseNamed("user/alice/upload", []byte(`{
	  "Version": "2012-10-17",
	  "Statement": {"Sid": "Home", "Effect": "Allow", "Action": "s3:PutObject",
	                "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/home/${aws:username}/*"}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	bucket, err := policy.ParseNamed("bucket policy", []byte(`{
	  "Version": "2012-10-17",
	  "Statement": {"Sid": "RequireKMS", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
	                "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*",
	                "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	alice, err := policy.PrincipalFromARN("arn:aws:iam::111122223333:user/alice")
	if err != nil {
		fmt.Println(err)
		return
	}
	set := policy.PolicySet{Identity: []*policy.Document{identity}, Resource: []*policy.Document{bucket}}
	req := policy.Request{Principal: alice, Action: "s3:PutObject", Resource: "arn:aws:s3:::DOC-EXAMPLE-BUCKET/home/alice/a.tar"}

	r := policy.Evaluate(req, set)
	fmt.Println(r.Decision, r.Deciding, r.MissingKeys)

	req.Context = map[string][]string{"s3:x-amz-server-side-encryption": {"aws:kms"}}
	r = policy.Evaluate(req, set)
	fmt.Println(r.Decision, r.Deciding)
	// Output:
	// explicitDeny [resource policy "bucket policy" statement 0 (Sid "RequireKMS")] [s3:x-amz-server-side-encryption]
	// allowed [identity policy "user/alice/upload" statement 0 (Sid "Home")]
}

func ExampleParseNamed_error() {
	_, err := policy.ParseNamed("bucket policy", []byte(`{"Statement": [
	  {"Sid": "Read", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
	   "Condition": {"IpAdress": {"aws:SourceIp": "203.0.113.0/24"}}}]}`))
	var pe *policy.ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Statement, pe.Sid, pe.Field)
	}
	fmt.Println(err)
	// Output:
	// 0 Read Condition.IpAdress
	// policy "bucket policy": statement 0 (Sid "Read"): Condition.IpAdress: unknown condition operator "IpAdress"
}

func ExampleMatchResource() {
	fmt.Println(policy.MatchResource("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b.txt"))
	fmt.Println(policy.MatchResource("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket"))
	fmt.Println(policy.MatchAction("s3:Get*", "S3:GetObjectVersion"))
	// Output:
	// true
	// false
	// true
}
