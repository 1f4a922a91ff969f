package mpu

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// PolicyDocument is one policy document's JSON text and the name reasons
// and errors use for it. A document with empty JSON stands for "none".
type PolicyDocument struct {
	Name string `json:"name"`
	JSON []byte `json:"json"`
}

// Empty reports whether the document stands for "none" (its JSON is
// empty or blank).
func (d PolicyDocument) Empty() bool { return len(bytes.TrimSpace(d.JSON)) == 0 }

// StatementRef names one statement of one policy document.
type StatementRef struct {
	// Policy is the document's name.
	Policy string `json:"policy"`
	// Kind is "identity", "resource", "boundary", "session" or "endpoint".
	Kind string `json:"kind"`
	// Sid is the statement's Sid, when it has one.
	Sid string `json:"sid,omitempty"`
	// Index is the statement's position in its document, from 0.
	Index int `json:"index"`
	// Effect is "Allow" or "Deny".
	Effect string `json:"effect"`
}

// String formats the reference as `kind policy "name" statement N (Sid "x")`.
func (r StatementRef) String() string {
	b := make([]byte, 0, 48+len(r.Policy)+len(r.Sid))
	b = append(b, r.Kind...)
	b = append(b, " policy "...)
	b = strconv.AppendQuote(b, r.Policy)
	b = append(b, " statement "...)
	b = strconv.AppendInt(b, int64(r.Index), 10)
	if r.Sid != "" {
		b = append(b, " (Sid "...)
		b = strconv.AppendQuote(b, r.Sid)
		b = append(b, ')')
	}
	return string(b)
}

// Gap is a policy source that could not be read, and what would let a
// check read it.
type Gap struct {
	// Source names it, e.g. "bucket policy (s3:GetBucketPolicy)".
	Source string `json:"source"`
	// Error is why it could not be read.
	Error string `json:"error"`
	// AllowOnly is true when the source can only grant (an ACL), so its
	// absence cannot hide a Deny.
	AllowOnly bool `json:"allow_only,omitempty"`
	// Permission is the permission that would let the check read it
	// (e.g. "kms:GetKeyPolicy"), when one would.
	Permission string `json:"permission,omitempty"`
	// Hint says how to close the gap, when known.
	Hint string `json:"hint,omitempty"`
}

// Remedy is the smallest change that would allow a step.
type Remedy struct {
	// Summary says what to change, in one or two sentences.
	Summary string `json:"summary"`
	// Add lists statements to add, each to the named policy.
	Add []RemedyStatement `json:"add,omitempty"`
	// Change lists Deny statements that must be changed or removed.
	Change []StatementRef `json:"change,omitempty"`
}

// RemedyStatement is one policy statement to add.
type RemedyStatement struct {
	// Policy is "identity policy" (the caller's), "bucket policy",
	// "source bucket policy", or for a KMS row "key policy of KEY-ARN".
	Policy string `json:"policy"`
	// Account is the account whose policy it is, when known (for a KMS
	// key policy, the key owner's).
	Account string `json:"account,omitempty"`
	// Statement is the statement's JSON.
	Statement json.RawMessage `json:"statement"`
}
