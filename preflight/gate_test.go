package preflight

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/s3mpu/s3mpu/mpu"
)

// TestGateProperties checks Report.Gate on random reports: random verdicts
// for random steps, with and without SSE-KMS rows and a seed row, judged
// for a random set of steps. Gate is nil exactly when every judged step and
// each of its KMS rows is allowed; otherwise it names exactly the denied
// steps (DeniedError, errors.Is ErrPermissionDenied) or, when none is
// denied, exactly the undecided ones (UndecidedError, errors.Is
// ErrUndecided, a message naming only the steps). Turning any judged
// verdict into Unknown never turns a refusal into nil.
func TestGateProperties(t *testing.T) {
	// Decision(9) stands for a value no evaluator should give (a custom
	// Evaluator's bug): it must never let an upload through.
	decisions := []mpu.Decision{mpu.Allowed, mpu.Allowed, mpu.Allowed, mpu.ImplicitDeny, mpu.ExplicitDeny, mpu.Unknown, mpu.Decision(9)}
	r := rand.New(rand.NewPCG(7, 14))
	for i := 0; i < 3000; i++ {
		rep := &Report{Caller: alice}
		for _, st := range mpu.AllSteps {
			if r.IntN(6) == 0 {
				continue // not in the report
			}
			rep.Steps = append(rep.Steps, StepResult{Step: st, Decision: decisions[r.IntN(len(decisions))], Reasons: []string{"r"}})
			if r.IntN(3) == 0 {
				rep.KMS = append(rep.KMS, KMSRow{Step: st, Decision: decisions[r.IntN(len(decisions))], Reasons: []string{"k"}})
			}
		}
		if r.IntN(4) == 0 {
			rep.KMSSeed = &KMSRow{Seed: true, Advisory: r.IntN(2) == 0, Decision: decisions[r.IntN(len(decisions))]}
		}
		var judged []mpu.Step
		for _, st := range mpu.AllSteps {
			if r.IntN(2) == 0 {
				judged = append(judged, st)
			}
		}
		// The expected verdict, step by step.
		var wantDenied, wantUnknown []mpu.Step
		for _, st := range judged {
			s, ok := rep.Step(st)
			worst := mpu.Allowed
			if !ok {
				worst = mpu.Unknown
			} else {
				worst = s.Decision
			}
			for _, k := range rep.KMS {
				if k.Step == st {
					worst = worseOf(worst, k.Decision)
				}
			}
			if st == mpu.Initiate && rep.KMSSeed != nil && !rep.KMSSeed.Advisory && ok {
				worst = worseOf(worst, rep.KMSSeed.Decision)
			}
			switch {
			case worst.Denied():
				wantDenied = append(wantDenied, st)
			case worst != mpu.Allowed:
				wantUnknown = append(wantUnknown, st)
			}
		}
		err := rep.Gate(judged)
		var de *DeniedError
		var ue *UndecidedError
		switch {
		case len(wantDenied) > 0:
			if !errors.As(err, &de) || !errors.Is(err, mpu.ErrPermissionDenied) || errors.Is(err, mpu.ErrUndecided) || !slices.Equal(stepsOf(de.Denied), wantDenied) {
				t.Fatalf("case %d: want denied %v, got %v\n%s", i, wantDenied, err, rep)
			}
		case len(wantUnknown) > 0:
			if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrUndecided) || errors.Is(err, mpu.ErrPermissionDenied) || !slices.Equal(stepsOf(ue.Unknown), wantUnknown) {
				t.Fatalf("case %d: want undecided %v, got %v\n%s", i, wantUnknown, err, rep)
			}
			if len(ue.Error()) > 30+15*len(wantUnknown) {
				t.Fatalf("case %d: long message %q", i, ue.Error())
			}
		default:
			if err != nil {
				t.Fatalf("case %d: want nil, got %v\n%s", i, err, rep)
			}
		}
		// Monotone: an Unknown more never lets through what was refused.
		if err != nil && len(rep.Steps) > 0 {
			j := r.IntN(len(rep.Steps))
			rep.Steps[j].Decision = worseOf(rep.Steps[j].Decision, mpu.Unknown)
			if rep.Gate(judged) == nil {
				t.Fatalf("case %d: an Unknown more let the upload through", i)
			}
		}
	}
}

// worseOf orders verdicts as Gate does: a denial over Unknown (or any
// value that is not a verdict) over Allowed.
func worseOf(a, b mpu.Decision) mpu.Decision {
	rank := func(d mpu.Decision) int {
		switch {
		case d.Denied():
			return 2
		case d != mpu.Allowed:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

func stepsOf(rs []StepResult) []mpu.Step {
	out := make([]mpu.Step, len(rs))
	for i, s := range rs {
		out[i] = s.Step
	}
	return out
}
