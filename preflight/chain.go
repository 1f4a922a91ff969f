package preflight

import (
	"context"

	"github.com/s3mpu/s3mpu/internal/uniq"
	"github.com/s3mpu/s3mpu/mpu"
)

// chain combines the evaluators: the simulator first (with the local
// engine deciding its blind spots), or the local engine alone when there
// is no simulator; then the probe for every requirement still Unknown. Any
// of the three may be nil. It is safe for concurrent use.
type chain struct {
	sim   *simulator
	local *Local
	probe *Probe
}

// newChain returns a chain of the given evaluators; nil ones are skipped.
// When sim is set, it should have been built with the same local.
func newChain(sim *simulator, local *Local, probe *Probe) *chain {
	return &chain{sim: sim, local: local, probe: probe}
}

// Evaluate implements Evaluator.
func (c *chain) Evaluate(ctx context.Context, in *Input) (*Output, error) {
	var first Evaluator
	switch {
	case c.sim != nil:
		first = c.sim
	case c.local != nil:
		first = c.local
	case c.probe != nil:
		return c.probe.Evaluate(ctx, in)
	default:
		return nil, invalidf("empty evaluator chain")
	}
	out, err := first.Evaluate(ctx, in)
	if err != nil {
		return nil, err
	}
	if c.probe == nil {
		return out, nil
	}
	var idx []int
	var rest []Requirement
	for i, chk := range out.Checks {
		if chk.Decision == mpu.Unknown {
			idx = append(idx, i)
			rest = append(rest, in.Requirements[i])
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	sub := *in
	sub.Requirements = rest
	pout, err := c.probe.Evaluate(ctx, &sub)
	if err != nil {
		return nil, err
	}
	for j, i := range idx {
		pc := pout.Checks[j]
		if pc.Decision == mpu.Unknown {
			out.Checks[i].Reasons = append(out.Checks[i].Reasons, pc.Reasons...)
			continue
		}
		before := out.Checks[i]
		pc.Reasons = append(pc.Reasons, before.Reasons...)
		pc.Risks = uniq.Append(pc.Risks, before.Risks...)
		pc.MissingContext = before.MissingContext
		out.Checks[i] = pc
	}
	out.merge(&Output{Notes: pout.Notes, Leftover: pout.Leftover, Calls: pout.Calls, Learned: pout.Learned})
	return out, nil
}
