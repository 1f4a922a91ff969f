// Package policy is an offline engine for the AWS IAM policy language: it parses
// identity, resource (bucket and key), permissions-boundary, session and VPC
// endpoint policy documents and decides, without calling AWS, whether a
// principal may perform an action on a resource.
//
// The evaluation follows the logic AWS documents in "Policy evaluation logic"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
// an explicit Deny in any applicable policy wins; otherwise, within one
// account, an Allow from an identity policy or from the resource policy is
// enough; across accounts both the caller's identity policy and the resource
// owner's resource policy must allow; permissions boundaries, session policies
// and endpoint policies, when given, must also allow. With
// PolicySet.KeyPolicyMode the resource policy is a KMS key policy, which must
// allow the caller directly or delegate to the account's identity policies by
// allowing the account root.
//
// Finer rules, each from the IAM documentation: the account root user
// needs no identity policy (but a key policy must still allow it); a
// resource-policy grant to an account (its ID or root ARN) only delegates to
// that account's identity policies; within one account a grant naming the
// caller's own user or role-session ARN, or "*", is not limited by the
// caller's permissions boundary or session policy, while a grant naming
// the role ARN is; a NotPrincipal Deny exempts a caller only when its
// account, its role (for a role session) and itself are all listed, and
// always applies to an IAM principal that has a permissions boundary.
//
// A denial is a result, not an error: Evaluate always returns a Result whose
// Decision is Allowed, ExplicitDeny or ImplicitDeny, with the statements that
// decided it, every statement that matched, the condition keys the request
// lacked that a statement needed (MissingKeys) and human-readable Reasons.
// A statement AWS would refuse in its kind of policy (an identity, boundary
// or session policy statement that names a Principal or has no Resource, a
// resource policy statement without Principal) never applies; the Reasons
// name it as ignored.
//
// # Matching
//
// Actions match case-insensitively with '*' and '?' wildcards. Resources
// match case-sensitively; a '*' spans '/', and in an ARN pattern the
// partition, service, region and account fields are matched one by one so a
// wildcard there never crosses a ':'. Condition operators follow "IAM JSON
// policy elements: Condition operators": a positive operator on an absent
// key is false, a negated one true, ...IfExists is true on an absent key,
// ForAllValues is true and ForAnyValue false on an absent or empty set;
// keys compare case-insensitively. Policy variables (${aws:username},
// ${aws:userid}, ${aws:PrincipalAccount}, any context key, ${key, 'default'}
// and the escapes ${*}, ${?}, ${$}) are resolved only in documents with
// Version 2012-10-17, in Resource and NotResource and in string and ARN
// condition values (elsewhere "${...}" is literal text). A variable with no
// value (its key is absent or has several values, and it has no default)
// follows "Policy variables with no value"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value):
// the Resource or NotResource entry holding it matches no resource, and
// the condition value holding it equals and is like no request value, so a
// positive operator fails on that value and a negated one succeeds; the
// statement's other entries and values still count, and IfExists, Null and
// the absent-key rules above are unchanged. Such an entry or value thus
// counts as if it were not in its list (a NotResource entry with one
// excludes nothing), and adding one to a Deny never stops it applying.
//
// The parser is strict where AWS is strict or where leniency could allow
// something AWS would not: Effect must be "Allow" or "Deny", actions must
// be "*" or "service:action", operator names are case-sensitive, principal
// ARNs may not contain wildcards, NotPrincipal is accepted only with Deny,
// and duplicate JSON keys (which decoders resolve differently) are rejected.
//
// # Errors
//
// Parse and ParseNamed return a *ParseError for any malformed document,
// naming the statement (index and Sid) and the field at fault. A document
// that does not parse is never evaluated, so a malformed policy can never
// allow anything. Evaluate does not return errors; it never panics on any
// input.
//
// # Concurrency
//
// A *Document returned by Parse is immutable as far as this package is
// concerned and may be evaluated from many goroutines at once. Callers must
// not modify a parsed Document's statements; to change a policy, edit its
// JSON and parse it again. Evaluate, MatchAction, MatchResource and
// PrincipalFromARN are safe for concurrent use.
package policy
