package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
)

// abortJudge decides whether the caller may abort an existing upload by S3's
// owner-or-initiator rules (preflight.EvaluateRequest with no policies: what the rules alone
// allow), and says who else may.
type abortJudge struct {
	caller      string // the caller's ARN, or "" when unknown
	callerNote  string // why the caller is unknown
	bucket      string
	bucketOwner string // account ID, or "" when unknown
	partition   string
	profile     preflight.Profile
	identity    []mpu.PolicyDocument
	bucketPol   mpu.PolicyDocument
	policies    bool // policy documents were given: the verdict is complete, not the rules alone
}

// verdict is one upload's answer: may is "yes", "no", "needs-grant" or "unknown".
type verdict struct{ may, why, whoCan string }

// newAbortJudge finds the caller (--caller, else sts:GetCallerIdentity) and the bucket owner
// (--bucket-owner, else whether the caller's own account owns the bucket, checked with
// HeadBucket's expected-bucket-owner condition).
func (a *app) newAbortJudge(ctx context.Context, cli *s3.Client, bucket string, id identityFlags) (*abortJudge, error) {
	prof, err := id.validate()
	if err != nil {
		return nil, err
	}
	j := &abortJudge{caller: id.caller, bucket: bucket, bucketOwner: id.bucketOwner, partition: "aws", profile: prof}
	if j.identity, err = readPolicyFiles("--identity-policy", id.identityPolicies); err != nil {
		return nil, err
	}
	if id.bucketPolicy != "" {
		if j.bucketPol, err = readPolicyFile("--bucket-policy", id.bucketPolicy); err != nil {
			return nil, err
		}
	}
	j.policies = len(j.identity) > 0 || id.bucketPolicy != ""
	if j.caller == "" {
		arn, err := a.callerARN(ctx)
		if err != nil {
			j.callerNote = "caller unknown (" + err.Error() + "); give --caller ARN"
		}
		j.caller = arn
	}
	if p := arnField(j.caller, 1); p != "" {
		j.partition = p
	}
	acct := arnField(j.caller, 4)
	if j.bucketOwner == "" && acct != "" && prof == preflight.ProfileAWS {
		if _, err := cli.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket), ExpectedBucketOwner: aws.String(acct)}); err == nil {
			j.bucketOwner = acct
		}
	}
	return j, nil
}

// validate checks the flags before any request is made.
func (id identityFlags) validate() (preflight.Profile, error) {
	prof, err := cmdkit.ParseServerProfile(id.serverProfile)
	if err != nil {
		return prof, err
	}
	if id.bucketOwner != "" && !policy.IsAccountID(id.bucketOwner) {
		return prof, cmdkit.UsageErrorf("--bucket-owner %q: want a 12-digit account ID", id.bucketOwner)
	}
	if id.caller != "" && !strings.HasPrefix(id.caller, "arn:") {
		return prof, cmdkit.UsageErrorf("--caller %q: want a principal ARN", id.caller)
	}
	return prof, nil
}

// callerARN asks STS who the credentials belong to; with a custom S3 endpoint and no STS
// endpoint it does not ask AWS's STS, which would not know the server's credentials.
func (a *app) callerARN(ctx context.Context) (string, error) {
	arn, err := a.CallerARN(ctx)
	if err != nil && !errors.Is(err, cmdkit.ErrSTSNotAsked) {
		code := cmdkit.APICode(err)
		if code == "" {
			code = "request failed"
		}
		return "", fmt.Errorf("sts:GetCallerIdentity: %s", code)
	}
	return arn, err
}

// arnField returns field i of an ARN (1 partition, 2 service, 3 region, 4 account), or "".
func arnField(arn string, i int) string {
	f := strings.SplitN(arn, ":", 6)
	if len(f) < 6 || f[0] != "arn" {
		return ""
	}
	return f[i]
}

func (j *abortJudge) objectARN(key string) string {
	return "arn:" + j.partition + ":s3:::" + j.bucket + "/" + key
}

// judge answers for the upload of key initiated by initiator (an ARN, or "" when the server
// does not report it).
func (j *abortJudge) judge(key, initiator string) verdict {
	v := verdict{may: "unknown", whoCan: j.whoCan(key, initiator)}
	if j.caller == "" {
		v.why = j.callerNote
		return v
	}
	res, err := preflight.EvaluateRequest(preflight.EvalInput{
		Caller: j.caller, Action: "s3:AbortMultipartUpload", Resource: j.objectARN(key),
		ResourceAccount: j.bucketOwner, Initiator: initiator, Profile: j.profile,
		IdentityPolicies: j.identity, BucketPolicy: j.bucketPol,
	})
	if err != nil {
		v.why = trimPkg(err)
		return v
	}
	switch {
	case res.Decision == mpu.Allowed && res.DefaultRule != "":
		v.may, v.why = "yes", strings.TrimPrefix(res.DefaultRule, "owner-or-initiator default: ")
	case res.Decision == mpu.Allowed:
		v.may = "yes"
		if len(res.Reasons) > 0 {
			v.why = res.Reasons[0]
		}
	case res.Decision == mpu.ExplicitDeny:
		v.may = "no"
		if len(res.Reasons) > 0 {
			v.why = res.Reasons[0]
		}
	case j.policies:
		v.may, v.why = "no", "no statement of the given policies allows s3:AbortMultipartUpload and no default rule covers you"
	case initiator == "" && j.profile == preflight.ProfileAWS:
		v.why = "the server does not report the initiator; a policy grant may still allow it"
	case j.profile != preflight.ProfileAWS:
		v.may, v.why = "needs-grant", "server profile "+j.profile.String()+" has no owner-or-initiator defaults: only an Allow for s3:AbortMultipartUpload lets you"
	default:
		v.may, v.why = "needs-grant", "you are neither the bucket owner nor the initiator: only an Allow for s3:AbortMultipartUpload lets you"
	}
	return v
}

// whoCan says who may abort the upload by the rules, and how else it can go.
func (j *abortJudge) whoCan(key, initiator string) string {
	grant := "any principal allowed s3:AbortMultipartUpload on " + j.objectARN(key)
	if j.profile != preflight.ProfileAWS {
		return grant + " (the server applies no owner-or-initiator defaults), or a lifecycle rule with AbortIncompleteMultipartUpload"
	}
	var who []string
	for _, m := range preflight.DefaultManagers(j.bucketOwner, initiator) {
		who = append(who, m)
	}
	if j.bucketOwner == "" {
		who = append(who, "the bucket owner")
	}
	if initiator == "" {
		who = append(who, "the upload's initiator (and its account)")
	}
	return strings.Join(append(who, grant), ", ") + "; or a lifecycle rule with AbortIncompleteMultipartUpload"
}
