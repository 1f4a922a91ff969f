package preflight

import (
	"context"
	"time"

	"github.com/s3mpu/s3mpu/mpu"
)

// Evaluator decides the requirements of a plan. Local, Probe and the
// evaluators NewSimulate and NewAuto return implement it; the Checker runs
// one per preflight.
//
// Evaluate returns one Check per requirement, in order. A denial is a
// Check, not an error: the error is for "could not evaluate at all" (a
// canceled context, invalid input). Implementations must be safe for
// concurrent use by several Evaluate calls.
type Evaluator interface {
	Evaluate(ctx context.Context, in *Input) (*Output, error)
}

// Input is what an Evaluator evaluates.
type Input struct {
	// Plan is the upload, with Plan.Caller resolved.
	Plan *Plan
	// Profile is the server profile.
	Profile Profile
	// Requirements are the actions to decide (see Requirements).
	Requirements []Requirement
	// Now is the evaluation time (aws:CurrentTime).
	Now time.Time
}

// Output is an Evaluator's result.
type Output struct {
	// Checks has one verdict per Input.Requirements entry.
	Checks []Check
	// Gaps are the sources that could not be read.
	Gaps []mpu.Gap
	// Notes are assumptions the verdicts rest on.
	Notes []string
	// Leftover lists probe uploads that could not be removed.
	Leftover []string
	// Calls counts the API requests made, by operation.
	Calls map[string]int
	// Learned is the server profile a probe observed, when it observed
	// one (see Report.LearnedProfile).
	Learned *Profile
}

func (o *Output) merge(other *Output) {
	if other == nil {
		return
	}
	o.Gaps = append(o.Gaps, other.Gaps...)
	for _, n := range other.Notes {
		o.note(n)
	}
	o.Leftover = append(o.Leftover, other.Leftover...)
	if other.Learned != nil {
		o.Learned = other.Learned
	}
	for k, v := range other.Calls {
		if o.Calls == nil {
			o.Calls = map[string]int{}
		}
		o.Calls[k] += v
	}
}

// gap records a source that could not be read: it sets the source's flag and
// adds g to o.Gaps.
func (o *Output) gap(flag *bool, g mpu.Gap) {
	*flag = true
	o.Gaps = append(o.Gaps, g)
}

func (o *Output) note(n string) {
	for _, have := range o.Notes {
		if have == n {
			return
		}
	}
	o.Notes = append(o.Notes, n)
}
