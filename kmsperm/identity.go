package kmsperm

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/s3mpu/s3mpu/internal/apicalls"
	"github.com/s3mpu/s3mpu/internal/iamsim"
	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
)

// identitySide is how the caller's identity policies are decided.
type identitySide struct {
	mode                    mpu.EvaluatorKind // local, simulate or none
	docs, boundary, session []*policy.Document
	sim                     map[simKey]policy.Result
}

type simKey struct {
	role   KeyRole
	action string
}

func parseNamed(kind string, ps []mpu.PolicyDocument) ([]*policy.Document, error) {
	var out []*policy.Document
	for i, p := range ps {
		name := p.Name
		if name == "" {
			name = fmt.Sprintf("%s policy %d", kind, i+1)
		}
		d, err := policy.ParseNamed(name, p.JSON)
		if err != nil {
			return nil, &Error{Op: "parse " + kind + " policy", Err: s3err.MarkAs(err, s3err.InvalidInput)}
		}
		out = append(out, d)
	}
	return out, nil
}

// simulate asks IAM to decide actions on resource for the caller, with the
// request context S3 sends. It returns one policy.Result per action.
func simulate(ctx context.Context, api IAMSimulateAPI, calls *apicalls.Counter, source string, actions []string, resource string, reqCtx map[string][]string) (map[string]policy.Result, error) {
	in := &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String(source),
		ActionNames:     actions,
		ResourceArns:    []string{resource},
		ContextEntries:  iamsim.Entries(reqCtx),
	}
	ers, err := iamsim.Run(ctx, api, in, func() { calls.Add("iam:SimulatePrincipalPolicy") })
	if err != nil {
		if ctx.Err() != nil {
			return nil, &Error{Op: "simulate", Key: resource, Err: s3err.MarkAs(errors.Join(ctx.Err(), err), s3err.Canceled)}
		}
		return nil, wrapAPI("simulate", resource, err)
	}
	out := make(map[string]policy.Result, len(actions))
	for _, r := range ers {
		var res policy.Result
		switch r.EvalDecision {
		case iamtypes.PolicyEvaluationDecisionTypeAllowed:
			res.Decision = policy.Allowed
		case iamtypes.PolicyEvaluationDecisionTypeExplicitDeny:
			res.Decision = policy.ExplicitDeny
		default:
			res.Decision = policy.ImplicitDeny
		}
		for _, st := range r.MatchedStatements {
			ref := policy.StatementRef{Policy: aws.ToString(st.SourcePolicyId), Kind: policy.KindIdentity, Effect: policy.EffectAllow}
			if res.Decision == policy.ExplicitDeny {
				ref.Effect = policy.EffectDeny
			}
			if st.SourcePolicyType == iamtypes.PolicySourceTypeNone || ref.Policy == "" {
				continue
			}
			res.Deciding = append(res.Deciding, ref)
		}
		res.MissingKeys = append(res.MissingKeys, r.MissingContextValues...)
		sort.Strings(res.MissingKeys)
		res.Reasons = append(res.Reasons, fmt.Sprintf("IAM policy simulator: %s", r.EvalDecision))
		out[aws.ToString(r.EvalActionName)] = res
	}
	for _, a := range actions {
		if _, ok := out[a]; !ok {
			return nil, &Error{Op: "simulate", Key: resource, Err: fmt.Errorf("the simulator returned no result for %s", a)}
		}
	}
	return out, nil
}
