package kmsperm

import (
	"encoding/json"

	"github.com/s3mpu/s3mpu/mpu"
)

// CopySource describes the source object of UploadPartCopy.
type CopySource struct {
	// Object names the source and how it is encrypted. Its
	// BucketKeyEnabled and EncryptionContext are those stored with the
	// source object (HeadObject reports them).
	Object
	// KMSKeyID is the source object's KMS key (HeadObject's
	// SSEKMSKeyId, normally a key ARN); "" when the source is not SSE-KMS
	// encrypted, in which case the copy needs no KMS permission on it.
	KMSKeyID string `json:"kms_key_id,omitempty"`
	// Region is the source bucket's Region; "" means the target's.
	Region string `json:"region,omitempty"`
	// Account owns the source bucket; "" means the caller's account. A
	// bare key ID or alias in KMSKeyID is resolved there.
	Account string `json:"account,omitempty"`
	// KeyPolicy is the source key's policy, when the caller has it; nil
	// means "read it with kms:GetKeyPolicy".
	KeyPolicy []byte `json:"-"`
}

// Input is one multipart upload to check: an SSE-KMS upload, or (with
// TargetNotKMS) an upload that is not SSE-KMS encrypted but copies parts
// from an SSE-KMS encrypted source object.
type Input struct {
	// Caller is the ARN of the principal that makes the S3 requests: an
	// IAM user, a role, an assumed-role session or an account root.
	Caller string `json:"caller"`
	// Region is the target bucket's Region; S3 calls KMS there.
	Region string `json:"region"`
	// Object is the target object, with its Bucket Key setting and any
	// additional encryption context.
	Object Object `json:"object"`
	// BucketAccount owns the target bucket; "" means the caller's account.
	// When KMSKeyID is empty (and TargetNotKMS false) S3 uses the AWS
	// managed key aws/s3 of this account.
	BucketAccount string `json:"bucket_account,omitempty"`
	// KMSKeyID is the key as the upload names it
	// (x-amz-server-side-encryption-aws-kms-key-id): key ID, key ARN, alias
	// name or alias ARN; "" means S3's AWS managed key aws/s3, unless
	// TargetNotKMS is set.
	KMSKeyID string `json:"kms_key_id,omitempty"`
	// TargetNotKMS is true when the target object is not SSE-KMS encrypted
	// (SSE-S3, SSE-C or no server-side encryption header): S3 then makes no
	// KMS call for the target, and the only KMS requirement left is
	// kms:Decrypt on the copy source's key for UploadPartCopy when
	// CopySource.KMSKeyID is set. No target key is assumed (not even
	// aws/s3), no target key appears in the Report, and Report.Seed has no
	// actions. KMSKeyID and KeyPolicy must then be empty (mpu.ErrInvalidInput
	// otherwise). The zero value keeps the SSE-KMS meaning of KMSKeyID.
	TargetNotKMS bool `json:"target_not_kms,omitempty"`
	// Checksums is true when the upload sends additional checksums.
	Checksums bool `json:"checksums,omitempty"`
	// Steps are the steps to check, in report order; nil means
	// mpu.AllSteps.
	Steps []mpu.Step `json:"steps,omitempty"`
	// CopySource describes the UploadPartCopy source; nil when the upload
	// copies nothing.
	CopySource *CopySource `json:"copy_source,omitempty"`
	// KeyPolicy is the target key's policy when the caller supplies it
	// (for example from a file); nil means "read it with kms:GetKeyPolicy".
	// A supplied policy is used even when GetKeyPolicy would work.
	KeyPolicy []byte `json:"-"`
	// Identity are the caller's identity policies (user inline, attached
	// and group policies, or the role's policies). nil means "not
	// supplied": the identity side is then decided by the IAM simulator
	// when Options.IAM is set, and is unknown otherwise. A non-nil empty
	// slice means the caller has no identity policies.
	Identity []mpu.PolicyDocument `json:"-"`
	// Boundary is the caller's permissions boundary (nil: none).
	Boundary []mpu.PolicyDocument `json:"-"`
	// Session are the session policies of an assumed-role caller (nil: none).
	Session []mpu.PolicyDocument `json:"-"`
}

// Options configure a Checker. The zero value checks with the key policy
// and the identity policies supplied in each Input and the KMS client given
// to New.
type Options struct {
	// IAM, when set, decides the identity side with
	// iam:SimulatePrincipalPolicy whenever Input.Identity is nil. IAM's
	// simulator does not see key policies; kmsperm evaluates those itself.
	IAM IAMSimulateAPI
	// RequireSeedActions makes the Initiate row also require the S3
	// multipart permission table's full list (SeedActions) on the target
	// key. Without it the list is still checked and reported in
	// Report.Seed, but only the actions S3 performs decide the steps.
	RequireSeedActions bool
	// Identity, KeyPolicy and SourceKeyPolicy stand in for
	// Input.Identity, Input.KeyPolicy and Input.CopySource.KeyPolicy when
	// those are nil: the caller's identity policies and the key policies
	// it supplies once for every check, as when a preflight Checker builds
	// the Input (KeyPolicy is not used for Input.TargetNotKMS).
	Identity        []mpu.PolicyDocument
	KeyPolicy       []byte
	SourceKeyPolicy []byte
}

// Policy sources reported in KeyReport.PolicySource.
const (
	// PolicySupplied: the caller supplied the key policy.
	PolicySupplied = "supplied"
	// PolicyGetKeyPolicy: read with kms:GetKeyPolicy.
	PolicyGetKeyPolicy = "GetKeyPolicy"
	// PolicyAWSManaged: the key is S3's AWS managed key, whose policy AWS
	// writes and no one can change; kmsperm uses that documented policy.
	PolicyAWSManaged = "aws-managed"
	// PolicyUnavailable: the key policy could not be read; decisions that
	// depend on it are Unknown.
	PolicyUnavailable = "unavailable"
)

// KeyReport is what kmsperm learned about one key.
type KeyReport struct {
	// Role is TargetKey or SourceKey.
	Role KeyRole `json:"role"`
	// Key is the resolved key.
	Key Key `json:"key"`
	// PolicySource is one of PolicySupplied, PolicyGetKeyPolicy,
	// PolicyAWSManaged, PolicyUnavailable.
	PolicySource string `json:"policy_source"`
	// KeyPolicy is the key policy used, as JSON (nil when unavailable).
	KeyPolicy json.RawMessage `json:"key_policy,omitempty"`
}

// ActionResult is the decision on one KMS action on one key.
type ActionResult struct {
	// Action is the KMS action, e.g. "kms:Decrypt"; for seed rows it may
	// be a wildcard as the seed writes it ("kms:GenerateDataKey*").
	Action string `json:"action"`
	// Key is TargetKey or SourceKey.
	Key KeyRole `json:"key"`
	// KeyARN is the key acted on (the alias ARN when it did not resolve).
	KeyARN string `json:"key_arn"`
	// Why says why S3 performs the action, and Doc where that is documented.
	Why string `json:"why"`
	Doc string `json:"doc,omitempty"`
	// Seed is true for an action the S3 permission table lists that S3
	// does not itself perform in this step.
	Seed bool `json:"seed,omitempty"`
	// Decision is the verdict.
	Decision mpu.Decision `json:"decision"`
	// Evaluator says who decided the identity side: local (supplied
	// policies), simulate (IAM's policy simulator) or none (identity
	// policies unknown).
	Evaluator mpu.EvaluatorKind `json:"evaluator"`
	// Deciding lists the statements that decided it (formatted references).
	Deciding []string `json:"deciding,omitempty"`
	// DependsOn lists condition keys whose values kmsperm does not know and
	// that could change the decision.
	DependsOn []string `json:"depends_on,omitempty"`
	// Reasons explain the decision.
	Reasons []string `json:"reasons"`
	// GrantsNotEvaluated is true when no policy allowed the action: a KMS
	// grant could still allow it, and kmsperm does not read grants.
	GrantsNotEvaluated bool `json:"grants_not_evaluated,omitempty"`
}

// remedy is one change that would turn a denial into an allow; a row's
// remedies become its mpu.Remedy.
type remedy struct {
	// where is "key policy", "identity policy" or "key" (a change to the
	// key or to the upload, described in text).
	where string
	// account is the account that must make the change (the key owner for
	// a key policy, the caller's account for an identity policy).
	account string
	// keyARN is the key the change concerns.
	keyARN string
	// statement is the policy statement to add, minimal and exact; nil
	// when the remedy is not a statement.
	statement json.RawMessage
	// text describes the change.
	text string
}

// Row is the KMS verdict for one multipart step.
type Row struct {
	// Step is the step; the zero Step marks Report.Seed.
	Step mpu.Step `json:"step"`
	// Label names the row: the step's name, or "upload (S3 permission table)".
	Label string `json:"label"`
	// Actions are the KMS actions the step needs, each decided. A step
	// that needs none (Abort, ListUploads) has no actions and is Allowed.
	Actions []ActionResult `json:"actions"`
	// Decision combines the actions: explicitDeny if any is explicitly
	// denied, else implicitDeny if any is, else unknown if any is, else
	// allowed. Seed-only actions count only with RequireSeedActions.
	Decision mpu.Decision `json:"decision"`
	// Reasons summarise the decision.
	Reasons []string `json:"reasons"`
	// Remedy is what would allow the step, nil when nothing needs to
	// change: Summary says every change in a sentence each ("; "
	// between), Add holds the statements to add, each with the policy
	// ("key policy of KEY-ARN" or "identity policy") and the account that
	// must add it.
	Remedy *mpu.Remedy `json:"remedy,omitempty"`
}

// Report is the result of Check: one row per step, the seed list's row,
// the keys and the gaps.
type Report struct {
	// Caller is the checked principal's ARN.
	Caller string `json:"caller"`
	// Keys describe the target key (none with Input.TargetNotKMS) and,
	// for a KMS-encrypted copy source, the source key.
	Keys []KeyReport `json:"keys"`
	// Rows has one row per checked step, in Input.Steps order.
	Rows []Row `json:"rows"`
	// Seed decides the S3 permission table's full list (SeedActions) on
	// the target key, for the upload as a whole. With Input.TargetNotKMS
	// there is no target key and Seed has no actions.
	Seed Row `json:"seed"`
	// Gaps are what kmsperm could not read, with hints.
	Gaps []mpu.Gap `json:"gaps,omitempty"`
	// APICalls counts the KMS and IAM requests the check made, by
	// operation ("kms:DescribeKey", "kms:GetKeyPolicy",
	// "iam:SimulatePrincipalPolicy").
	APICalls map[string]int `json:"api_calls,omitempty"`
	// SeedRequired is true when the Initiate row requires the seed list
	// (Options.RequireSeedActions): the seed row then counts.
	SeedRequired bool `json:"seed_required,omitempty"`
}

// Row returns the row of step and true, or a zero Row and false.
func (r *Report) Row(step mpu.Step) (Row, bool) {
	for _, row := range r.Rows {
		if row.Step == step {
			return row, true
		}
	}
	return Row{}, false
}

// Decision combines every row (not the seed row unless RequireSeedActions
// folded it into Initiate) into one verdict for the whole upload.
func (r *Report) Decision() mpu.Decision {
	d := mpu.Allowed
	for _, row := range r.Rows {
		d = mpu.Worse(d, row.Decision)
	}
	return d
}
