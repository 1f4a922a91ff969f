package preflight

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3mpu/s3mpu/internal/apicalls"
	"github.com/s3mpu/s3mpu/internal/optfn"
	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/internal/uniq"
	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
)

// KMSChecker decides the SSE-KMS side of a plan. *kmsperm.Checker
// satisfies it.
type KMSChecker interface {
	Check(ctx context.Context, in kmsperm.Input, optFns ...func(*kmsperm.Options)) (*kmsperm.Report, error)
}

var _ KMSChecker = (*kmsperm.Checker)(nil)

// Options configure a Checker. The zero value evaluates with the Checker's
// evaluator under ProfileAWS, finds no caller (Plan.Caller is then
// required) and checks no KMS permissions.
type Options struct {
	// Profile is the server profile (default ProfileAWS).
	Profile Profile
	// STS finds the caller with sts:GetCallerIdentity when Plan.Caller is empty.
	STS STSAPI
	// KMS checks SSE-KMS permissions for plans that use SSE-KMS, and
	// kms:Decrypt on the copy source's key for plans that copy from an
	// SSE-KMS encrypted object (CopySource.KMSKeyID), whatever the
	// target's encryption. What it needs besides the plan (the caller's
	// identity policies, supplied key policies, whether the S3 permission
	// table's full KMS list counts) is its own configuration, for
	// example kmsperm.New(client, func(o *kmsperm.Options) { ... }).
	KMS KMSChecker
	// Now returns the current time (default time.Now); it sets
	// aws:CurrentTime and aws:EpochTime.
	Now func() time.Time
}

// Checker runs preflights: it resolves the caller, builds the steps'
// requirements, runs its evaluator, adds KMS rows, and assembles the
// Report. It is safe for concurrent use.
type Checker struct {
	eval Evaluator
	opts Options
}

// New returns a Checker that decides with eval (for example NewLocal(...),
// NewProbe(...) or NewAuto(...)).
func New(eval Evaluator, optFns ...func(*Options)) *Checker {
	return &Checker{eval: eval, opts: optfn.With(Options{}, optFns)}
}

// Check evaluates every step of the plan and returns the Report. A denial
// is a verdict in the report; the error is for "could not evaluate":
// invalid input (mpu.ErrInvalidInput), a caller that cannot be found, a
// canceled context.
func (c *Checker) Check(ctx context.Context, p *Plan, optFns ...func(*Options)) (*Report, error) {
	opts := optfn.With(c.opts, optFns)
	if c.eval == nil {
		return nil, invalidf("no evaluator")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	plan := *p
	cl := &apicalls.Counter{}
	if plan.Caller == "" {
		caller, err := FindCaller(ctx, opts.STS)
		cl.Add("sts:GetCallerIdentity")
		if err != nil {
			return nil, err
		}
		plan.Caller = caller
	}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	reqs := Requirements(&plan, now)
	out, err := c.eval.Evaluate(ctx, &Input{Plan: &plan, Profile: opts.Profile, Requirements: reqs, Now: now})
	if err != nil {
		return nil, err
	}
	if len(out.Checks) != len(reqs) {
		return nil, fmt.Errorf("preflight: evaluator returned %d verdicts for %d requirements", len(out.Checks), len(reqs))
	}
	rep := &Report{Caller: plan.Caller, Bucket: plan.Bucket, Key: plan.Key, Profile: opts.Profile,
		Gaps: out.Gaps, Notes: out.Notes, Leftover: out.Leftover, LearnedProfile: out.Learned}
	caller, _ := callerPrincipal(&plan) // validated above
	rep.Steps = assemble(&plan, opts.Profile, caller, reqs, out.Checks)
	all := &Output{Calls: cl.Snapshot()}
	all.merge(&Output{Calls: out.Calls})
	sourceKMS := plan.sourceKMS()
	switch {
	case (plan.SSE.KMS() || sourceKMS) && opts.KMS != nil:
		rows, kcalls, err := c.kmsRows(ctx, &plan, opts)
		if err != nil {
			return nil, err
		}
		rep.KMS, rep.KMSSeed = rows.rows, rows.seed
		rep.Gaps = append(rep.Gaps, rows.gaps...)
		all.merge(&Output{Calls: kcalls})
	case plan.SSE.KMS():
		rep.Notes = append(rep.Notes, "the plan uses SSE-KMS but no KMS checker is configured: KMS permissions were not checked")
	case sourceKMS:
		rep.Notes = append(rep.Notes, "the copy source is SSE-KMS encrypted but no KMS checker is configured: kms:Decrypt on its key "+plan.CopySource.KMSKeyID+" was not checked")
	}
	rep.APICalls = all.Calls
	return rep, nil
}

// FindCaller returns the ARN of the principal whose credentials api uses,
// with sts:GetCallerIdentity. An assumed-role session's ARN is returned as
// is; evaluators read the role's policies for it.
func FindCaller(ctx context.Context, api STSAPI) (string, error) {
	if api == nil {
		return "", invalidf("plan has no caller and no STS client to find it")
	}
	out, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("preflight: finding the caller with sts:GetCallerIdentity: %w", s3err.Mark(err))
	}
	if out.Arn == nil || *out.Arn == "" {
		return "", fmt.Errorf("preflight: sts:GetCallerIdentity returned no ARN")
	}
	if _, err := policy.PrincipalFromARN(*out.Arn); err != nil {
		return "", fmt.Errorf("preflight: sts:GetCallerIdentity returned %q: %v", *out.Arn, err)
	}
	return *out.Arn, nil
}

// assemble groups per-requirement checks into step results.
func assemble(p *Plan, prof Profile, caller policy.Principal, reqs []Requirement, checks []Check) []StepResult {
	var out []StepResult
	for _, s := range p.steps() {
		sr := StepResult{Step: s, Operation: s.Operation(), Decision: mpu.Allowed}
		var sreqs []Requirement
		var schecks []Check
		for i, r := range reqs {
			if r.Step == s {
				sreqs = append(sreqs, r)
				schecks = append(schecks, checks[i])
			}
		}
		multi := len(schecks) > 1
		for i, c := range schecks {
			sr.Actions = append(sr.Actions, c.Action)
			sr.Resources = append(sr.Resources, c.Resource)
			if i == 0 || mpu.Worse(sr.Decision, c.Decision) != sr.Decision {
				sr.Decision, sr.Evaluator = mpu.Worse(sr.Decision, c.Decision), c.Evaluator
			}
			for _, why := range c.Reasons {
				if multi {
					why = c.Action + " on " + c.Resource + ": " + why
				}
				sr.Reasons = append(sr.Reasons, why)
			}
			sr.Risks = uniq.Append(sr.Risks, c.Risks...)
			sr.MissingContext = uniq.Append(sr.MissingContext, c.MissingContext...)
			if c.OnlyByDefault && sr.DefaultRule == "" {
				sr.DefaultRule = c.DefaultRule
			}
		}
		if len(schecks) == 0 {
			sr.Decision = mpu.Unknown
		}
		if sr.Reasons == nil {
			sr.Reasons = []string{}
		}
		sr.Checks = schecks
		sr.Remedy = remedyFor(s, schecks, sreqs, caller, p.BucketOwner, prof)
		out = append(out, sr)
	}
	return out
}

// kmsResult is the KMS side of a report.
type kmsResult struct {
	rows []KMSRow
	seed *KMSRow
	gaps []mpu.Gap
}

// kmsRows runs the KMS checker and converts its rows, its seed row and its
// gaps. For a target that is not SSE-KMS encrypted only the copy source's
// key is checked: no target key is assumed, only the UploadPartCopy row is
// kept, and there is no seed row.
func (c *Checker) kmsRows(ctx context.Context, p *Plan, opts Options) (*kmsResult, map[string]int, error) {
	targetKMS := p.SSE.KMS()
	in := kmsperm.Input{
		Caller:        p.Caller,
		Region:        p.Region,
		Object:        kmsperm.Object{Bucket: p.Bucket, Key: p.Key, BucketKeyEnabled: p.SSE.BucketKey, EncryptionContext: p.SSE.KMSContext},
		BucketAccount: p.BucketOwner,
		KMSKeyID:      p.SSE.KMSKeyID,
		Checksums:     p.Checksums(),
		Steps:         p.steps(),
	}
	if !targetKMS {
		in.TargetNotKMS, in.KMSKeyID, in.KeyPolicy = true, "", nil
		in.Object.BucketKeyEnabled, in.Object.EncryptionContext = false, nil
	}
	if cs := p.CopySource; cs != nil {
		in.CopySource = &kmsperm.CopySource{
			Object:   kmsperm.Object{Bucket: cs.Bucket, Key: cs.Key, BucketKeyEnabled: cs.BucketKey, EncryptionContext: cs.KMSContext},
			KMSKeyID: cs.KMSKeyID,
			Region:   cs.Region,
			Account:  cs.Account,
		}
	}
	rep, err := opts.KMS.Check(ctx, in)
	if err != nil {
		return nil, nil, fmt.Errorf("preflight: KMS check: %w", err)
	}
	out := &kmsResult{}
	// The seed list counts when the KMS checker was built to require it
	// (it then adds the seed actions to Initiate).
	required := rep.SeedRequired
	for _, r := range rep.Rows {
		if !targetKMS && r.Step != mpu.UploadPartCopy {
			continue // S3 makes no KMS call for these steps
		}
		out.rows = append(out.rows, kmsRow(r))
		for _, a := range r.Actions {
			required = required || a.Seed
		}
	}
	if targetKMS && len(rep.Seed.Actions) > 0 { // a checker that decided no seed list reports none
		seed := kmsRow(rep.Seed)
		seed.Seed, seed.Advisory = true, !required
		if seed.Label == "" {
			seed.Label = kmsSeedLabel
		}
		out.seed = &seed
	}
	out.gaps = rep.Gaps
	return out, rep.APICalls, nil
}

// kmsRow converts one kmsperm row. The row's evaluator is the one that
// decided its worst action, as for StepResult; a row without actions has
// EvaluatorNone. A step row's reasons are kmsperm's summary, then the
// reasons of each action that is not allowed, prefixed with the action and
// key.
func kmsRow(r kmsperm.Row) KMSRow {
	row := KMSRow{Step: r.Step, Label: r.Label, Decision: r.Decision, Evaluator: mpu.EvaluatorNone,
		Actions: []string{}, Resources: []string{}, Reasons: append([]string{}, r.Reasons...)}
	if row.Label == "" && r.Step != 0 {
		row.Label = r.Step.String()
	}
	worst := mpu.Allowed
	for i, a := range r.Actions {
		row.Actions = uniq.Append(row.Actions, a.Action)
		row.Resources = uniq.Append(row.Resources, a.KeyARN)
		d := a.Decision
		if i == 0 || mpu.Worse(worst, d) != worst {
			worst, row.Evaluator = mpu.Worse(worst, d), a.Evaluator
		}
		if d == mpu.Allowed || r.Step == 0 {
			// The seed row keeps kmsperm's summary: its actions'
			// details repeat in Initiate when the list is required.
			continue
		}
		name := a.Action + " on " + a.KeyARN
		if d.Denied() {
			row.denied = uniq.Append(row.denied, name)
		}
		for _, why := range a.Reasons {
			row.Reasons = uniq.Append(row.Reasons, name+": "+why)
		}
	}
	row.Remedy = r.Remedy
	return row
}
