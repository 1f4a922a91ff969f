package integration

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/uploader"
)

// TestPreflightUploaderHook runs the chain evaluator (IAM simulator, local
// engine, probe) against versitygw as the uploader's preflight hook: the
// server has no IAM policy simulator, so the local engine decides, from
// policies it reads itself; the caller is found with sts:GetCallerIdentity.
// A user allowed only s3:PutObject may not abort on versitygw, so enforce
// mode refuses a multipart upload before any request, and lets it run once
// s3:AbortMultipartUpload is granted.
func TestPreflightUploaderHook(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t, s3test.WithPrefix("pfhook"))
	u := env.NewUser(t, "pfhook")
	putOnly := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::` + bucket + `/*"}]}`
	env.PutUserPolicy(t, u.Name, putOnly)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	tgt := env.HTTPS()
	cli := env.S3For(tgt, u)
	root := env.Root(tgt)
	ic := env.IAMClient()
	st := sts.New(sts.Options{Region: env.Region(), BaseEndpoint: aws.String(env.IAMEndpoint), HTTPClient: env.HTTPClient(),
		Credentials: credentials.NewStaticCredentialsProvider(u.AccessKey, u.SecretKey, "")})
	chain := preflight.NewAuto(preflight.LocalOptions{IAM: ic, S3: root}, ic, preflight.NewProbe(cli, preflight.ProbeOptions{Cleanup: root}))
	checker := preflight.New(chain, func(o *preflight.Options) {
		o.Profile = preflight.ProfileNoDefaults
		o.STS = st
	})
	var last *preflight.Report
	uc := &preflight.UploadChecker{Checker: checker, OnReport: func(r *preflight.Report) { last = r },
		Template: preflight.Plan{CallerCanonicalID: u.AccessKey, BucketOwner: env.AccountID(), Transport: preflight.TransportHTTPS, SourceIP: "127.0.0.1"}}
	up := uploader.New(cli, func(o *uploader.Options) {
		o.Preflight = uc
		o.PartSize = 5 << 20
	})
	body := bytes.Repeat([]byte("p"), 6<<20)

	_, err := up.Upload(ctx, &uploader.UploadInput{Bucket: bucket, Key: "denied.bin", Body: bytes.NewReader(body)})
	var ue *uploader.UploadError
	if !errors.As(err, &ue) || ue.Op != mpu.OpPreflight || !errors.Is(err, mpu.ErrPermissionDenied) {
		t.Fatalf("upload with Abort denied: %v", err)
	}
	if !strings.Contains(err.Error(), "s3:AbortMultipartUpload") {
		t.Errorf("error does not name the missing action: %v", err)
	}
	if last == nil || last.Caller != u.ARN || last.APICalls["sts:GetCallerIdentity"] != 1 {
		t.Fatalf("report: %+v", last)
	}
	ab, _ := last.Step(mpu.Abort)
	if ab.Evaluator != mpu.EvaluatorLocal || !strings.Contains(strings.Join(ab.Reasons, " "), "the simulator failed") || ab.Remedy == nil {
		t.Errorf("Abort verdict: %s %q %+v", ab.Evaluator, ab.Reasons, ab.Remedy)
	}
	if _, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("denied.bin")}); err == nil {
		t.Error("a refused upload stored an object")
	}
	t.Logf("refused (API calls: %v):\n%s", last.APICalls, last)

	// Keeping the parts on error needs no Abort: the upload runs.
	if _, err := up.Upload(ctx, &uploader.UploadInput{Bucket: bucket, Key: "kept.bin", Body: bytes.NewReader(body)}, func(o *uploader.Options) { o.LeavePartsOnError = true }); err != nil {
		t.Fatalf("upload without the Abort check: %v", err)
	}
	// With the grant the preflight passes.
	env.PutUserPolicy(t, u.Name, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:AbortMultipartUpload"],"Resource":"arn:aws:s3:::`+bucket+`/*"}]}`)
	if _, err := up.Upload(ctx, &uploader.UploadInput{Bucket: bucket, Key: "allowed.bin", Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("upload after the grant: %v\n%s", err, last)
	}
	if !last.OK() {
		t.Errorf("report not OK:\n%s", last)
	}
}
