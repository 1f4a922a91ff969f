package policy

import (
	"fmt"

	"github.com/s3mpu/s3mpu/mpu"
)

// Policy language versions accepted by Parse.
const (
	// Version2012 is the current policy language version; only documents
	// with this version resolve policy variables such as ${aws:username}.
	Version2012 = "2012-10-17"
	// Version2008 is the original policy language version; policy
	// variables are taken literally.
	Version2008 = "2008-10-17"
)

// Effect values of a statement.
const (
	EffectAllow = "Allow"
	EffectDeny  = "Deny"
)

// Policy kinds used in StatementRef.Kind.
const (
	KindIdentity = "identity"
	KindResource = "resource"
	KindBoundary = "boundary"
	KindSession  = "session"
	KindEndpoint = "endpoint"
)

// Principal types used in Principal.Type.
const (
	TypeUser          = "user"
	TypeRole          = "role"
	TypeAssumedRole   = "assumed-role"
	TypeRoot          = "root"
	TypeService       = "service"
	TypeAnonymous     = "anonymous"
	TypeFederatedUser = "federated-user"
)

// Document is a parsed IAM policy document. Create one with Parse or
// ParseNamed; the zero value is an empty policy that allows nothing.
type Document struct {
	// Name identifies the policy in StatementRef, reasons and errors
	// (for example "bucket policy" or "user/alice/inline/upload").
	Name string
	// Version is the policy language version as written ("" when absent).
	Version string
	// ID is the optional Id element.
	ID string
	// Statements are the statements in document order.
	Statements []Statement
}

// Statement is one statement of a policy document. Exactly one of Action and
// NotAction is non-empty; at most one of Resource and NotResource, and at
// most one of Principal and NotPrincipal, is set.
type Statement struct {
	// Sid is the optional statement identifier.
	Sid string
	// Effect is EffectAllow or EffectDeny.
	Effect string
	// Index is the statement's position (from 0) in the document.
	Index int

	// Action and NotAction hold the action patterns as written.
	Action, NotAction []string
	// Resource and NotResource hold the resource patterns as written.
	// Both are empty when the statement has neither element.
	Resource, NotResource []string
	// Principal and NotPrincipal are nil when the element is absent.
	Principal, NotPrincipal *Principals
	// Condition holds one entry per operator and key, sorted by operator
	// then key.
	Condition []Condition

	c *compiled // built by Parse; nil for statements built by hand
}

// Principals is the value of a Principal or NotPrincipal element.
type Principals struct {
	// All is true for "Principal": "*" (which also covers {"AWS": "*"}).
	All bool
	// AWS lists account IDs, account root ARNs, user, role and
	// assumed-role session ARNs, or "*".
	AWS []string
	// Service lists service principals such as "cloudtrail.amazonaws.com".
	Service []string
	// CanonicalUser lists S3 canonical user IDs.
	CanonicalUser []string
	// Federated lists identity providers.
	Federated []string
}

// Condition is one operator applied to one condition key. Several
// Conditions in a statement are ANDed; the Values of one Condition are ORed.
type Condition struct {
	// Operator is the operator as written, for example
	// "ForAnyValue:StringLikeIfExists".
	Operator string
	// Key is the condition key as written; keys compare case-insensitively.
	Key string
	// Values are the policy values (booleans and numbers as their JSON text).
	Values []string
}

// Principal is the identity making a request. Build one with
// PrincipalFromARN, or fill the fields directly.
type Principal struct {
	// ARN is the principal's ARN ("" for anonymous).
	ARN string
	// Account is the 12-digit account ID ("" for anonymous and services).
	Account string
	// Type is one of TypeUser, TypeRole, TypeAssumedRole, TypeRoot,
	// TypeService, TypeAnonymous, TypeFederatedUser.
	Type string
	// Username is the IAM user name (users only); it is aws:username.
	Username string
	// UserID is aws:userid: the unique ID of a user (AIDA...), or
	// "ROLEID:session" for a role session. For the root user the account
	// ID is used when it is empty.
	UserID string
	// Service is the service principal name, for TypeService.
	Service string
	// RoleName and SessionName are set for role sessions (and RoleName for
	// TypeRole).
	RoleName, SessionName string
	// CanonicalID is the S3 canonical user ID, when known; it matches
	// {"CanonicalUser": ...} principals.
	CanonicalID string
	// Federated is the identity provider of a web-identity or SAML
	// session; it matches {"Federated": ...} principals.
	Federated string
}

// Request is one action to authorize.
type Request struct {
	// Principal is the caller.
	Principal Principal
	// Action is the action, for example "s3:PutObject".
	Action string
	// Resource is the ARN of the resource acted on.
	Resource string
	// ResourceAccount is the account that owns the resource; "" means the
	// principal's own account.
	ResourceAccount string
	// Context holds the request's condition keys. Keys are looked up
	// case-insensitively (an exact spelling wins over others); a nil or
	// empty value means the key is absent. Keys derived from Principal
	// (aws:username, aws:userid, aws:PrincipalArn, aws:PrincipalAccount,
	// aws:PrincipalType, aws:PrincipalServiceName, aws:ResourceAccount)
	// are supplied automatically unless present here; an entry with a nil
	// value removes a derived key. Nothing is taken from the clock:
	// aws:CurrentTime and aws:EpochTime are absent unless given.
	Context map[string][]string
}

// PolicySet is every policy that applies to a request.
type PolicySet struct {
	// Identity holds the caller's identity policies (user inline, managed
	// and group policies, or the role's policies).
	Identity []*Document
	// Resource holds the resource policies: a bucket policy or a key policy.
	Resource []*Document
	// Boundary holds the permissions boundary (none when empty).
	Boundary []*Document
	// Session holds the session policies (none when empty).
	Session []*Document
	// Endpoint holds the VPC endpoint policy (none when empty).
	Endpoint []*Document
	// KeyPolicyMode marks Resource as a KMS key policy: within the key's
	// account an identity policy grants nothing unless the key policy
	// allows the account root.
	KeyPolicyMode bool
}

// Decision is the outcome of an evaluation. The zero value is ImplicitDeny.
type Decision int

// The decisions, as in AWS's evaluation logic.
const (
	// ImplicitDeny: nothing allowed the request (the default).
	ImplicitDeny Decision = iota
	// Allowed: the request is allowed.
	Allowed
	// ExplicitDeny: a Deny statement applies.
	ExplicitDeny
)

// String returns "allowed", "explicitDeny" or "implicitDeny".
func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allowed"
	case ExplicitDeny:
		return "explicitDeny"
	case ImplicitDeny:
		return "implicitDeny"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// Verdict is the decision in the terms of package mpu's reports: Allowed,
// ExplicitDeny, else ImplicitDeny.
func (d Decision) Verdict() mpu.Decision {
	switch d {
	case Allowed:
		return mpu.Allowed
	case ExplicitDeny:
		return mpu.ExplicitDeny
	}
	return mpu.ImplicitDeny
}

// MarshalText encodes the decision as its String form.
func (d Decision) MarshalText() ([]byte, error) {
	switch d {
	case Allowed, ExplicitDeny, ImplicitDeny:
		return []byte(d.String()), nil
	}
	return nil, fmt.Errorf("policy: invalid decision %d", int(d))
}

// UnmarshalText parses the String form of a decision.
func (d *Decision) UnmarshalText(b []byte) error {
	switch string(b) {
	case "allowed":
		*d = Allowed
	case "explicitDeny":
		*d = ExplicitDeny
	case "implicitDeny":
		*d = ImplicitDeny
	default:
		return fmt.Errorf("policy: unknown decision %q", b)
	}
	return nil
}

// StatementRef names one statement of one policy: the module's one
// statement reference, mpu.StatementRef (Kind is KindIdentity,
// KindResource, KindBoundary, KindSession or KindEndpoint).
type StatementRef = mpu.StatementRef

// Result is the outcome of Evaluate.
type Result struct {
	// Decision is the verdict.
	Decision Decision
	// Deciding lists the statements that decided it: every applicable Deny
	// for ExplicitDeny, the Allows that were needed for Allowed, and
	// nothing for ImplicitDeny.
	Deciding []StatementRef
	// Matched lists every statement whose principal, action, resource and
	// conditions matched the request, in evaluation order.
	Matched []StatementRef
	// MissingKeys lists, sorted and without duplicates, the condition keys
	// and policy variables (with a default or not) absent from the request
	// that a statement whose principal and action match referred to, where
	// supplying them could change whether that statement applies. Keys
	// that cannot exist for the caller (aws:username for a role session)
	// are left out.
	MissingKeys []string
	// Reasons explains the decision in plain sentences.
	Reasons []string
}
