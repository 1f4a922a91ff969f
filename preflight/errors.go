package preflight

import (
	"context"
	"errors"
	"fmt"

	"github.com/s3mpu/s3mpu/internal/policy"
	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
)

// PolicyError reports a policy document that could not be parsed. It names
// the document (PolicyDocument.Name), the statement and the field at fault.
// errors.Is(err, mpu.ErrInvalidInput) holds for it.
type PolicyError struct {
	// Policy is the document's name.
	Policy string
	// Statement is the index of the statement at fault, or -1 when the
	// fault is in the document itself.
	Statement int
	// Sid is the Sid of the statement at fault, when it has one.
	Sid string
	// Field is the element at fault, for example "Action".
	Field string
	// Msg describes the fault.
	Msg string
	err error
}

// Error names the policy, statement and field.
func (e *PolicyError) Error() string {
	var pe *policy.ParseError
	if errors.As(e.err, &pe) {
		return "preflight: " + pe.Error()
	}
	return fmt.Sprintf("preflight: policy %q: %s", e.Policy, e.Msg)
}

// Unwrap returns the underlying parse error and mpu.ErrInvalidInput.
func (e *PolicyError) Unwrap() []error { return []error{e.err, mpu.ErrInvalidInput} }

// parseDocument parses one named document, turning parse errors into
// *PolicyError.
func parseDocument(d mpu.PolicyDocument) (*policy.Document, error) {
	doc, err := policy.ParseNamed(d.Name, d.JSON)
	if err == nil {
		return doc, nil
	}
	out := &PolicyError{Policy: d.Name, Statement: -1, Msg: err.Error(), err: err}
	var pe *policy.ParseError
	if errors.As(err, &pe) {
		out.Statement, out.Sid, out.Field, out.Msg = pe.Statement, pe.Sid, pe.Field, pe.Msg
	}
	return nil, out
}

// stops reports whether err, from a call a preflight makes, ends the
// preflight instead of becoming a gap or a verdict: the context ended, or
// the server rejected the credentials (mpu.ErrCredentials), which says
// nothing about permissions.
func stops(ctx context.Context, err error) bool {
	return ctx.Err() != nil || s3err.Classify(err) == s3err.Credentials
}

// stopsS3 is stops for a call to S3, which also ends the preflight when the
// call got no answer at all (no credentials to sign with, the endpoint
// unreachable or its certificate not trusted): the upload would fail the
// same way at its first request. An IAM call without an answer (a server
// with no IAM endpoint) leaves a gap instead, so the steps it would decide
// are reported undecided.
func stopsS3(ctx context.Context, err error) bool {
	return stops(ctx, err) || s3err.NoAnswer(err)
}

// callErr returns err, from call, marked with its category; a credentials
// error is prefixed with what the preflight was doing.
func callErr(call string, err error) error {
	if s3err.Classify(err) == s3err.Credentials {
		return fmt.Errorf("preflight: %s: the server rejected the credentials: %w", call, s3err.Mark(err))
	}
	if s3err.NoAnswer(err) {
		return fmt.Errorf("preflight: %s: no answer from the server: %w", call, s3err.Mark(err))
	}
	return s3err.Mark(err)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("preflight: "+format+": %w", append(args, mpu.ErrInvalidInput)...)
}
