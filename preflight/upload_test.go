package preflight

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/mpu"
)

func TestUploadCheckerCopyAndUnknown(t *testing.T) {
	put := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:AbortMultipartUpload"],"Resource":"arn:aws:s3:::photos/*"},{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*"}]}`
	src := Sources{Identity: []mpu.PolicyDocument{doc("p", put)}, BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced,
		SourceBucketPolicy: &mpu.PolicyDocument{}, SourceACL: &BucketACL{}, SourceOwnership: OwnershipBucketOwnerEnforced}
	var seen *Report
	uc := &UploadChecker{Checker: New(NewLocal(LocalOptions{Sources: src}), func(o *Options) { o.Profile = ProfileNoDefaults }),
		Template: Plan{Caller: alice, BucketOwner: acct, Transport: TransportHTTPS, SourceIP: "192.0.2.1"},
		OnReport: func(r *Report) { seen = r }}
	dst := &s3.CreateMultipartUploadInput{Bucket: aws.String("photos"), Key: aws.String("copy.bin"), ACL: s3types.ObjectCannedACLPrivate, StorageClass: s3types.StorageClassStandardIa}
	steps := []mpu.Step{mpu.Initiate, mpu.UploadPartCopy, mpu.Complete, mpu.Abort}
	if err := uc.CheckCopy(context.Background(), dst, "src", "big.bin", "", "", steps); err != nil {
		t.Fatalf("copy allowed: %v", err)
	}
	if seen == nil || seen.Steps[1].Resources[1] != "arn:aws:s3:::src/big.bin" {
		t.Fatalf("report %+v", seen)
	}
	err := uc.CheckCopy(context.Background(), dst, "src", "big.bin", "v7", "", steps)
	var de *DeniedError
	if !errors.As(err, &de) || !errors.Is(err, mpu.ErrPermissionDenied) || !strings.Contains(err.Error(), "s3:GetObjectVersion on arn:aws:s3:::src/big.bin") {
		t.Fatalf("version copy: %v", err)
	}
	// A condition on a key whose value is unknown: undecided unless allowed.
	uc.Template.Transport = TransportUnknown
	uc.Checker = New(NewLocal(LocalOptions{Sources: Sources{Identity: []mpu.PolicyDocument{doc("tls", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`)},
		BucketPolicy: &mpu.PolicyDocument{}, ACL: &BucketACL{}, Ownership: OwnershipBucketOwnerEnforced}}))
	err = uc.CheckUpload(context.Background(), dst, []mpu.Step{mpu.Initiate})
	var ue *UndecidedError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrUndecided) || errors.Is(err, mpu.ErrPermissionDenied) || !strings.Contains(ue.Details(), "aws:SecureTransport") {
		t.Fatalf("unknown: %v", err)
	}
	if msg := err.Error(); msg != "preflight: could not decide Initiate" {
		t.Fatalf("undecided message %q: want the steps only", msg)
	}
	var nilChecker *UploadChecker
	if err := nilChecker.CheckUpload(context.Background(), dst, nil); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("nil checker: %v", err)
	}
}

func TestPlanFromCreateInput(t *testing.T) {
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k"), ACL: s3types.ObjectCannedACLBucketOwnerFullControl,
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("alias/x"), BucketKeyEnabled: aws.Bool(true),
		SSEKMSEncryptionContext: aws.String("eyJwcm9qZWN0IjoieCJ9"), Tagging: aws.String("a=1"), GrantRead: aws.String(`id="c1"`)}
	p := PlanFromCreateInput(in)
	if p.Bucket != "b" || p.ACL != "bucket-owner-full-control" || !p.SSE.KMS() || !p.SSE.BucketKey || p.SSE.KMSContext["project"] != "x" ||
		p.Headers["x-amz-tagging"] != "a=1" || p.Headers["x-amz-grant-read"] != `id="c1"` || p.Size != SizeUnknown {
		t.Fatalf("plan %+v", p)
	}
	ctx := headerContext(p, mpu.Initiate)
	if ctx["s3:x-amz-grant-read"][0] != `id="c1"` || ctx["s3:RequestObjectTag/a"][0] != "1" {
		t.Fatalf("context %v", ctx)
	}
}
