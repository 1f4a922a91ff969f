// Package kmsperm decides, before an SSE-KMS multipart upload sends a byte,
// whether the KMS calls S3 makes on the caller's behalf will be allowed, step
// by step, and what to add to which policy when they will not; it only
// reads (kms:DescribeKey, kms:GetKeyPolicy, iam:SimulatePrincipalPolicy),
// never makes a cryptographic call, and never changes a key or a policy.
//
// S3 calls KMS with the caller's identity: kms:GenerateDataKey when the
// upload is created, kms:Decrypt for every part (not only GenerateDataKey;
// the missing Decrypt is the classic failure at multipart sizes), for
// CompleteMultipartUpload and for ListParts, and kms:Decrypt on the source
// object's key for UploadPartCopy from an SSE-KMS object — also when the
// target itself is not SSE-KMS encrypted (SSE-S3 or none), which
// Input.TargetNotKMS checks without assuming any target key. Requirements lists
// them per mpu.Step with the page that documents each; SeedActions is the S3
// permission table's broader list for the upload as a whole, checked and
// reported separately (or required at Initiate with
// Options.RequireSeedActions).
//
// Keys are resolved from a key ID, key ARN, alias name or alias ARN to the
// key ARN and owning account (ParseKey offline, kms:DescribeKey when a
// client is given). Without a key ID S3 uses the AWS managed key aws/s3,
// whose fixed policy allows only principals of its own account through S3:
// an AWS managed key cannot be used from another account.
//
// The rules are KMS's: in the key's account the key policy must allow the
// caller directly, or allow the account root (delegating to IAM) and an
// identity policy must allow; across accounts the key policy and the
// caller's identity policy must both allow; an explicit Deny anywhere wins.
// Each KMS request is evaluated with the condition keys S3 sends:
// kms:ViaService = s3.REGION.amazonaws.com, kms:CallerAccount,
// kms:EncryptionContext:aws:s3:arn (the object ARN, or the bucket ARN when an
// S3 Bucket Key is enabled), kms:EncryptionContextKeys and any additional
// encryption context. Policies are evaluated by the module's offline IAM
// engine in key-policy mode; the identity side can instead come from IAM's
// SimulatePrincipalPolicy (Options.IAM).
//
// The key policy is read with kms:GetKeyPolicy or supplied by the caller
// (Input.KeyPolicy). A key policy that cannot be read is a reported Gap with
// the permission or input that would close it, and every decision that
// depends on it is Unknown, never Allowed. KMS grants are not read: when no
// policy allows an action the result says grants were not evaluated.
//
// Check returns a Report with one Row per step: the actions, a Decision
// (allowed, explicitDeny, implicitDeny, unknown), reasons and a Remedy in
// package mpu's words: every change in a sentence, and the minimal key
// policy or identity policy statements (JSON) to add, each with the account
// that must add it.
//
// # JSON
//
// A Report marshals to one JSON object with snake_case keys: caller; keys
// (role, key: input, arn, id, alias, account, region, partition, default,
// aws_managed, described, enabled, state, spec, usage, origin,
// multi_region; policy_source, key_policy); rows and seed (step, label,
// decision, reasons, remedy: summary, add: [{policy, account, statement}];
// actions: action, key, key_arn, why, doc, seed, decision, evaluator,
// deciding, depends_on, reasons, grants_not_evaluated); gaps (source,
// error, permission, hint); api_calls (requests by operation). Decisions
// are allowed, explicitDeny, implicitDeny or unknown; evaluators local,
// simulate or none (package mpu's words, shared with preflight).
//
// # Errors
//
// A denial is a result, not an error. Check returns an error only when it
// cannot evaluate: invalid input, a policy document that does not parse, a
// key in another Region (errors.Is(err, mpu.ErrInvalidInput)), a target key
// that does not exist (mpu.ErrNotFound: kms:DescribeKey answered
// NotFoundException; the message names the key as given, its account and
// Region), or a canceled context (mpu.ErrCanceled). Other failed KMS and IAM
// calls become Gaps: a denied kms:DescribeKey means the key could not be
// read, not that it is missing, and a copy source's key that is not found
// is a Gap too. Every error is an *Error (errors.As) naming the operation
// and key.
//
// # Concurrency
//
// A Checker is safe for concurrent use when its clients are; each Check
// works on its own data. Reports are plain values owned by the caller.
package kmsperm
