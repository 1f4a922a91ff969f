package preflight

import (
	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/mpu"
)

// The owner-or-initiator default rules S3 applies to AbortMultipartUpload
// and ListParts (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions):
// the bucket owner, the initiator of the upload and, when the initiator is
// an IAM user, that user's account may abort the upload and list its parts
// unless a policy explicitly denies it. ListMultipartUploads has no such
// default. The names below appear in reports as the rule that decided a step.
const (
	ruleBucketOwner      = "owner-or-initiator default: the bucket owner"
	ruleInitiator        = "owner-or-initiator default: the initiator of the upload"
	ruleInitiatorAccount = "owner-or-initiator default: the account of the IAM user who initiated the upload"
)

// defaultRuleApplies returns the owner-or-initiator rule that covers caller
// for action, or "". bucketOwner is the bucket owner's account ID and
// initiator the upload initiator's ARN; either may be "" when unknown.
func defaultRuleApplies(action string, caller policy.Principal, initiator, bucketOwner string) string {
	if action != actionAbortMultipartUpload && action != actionListMultipartUploadParts {
		return ""
	}
	if bucketOwner != "" && caller.Type == policy.TypeRoot && caller.Account == bucketOwner {
		return ruleBucketOwner
	}
	if initiator == "" {
		return ""
	}
	if caller.ARN != "" && caller.ARN == initiator {
		return ruleInitiator
	}
	if ip, err := policy.PrincipalFromARN(initiator); err == nil {
		if ip.Type == policy.TypeRoot && caller.Type == policy.TypeRoot && ip.Account == caller.Account {
			return ruleInitiator
		}
		if ip.Type == policy.TypeUser && caller.Type == policy.TypeRoot && ip.Account == caller.Account {
			return ruleInitiatorAccount
		}
	}
	return ""
}

// DefaultManagers lists who may, by S3's owner-or-initiator defaults alone,
// abort an upload (or list its parts): the bucket owner account's root
// user, the initiator, and the initiator's account when the initiator is an
// IAM user. bucketOwner is an account ID and initiator an ARN; an empty or
// malformed value is left out. Servers without the defaults
// (ProfileNoDefaults) need an explicit grant for everyone but their
// administrators.
func DefaultManagers(bucketOwner, initiator string) []string {
	var out []string
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	if policy.IsAccountID(bucketOwner) {
		add("arn:aws:iam::" + bucketOwner + ":root")
	}
	if ip, err := policy.PrincipalFromARN(initiator); err == nil && ip.Type != policy.TypeAnonymous && ip.Type != policy.TypeService {
		add(ip.ARN)
		if ip.Type == policy.TypeUser {
			add(rootARN(ip.ARN, ip.Account))
		}
	}
	return out
}

// rootARN returns the root ARN of account in the partition of like.
func rootARN(like, account string) string {
	part := "aws"
	if len(like) > 4 && like[:4] == "arn:" {
		rest := like[4:]
		for i := 0; i < len(rest); i++ {
			if rest[i] == ':' {
				part = rest[:i]
				break
			}
		}
	}
	return "arn:" + part + ":iam::" + account + ":root"
}

// EvaluateUpload answers whether in.Caller may act on an existing upload
// initiated by in.Initiator: step is mpu.Abort or mpu.ListParts, and
// in.Resource is the upload's object ARN. The owner-or-initiator defaults
// apply as in.Profile says; in.ResourceAccount is the bucket owner. It is
// EvaluateRequest with the step's action filled in.
func EvaluateUpload(step mpu.Step, in EvalInput) (EvalResult, error) {
	switch step {
	case mpu.Abort:
		in.Action = actionAbortMultipartUpload
	case mpu.ListParts:
		in.Action = actionListMultipartUploadParts
	default:
		return EvalResult{}, invalidf("EvaluateUpload: step %v is not Abort or ListParts", step)
	}
	return EvaluateRequest(in)
}
