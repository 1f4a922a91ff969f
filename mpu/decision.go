package mpu

import (
	"fmt"

	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/internal/textenum"
)

// Decision is the verdict on one step, one action or one request. The
// zero value is Unknown, so a verdict nobody reached never reads as
// allowed.
type Decision int

// The decisions. Allowed, ExplicitDeny and ImplicitDeny mean what they mean
// in AWS's policy evaluation logic; Unknown means the evaluator could not
// decide (a policy or key policy could not be read, identity policies were
// not available, a condition key's value is not known before the request,
// or a live probe gave no clear answer). The reasons beside a Decision say
// which.
const (
	Unknown Decision = iota
	Allowed
	// ExplicitDeny: a Deny statement applies; no Allow can override it.
	ExplicitDeny
	// ImplicitDeny: nothing allows it (for a KMS key also: the key is
	// disabled, or is an AWS managed key used from another account).
	ImplicitDeny
)

var decisionNames = [...]string{
	Unknown:      "unknown",
	Allowed:      "allowed",
	ExplicitDeny: "explicitDeny",
	ImplicitDeny: "implicitDeny",
}

// String returns "unknown", "allowed", "explicitDeny" or "implicitDeny".
func (d Decision) String() string {
	if d >= 0 && int(d) < len(decisionNames) {
		return decisionNames[d]
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// Denied reports whether d is ExplicitDeny or ImplicitDeny.
func (d Decision) Denied() bool { return d == ExplicitDeny || d == ImplicitDeny }

// MarshalText encodes the decision as its String form.
func (d Decision) MarshalText() ([]byte, error) {
	if d < 0 || int(d) >= len(decisionNames) {
		return nil, fmt.Errorf("invalid decision %d", int(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText parses the String form of a decision.
func (d *Decision) UnmarshalText(b []byte) error { return textenum.Unmarshal(d, b, ParseDecision) }

// ParseDecision returns the decision named s (as returned by String);
// errors satisfy errors.Is(err, s3err.ErrInvalidInput), the sentinel
// every package of the module returns as its ErrInvalidInput.
func ParseDecision(s string) (Decision, error) {
	for i, n := range decisionNames {
		if n == s {
			return Decision(i), nil
		}
	}
	return Unknown, fmt.Errorf("unknown decision %q: %w", s, s3err.ErrInvalidInput)
}

// Worse returns the more restrictive of two decisions, in the order
// ExplicitDeny, ImplicitDeny, Unknown, Allowed: a step that needs several
// actions is only as good as its worst one.
func Worse(a, b Decision) Decision {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

func (d Decision) rank() int {
	switch d {
	case ExplicitDeny:
		return 3
	case ImplicitDeny:
		return 2
	case Unknown:
		return 1
	}
	return 0
}

// EvaluatorKind names the evaluator that reached a verdict.
type EvaluatorKind string

// The evaluators.
const (
	// EvaluatorLocal is the offline policy engine over documents supplied
	// by the caller or read from IAM, S3 and KMS.
	EvaluatorLocal EvaluatorKind = "local"
	// EvaluatorSimulate is IAM's policy simulator (iam:SimulatePrincipalPolicy).
	EvaluatorSimulate EvaluatorKind = "simulate"
	// EvaluatorProbe is a live, side-effect free request to the server.
	EvaluatorProbe EvaluatorKind = "probe"
	// EvaluatorNone says no evaluator decided: a KMS row whose step needs
	// no KMS action, or whose identity side could not be evaluated (the
	// caller's identity policies were neither supplied nor simulated; the
	// report's gaps say which).
	EvaluatorNone EvaluatorKind = "none"
)
