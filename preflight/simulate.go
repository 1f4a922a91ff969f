package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/s3mpu/s3mpu/internal/apicalls"
	"github.com/s3mpu/s3mpu/internal/iamsim"
	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/internal/uniq"
	"github.com/s3mpu/s3mpu/mpu"
)

// simulator is the evaluator built on IAM's policy simulator
// (iam:SimulatePrincipalPolicy). It batches every action and resource that
// share a request context and a bucket into one call (paginated), passes
// the plan's context keys as ContextEntries and the bucket policy as
// ResourcePolicy where AWS allows it (not for roles). What the simulator
// cannot see — bucket ACLs, the owner-or-initiator defaults, a bucket
// policy for a role caller, VPC endpoint policies, session policies,
// context keys it reports missing — is decided by the Local evaluator
// given to NewSimulate; without one those verdicts are Unknown. KMS key
// policies are kmsperm's. It is safe for concurrent use.
type simulator struct {
	api   SimulateAPI
	local *Local
}

// NewSimulate returns a simulator evaluator; local (may be nil) supplies
// the bucket policy it passes to the simulator and decides its blind spots.
func NewSimulate(api SimulateAPI, local *Local) Evaluator { return newSimulator(api, local) }

func newSimulator(api SimulateAPI, local *Local) *simulator {
	return &simulator{api: api, local: local}
}

type simVerdict struct {
	decision mpu.Decision
	refs     []mpu.StatementRef
	missing  []string
	err      error
	done     bool
}

// Evaluate implements Evaluator.
func (s *simulator) Evaluate(ctx context.Context, in *Input) (*Output, error) {
	if s.api == nil {
		return nil, invalidf("simulator without an IAM client")
	}
	caller, err := callerPrincipal(in.Plan)
	if err != nil {
		return nil, err
	}
	var cl apicalls.Counter
	out := &Output{}
	var ld *loaded
	if s.local != nil {
		// The bucket side now (its policy goes to the simulator); the
		// identity side only if a blind spot needs it.
		if ld, err = s.local.loadSources(ctx, in, caller, &cl, false); err != nil {
			return nil, err
		}
	}
	source := iamsim.Source(caller)
	verdicts := make([]simVerdict, len(in.Requirements))
	if source != "" {
		if verdicts, err = s.ask(ctx, in, caller, source, ld, &cl); err != nil {
			return nil, err
		}
	}
	out.Checks = make([]Check, len(in.Requirements))
	for i := range in.Requirements {
		r := &in.Requirements[i]
		v := verdicts[i]
		chk := Check{Action: r.Action, Resource: r.Resource, Evaluator: mpu.EvaluatorSimulate, Decision: v.decision, Statements: v.refs}
		var blind []string
		switch {
		case source == "":
			blind = append(blind, "the simulator cannot simulate a "+caller.Type+" principal")
		case v.err != nil:
			blind = append(blind, "the simulator failed: "+errText(v.err))
		default:
			chk.Reasons = append(chk.Reasons, "IAM's policy simulator: "+v.decision.String())
			blind = s.blindSpots(in, caller, ld, r, v)
		}
		if len(blind) == 0 || (v.done && v.decision == mpu.ExplicitDeny) {
			applyUncertainty(&chk, r, v.missing)
			out.Checks[i] = chk
			continue
		}
		if ld == nil {
			chk.Decision = mpu.Unknown
			chk.Reasons = append(chk.Reasons, blind...)
			chk.Reasons = append(chk.Reasons, "no local evaluator to decide what the simulator cannot see")
			out.Checks[i] = chk
			continue
		}
		if ld.identityPending {
			if err := s.local.loadIdentity(ctx, caller, &cl, ld); err != nil {
				return nil, err
			}
		}
		lc := s.local.decideRequirement(in, caller, ld, r)
		lc.Reasons = append([]string{fmt.Sprintf("decided locally: %s", strings.Join(blind, "; "))}, lc.Reasons...)
		out.Checks[i] = lc
	}
	if ld != nil {
		out.merge(&Output{Gaps: ld.out.Gaps, Notes: ld.out.Notes})
	}
	out.Calls = cl.Snapshot()
	return out, nil
}

// ask asks the simulator about every requirement, in one call (paginated)
// per bucket and request context, and returns a verdict per requirement.
// A failed call is each verdict's err; only a canceled context is an
// error.
func (s *simulator) ask(ctx context.Context, in *Input, caller policy.Principal, source string, ld *loaded, cl *apicalls.Counter) ([]simVerdict, error) {
	isRole := caller.Type == policy.TypeRole || caller.Type == policy.TypeAssumedRole
	verdicts := make([]simVerdict, len(in.Requirements))
	type group struct {
		bucket string
		ctx    map[string][]string
		idx    []int
	}
	var groups []*group
	for i, r := range in.Requirements {
		var g *group
		for _, have := range groups {
			if have.bucket == r.Bucket && sameContext(have.ctx, r.Context) {
				g = have
				break
			}
		}
		if g == nil {
			g = &group{bucket: r.Bucket, ctx: r.Context}
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
	}
	for _, g := range groups {
		in2 := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: &source, ContextEntries: iamsim.Entries(g.ctx)}
		var actions, resources []string
		for _, i := range g.idx {
			actions = uniq.Append(actions, in.Requirements[i].Action)
			resources = uniq.Append(resources, in.Requirements[i].Resource)
		}
		sort.Strings(actions)
		sort.Strings(resources)
		in2.ActionNames, in2.ResourceArns = actions, resources
		if ld != nil && !isRole {
			if bs := ld.buckets[g.bucket]; bs != nil && bs.policy != nil {
				doc := string(bs.policy.JSON())
				owner := in.Plan.BucketOwner
				if owner == "" {
					owner = caller.Account
				}
				ownerARN := rootARN(caller.ARN, owner)
				in2.ResourcePolicy, in2.ResourceOwner, in2.CallerArn = &doc, &ownerARN, &source
			}
		}
		results, err := s.simulate(ctx, in2, cl)
		if err != nil && stops(ctx, err) {
			return nil, callErr("iam:SimulatePrincipalPolicy", err)
		}
		for _, i := range g.idx {
			r := in.Requirements[i]
			if err != nil {
				verdicts[i] = simVerdict{err: err}
				continue
			}
			v, ok := results[r.Action+"\x00"+r.Resource]
			if !ok {
				verdicts[i] = simVerdict{err: fmt.Errorf("the simulator returned no result for %s on %s", r.Action, r.Resource)}
				continue
			}
			verdicts[i] = v
		}
	}
	return verdicts, nil
}

// blindSpots lists what the simulator could not see for r.
func (s *simulator) blindSpots(in *Input, caller policy.Principal, ld *loaded, r *Requirement, v simVerdict) []string {
	var out []string
	isRole := caller.Type == policy.TypeRole || caller.Type == policy.TypeAssumedRole
	if ld == nil {
		if v.decision == mpu.ImplicitDeny && (r.Action == actionAbortMultipartUpload || r.Action == actionListMultipartUploadParts) && in.Profile.Defaults() {
			out = append(out, "the simulator does not apply S3's owner-or-initiator defaults")
		}
		if v.decision != mpu.ExplicitDeny {
			out = append(out, "the bucket policy and ACL were not available to the simulator")
		}
		return out
	}
	bs := ld.buckets[r.Bucket]
	if bs != nil && bs.policy != nil && isRole {
		out = append(out, "the simulator does not simulate resource policies for roles")
	}
	if bs != nil && bs.policyGap {
		out = append(out, "the bucket policy could not be read")
	}
	if v.decision == mpu.ImplicitDeny && bs != nil && (bs.aclGap || (bs.acl != nil && len(bs.acl.Grants) > 0)) {
		out = append(out, "the simulator does not see bucket ACLs")
	}
	if v.decision == mpu.ImplicitDeny && (r.Action == actionAbortMultipartUpload || r.Action == actionListMultipartUploadParts) && in.Profile.Defaults() {
		out = append(out, "the simulator does not apply S3's owner-or-initiator defaults")
	}
	if len(ld.endpoint) > 0 {
		out = append(out, "the simulator does not see VPC endpoint policies")
	}
	if len(ld.session) > 0 {
		out = append(out, "the simulator does not see session policies")
	}
	if in.Profile == ProfileNoDefaults && caller.Type == policy.TypeRoot {
		out = append(out, "the server's root account bypasses policies")
	}
	return out
}

// simulate runs one batched simulation and indexes the results by action
// and resource.
func (s *simulator) simulate(ctx context.Context, in *iam.SimulatePrincipalPolicyInput, cl *apicalls.Counter) (map[string]simVerdict, error) {
	ers, err := iamsim.Run(ctx, s.api, in, func() { cl.Add("iam:SimulatePrincipalPolicy") })
	if err != nil {
		return nil, err
	}
	results := map[string]simVerdict{}
	add := func(action, resource string, d iamtypes.PolicyEvaluationDecisionType, st []iamtypes.Statement, missing []string) {
		v := simVerdict{decision: fromSim(d), missing: missing, done: true}
		for _, m := range st {
			ref := mpu.StatementRef{Kind: "identity"}
			if m.SourcePolicyId != nil {
				ref.Policy = *m.SourcePolicyId
			}
			if m.SourcePolicyType == iamtypes.PolicySourceTypeResource {
				ref.Kind = "resource"
			}
			if m.StartPosition != nil {
				ref.Index = int(m.StartPosition.Line)
			}
			v.refs = append(v.refs, ref)
		}
		results[action+"\x00"+resource] = v
	}
	for _, er := range ers {
		if er.EvalActionName == nil {
			continue
		}
		if len(er.ResourceSpecificResults) > 0 {
			for _, rr := range er.ResourceSpecificResults {
				if rr.EvalResourceName != nil {
					add(*er.EvalActionName, *rr.EvalResourceName, rr.EvalResourceDecision, rr.MatchedStatements, rr.MissingContextValues)
				}
			}
			continue
		}
		if er.EvalResourceName != nil {
			add(*er.EvalActionName, *er.EvalResourceName, er.EvalDecision, er.MatchedStatements, er.MissingContextValues)
		}
	}
	return results, nil
}

// simDecisions are the simulator's decisions; any other is Unknown.
var simDecisions = map[iamtypes.PolicyEvaluationDecisionType]mpu.Decision{
	iamtypes.PolicyEvaluationDecisionTypeAllowed:      mpu.Allowed,
	iamtypes.PolicyEvaluationDecisionTypeExplicitDeny: mpu.ExplicitDeny,
	iamtypes.PolicyEvaluationDecisionTypeImplicitDeny: mpu.ImplicitDeny,
}

func fromSim(d iamtypes.PolicyEvaluationDecisionType) mpu.Decision {
	if v, ok := simDecisions[d]; ok {
		return v
	}
	return mpu.Unknown
}

func sameContext(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || len(va) != len(vb) {
			return false
		}
		for i := range va {
			if va[i] != vb[i] {
				return false
			}
		}
	}
	return true
}
