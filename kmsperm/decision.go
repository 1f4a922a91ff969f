package kmsperm

import "fmt"

// Decision is kmsperm's verdict on one KMS action or one step. The zero
// value is Unknown, so a result that was never decided is never read as
// allowed.
type Decision int

// The decisions.
const (
	// Unknown: the decision cannot be made from what kmsperm could read
	// (an unreadable key policy, identity policies not supplied, a condition
	// key whose value is unknown before the request). The reasons say what
	// is missing.
	Unknown Decision = iota
	// Allowed: every policy that applies allows the action.
	Allowed
	// ExplicitDeny: a Deny statement in the key policy or an identity
	// policy applies; nothing else can override it.
	ExplicitDeny
	// ImplicitDeny: nothing allows the action (or the key cannot be used at
	// all: disabled, or an AWS managed key used from another account).
	ImplicitDeny
)

var decisionNames = map[Decision]string{
	Unknown:      "unknown",
	Allowed:      "allowed",
	ExplicitDeny: "explicitDeny",
	ImplicitDeny: "implicitDeny",
}

// String returns "unknown", "allowed", "explicitDeny" or "implicitDeny".
func (d Decision) String() string {
	if s, ok := decisionNames[d]; ok {
		return s
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// MarshalText implements encoding.TextMarshaler.
func (d Decision) MarshalText() ([]byte, error) {
	if s, ok := decisionNames[d]; ok {
		return []byte(s), nil
	}
	return nil, fmt.Errorf("kmsperm: invalid decision %d", int(d))
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Decision) UnmarshalText(b []byte) error {
	for k, v := range decisionNames {
		if v == string(b) {
			*d = k
			return nil
		}
	}
	return fmt.Errorf("kmsperm: unknown decision %q", b)
}

// severity orders decisions for combining the actions of a step: an
// explicit deny outranks an implicit deny, which outranks unknown, which
// outranks allowed.
func (d Decision) severity() int {
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

// worst returns the more severe of two decisions.
func worst(a, b Decision) Decision {
	if b.severity() > a.severity() {
		return b
	}
	return a
}
