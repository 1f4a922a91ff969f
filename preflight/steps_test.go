package preflight

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/mpu"
)

func TestRequirementsGolden(t *testing.T) {
	p := &Plan{Bucket: "photos", Key: "2026/a.jpg", ACL: "bucket-owner-full-control", StorageClass: "STANDARD_IA",
		SSE:        SSE{Algorithm: "aws:kms", KMSKeyID: "alias/uploads"},
		Headers:    map[string]string{"x-amz-tagging": "team=web&env=prod"},
		CopySource: &CopySource{Bucket: "src", Key: "big.bin", VersionID: "v1"},
		Transport:  TransportHTTPS, SourceIP: "192.0.2.10"}
	reqs := Requirements(p, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	var got []string
	for _, r := range reqs {
		got = append(got, fmt.Sprintf("%s %s %s bucket=%s headers=%s notSent=%d", r.Step, r.Action, r.Resource, r.Bucket, strings.Join(headerKeysOf(r.Context), ","), len(r.NotSent)))
	}
	want := []string{
		"Initiate s3:PutObject arn:aws:s3:::photos/2026/a.jpg bucket=photos headers=s3:RequestObjectTag/env,s3:RequestObjectTag/team,s3:RequestObjectTagKeys,s3:x-amz-acl,s3:x-amz-server-side-encryption,s3:x-amz-server-side-encryption-aws-kms-key-id,s3:x-amz-storage-class notSent=0",
		"UploadPart s3:PutObject arn:aws:s3:::photos/2026/a.jpg bucket=photos headers= notSent=7",
		"UploadPartCopy s3:PutObject arn:aws:s3:::photos/2026/a.jpg bucket=photos headers=s3:x-amz-copy-source notSent=7",
		"UploadPartCopy s3:GetObjectVersion arn:aws:s3:::src/big.bin bucket=src headers= notSent=7",
		"Complete s3:PutObject arn:aws:s3:::photos/2026/a.jpg bucket=photos headers= notSent=7",
		"Abort s3:AbortMultipartUpload arn:aws:s3:::photos/2026/a.jpg bucket=photos headers= notSent=7",
		"ListParts s3:ListMultipartUploadParts arn:aws:s3:::photos/2026/a.jpg bucket=photos headers= notSent=7",
		"ListUploads s3:ListBucketMultipartUploads arn:aws:s3:::photos bucket=photos headers= notSent=7",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ctx := reqs[1].Context
	for k, v := range map[string]string{"aws:SecureTransport": "true", "aws:SourceIp": "192.0.2.10", "aws:CurrentTime": "2026-11-27T12:00:00Z", "aws:EpochTime": "1795780800"} {
		if len(ctx[k]) != 1 || ctx[k][0] != v {
			t.Errorf("%s = %v, want %s", k, ctx[k], v)
		}
	}
	if src := reqs[2].Context["s3:x-amz-copy-source"]; len(src) != 1 || src[0] != "src/big.bin?versionId=v1" {
		t.Errorf("copy source key %v", src)
	}
}

func headerKeysOf(ctx map[string][]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(ctx)) {
		if headerKey(k) {
			out = append(out, k)
		}
	}
	return out
}

func TestPlanStepsAndValidate(t *testing.T) {
	p := &Plan{Bucket: "b", Key: "k"}
	if got := fmt.Sprint(p.steps()); got != "[Initiate UploadPart Complete Abort ListParts ListUploads]" {
		t.Errorf("default steps without copy source: %s", got)
	}
	p.CopySource = &CopySource{Bucket: "s", Key: "o"}
	if len(p.steps()) != len(mpu.AllSteps) {
		t.Errorf("default steps with copy source: %v", p.steps())
	}
	bad := []Plan{
		{Key: "k"},
		{Bucket: "b"},
		{Bucket: "b/c", Key: "k"},
		{Bucket: "b", Key: strings.Repeat("k", 1025)},
		{Bucket: "b", Key: "k", Size: -2},
		{Bucket: "b", Key: "k", Steps: []mpu.Step{mpu.UploadPartCopy}},
		{Bucket: "b", Key: "k", Steps: []mpu.Step{mpu.Step(42)}},
		{Bucket: "b", Key: "k", Caller: "alice"},
		{Bucket: "b", Key: "k", BucketOwner: "me"},
		{Bucket: "b", Key: "k", SourceIP: "local"},
		{Bucket: "b", Key: "k", SSE: SSE{Algorithm: "ROT13"}},
		{Bucket: "b", Key: "k", CopySource: &CopySource{Bucket: "s"}},
	}
	for i := range bad {
		if err := bad[i].Validate(); !errors.Is(err, mpu.ErrInvalidInput) {
			t.Errorf("plan %d: %v, want ErrInvalidInput", i, err)
		}
	}
	var nilPlan *Plan
	if err := nilPlan.Validate(); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Errorf("nil plan: %v", err)
	}
}
