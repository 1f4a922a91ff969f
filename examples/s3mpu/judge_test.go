package main

import (
	"strings"
	"testing"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
)

func TestAbortJudge(t *testing.T) {
	const (
		alice = "arn:aws:iam::111122223333:user/alice"
		bob   = "arn:aws:iam::111122223333:user/bob"
		root  = "arn:aws:iam::111122223333:root"
	)
	deny := mpu.PolicyDocument{Name: "deny.json", JSON: []byte(`{"Version":"2012-10-17","Statement":[{"Sid":"NoAbort","Effect":"Deny","Action":"s3:AbortMultipartUpload","Resource":"*"}]}`)}
	allow := mpu.PolicyDocument{Name: "allow.json", JSON: []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:AbortMultipartUpload","Resource":"arn:aws:s3:::b/*"}]}`)}
	tests := []struct {
		name      string
		j         abortJudge
		initiator string
		may       string
		why       string
	}{
		{"initiator", abortJudge{caller: alice}, alice, "yes", "initiator"},
		{"account root", abortJudge{caller: root, bucketOwner: "111122223333"}, bob, "yes", "root"},
		{"initiator's account", abortJudge{caller: root}, bob, "yes", "account"},
		{"someone else", abortJudge{caller: alice}, bob, "needs-grant", "neither the bucket owner nor the initiator"},
		{"initiator unknown", abortJudge{caller: alice}, "", "unknown", "does not report the initiator"},
		{"caller unknown", abortJudge{callerNote: "caller unknown (x); give --caller ARN"}, alice, "unknown", "--caller"},
		{"no defaults", abortJudge{caller: alice, profile: preflight.ProfileNoDefaults}, alice, "needs-grant", "no owner-or-initiator defaults"},
		{"no defaults, policy allows", abortJudge{caller: alice, profile: preflight.ProfileNoDefaults, identity: []mpu.PolicyDocument{allow}, policies: true}, "", "yes", "allow.json"},
		{"explicit deny beats initiator", abortJudge{caller: alice, identity: []mpu.PolicyDocument{deny}, policies: true}, alice, "no", "NoAbort"},
		{"policies given, none allows", abortJudge{caller: alice, identity: []mpu.PolicyDocument{allow}, policies: true, bucket: "other"}, bob, "no", "no statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := tt.j
			if j.bucket == "" {
				j.bucket = "b"
			}
			j.partition = "aws"
			v := j.judge("key", tt.initiator)
			if v.may != tt.may || !strings.Contains(v.why, tt.why) {
				t.Fatalf("judge = %+v, want %s (%q)", v, tt.may, tt.why)
			}
			if v.whoCan == "" || !strings.Contains(v.whoCan, "AbortIncompleteMultipartUpload") {
				t.Errorf("whoCan %q", v.whoCan)
			}
		})
	}
	j := abortJudge{bucket: "b", partition: "aws", bucketOwner: "111122223333"}
	if w := j.whoCan("k", bob); !strings.Contains(w, "arn:aws:iam::111122223333:root") || !strings.Contains(w, bob) {
		t.Errorf("whoCan %q", w)
	}
	j.profile = preflight.ProfileNoDefaults
	if w := j.whoCan("k", bob); strings.Contains(w, bob) || !strings.Contains(w, "no owner-or-initiator defaults") {
		t.Errorf("whoCan without defaults %q", w)
	}
}

func TestArnField(t *testing.T) {
	if got := arnField("arn:aws-cn:iam::111122223333:user/a", 1); got != "aws-cn" {
		t.Errorf("partition %q", got)
	}
	if got := arnField("arn:aws:iam::111122223333:user/a", 4); got != "111122223333" {
		t.Errorf("account %q", got)
	}
	if got := arnField("not-an-arn", 4); got != "" {
		t.Errorf("bad ARN %q", got)
	}
}
