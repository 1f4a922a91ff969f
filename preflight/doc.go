// Package preflight tells, before an upload sends a byte, which step of an
// S3 multipart upload would be denied, why, and the smallest policy change
// that fixes it; it never uploads, never changes a policy, and leaves no
// upload behind (the probe's one test upload is aborted and verified gone).
//
// A Plan describes the upload (bucket, key, SSE, ACL and other headers, a
// copy source, the caller). Requirements maps each step — Initiate,
// UploadPart, UploadPartCopy, Complete, Abort, ListParts, ListUploads — to
// the IAM actions and resources it needs, each with the request context the
// call really carries: only CreateMultipartUpload sends the ACL, SSE,
// storage class and other header-derived condition keys, so a statement
// that requires one of them is flagged as a risk for the other steps.
//
// A Checker runs one Evaluator over the requirements and returns a Report:
// per step the actions, resources, Decision (allowed, explicitDeny,
// implicitDeny, unknown), the evaluator that decided, the reasons (policy
// and statement, or the S3 default rule), the missing context, a Remedy and
// risk notes. For SSE-KMS plans, Options.KMS (package kmsperm) adds one
// KMS row per step (the KMS calls S3 makes with the caller's identity,
// with Plan.ChecksumAlgorithm and the copy source's key, account, Region,
// Bucket Key and encryption context taken into account), a seed row for
// the S3 permission table's full KMS list (advisory unless the KMS
// checker requires it: kmsperm.Options.RequireSeedActions), and gaps with hints for what it could
// not read. A copy from an SSE-KMS object into a target that is not SSE-KMS
// encrypted (SSE-S3 or none) gets one KMS row, UploadPartCopy's kms:Decrypt
// on the source key, and no target key or seed row. The evaluators:
//
//   - Local: the offline policy engine over supplied documents, or over
//     documents it reads (IAM user, group and role policies; bucket
//     policy, bucket ACL and Object Ownership). Unreadable sources are
//     gaps: a verdict a gap could change is Unknown, never Allowed.
//   - NewSimulate: IAM's policy simulator, batched, with the local engine
//     deciding what the simulator cannot see.
//   - Probe: live and side-effect free requests (made-up upload IDs; a
//     created-and-aborted upload for Initiate, verified gone).
//   - NewAuto, the one "auto": simulator or local first, the
//     probe for what stays Unknown.
//
// On top of IAM's logic the package applies S3's own rules: bucket ACL
// grants and Object Ownership, the VPC endpoint policy, and the
// owner-or-initiator defaults for AbortMultipartUpload and ListParts. A
// Profile says which rules the server applies: ProfileAWS (Amazon S3) or
// ProfileNoDefaults (servers such as versitygw v1.8.0 that do not apply the
// defaults). When only a default rule allows a step the report says so and
// recommends an explicit grant. EvaluateRequest and EvaluateUpload expose
// the same layer for a single request (the CLI's policy eval, and deciding
// who may clean up an existing upload); DefaultManagers lists who may by
// the defaults alone.
//
// UploadChecker adapts a Checker to the uploader's preflight hook.
//
// # Errors
//
// A denial is a result, not an error: Check returns an error only when it
// cannot evaluate at all. Invalid plans, options, ARNs, ACL grants and
// policy documents give errors satisfying errors.Is(err, mpu.ErrInvalidInput);
// a malformed policy document gives a *PolicyError naming the document, the
// statement and the field. Failed API calls while reading policies become
// Gaps in the report; credentials the server rejects (mpu.ErrCredentials) end
// the check with an error instead, since they say nothing about
// permissions. Report.Gate, the rule an upload is judged by, and
// UploadChecker return a *DeniedError (errors.Is mpu.ErrPermissionDenied) for
// a denied step and an *UndecidedError (errors.Is mpu.ErrUndecided) for an
// unknown one.
//
// # JSON
//
// A Report marshals to one JSON object with snake_case keys: caller,
// bucket, key, profile, learned_profile, steps, kms, kms_seed, gaps, notes,
// leftover_uploads and api_calls (requests by operation, the KMS and IAM
// requests of the KMS check included). Each of steps has step, operation,
// actions, resources, decision (allowed, explicitDeny, implicitDeny,
// unknown), evaluator (local, simulate, probe), reasons, missing_context,
// default_rule, remedy (summary, add: [{policy, account, statement}], change: [a
// statement reference]), risks and checks (one per action: action,
// resource, decision, evaluator, reasons, statements, missing_context,
// default_rule, only_by_default, risks); a statement reference has policy,
// kind, sid, index and effect. A KMS row has step (none for the seed row),
// label, seed, advisory, actions, resources, decision, evaluator (local,
// simulate or none), reasons and remedy; a gap has source, error,
// allow_only, permission and hint. The words Decision, EvaluatorKind, Gap,
// Remedy and StatementRef are package mpu's, shared with kmsperm.
//
// # Concurrency
//
// Checker, UploadChecker and every Evaluator of the package are safe for
// concurrent use; the package keeps no global mutable state. Reports are
// plain values owned by the caller.
package preflight
