package kmsperm

import (
	"fmt"

	"github.com/s3mpu/s3mpu/internal/s3err"
)

// Error is the error type of this package. Op names the operation
// ("check", "resolve key", "get key policy", "simulate"), Key the KMS key as
// given (may be empty). Err is the cause; Unwrap exposes it and the
// category sentinel, so both errors.Is(err, mpu.ErrInvalidInput) and
// errors.As(err, &apiErr) work.
type Error struct {
	Op  string
	Key string
	Err error
}

// Error formats the error as "kmsperm: op key: cause".
func (e *Error) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("kmsperm: %s %s: %v", e.Op, e.Key, e.Err)
	}
	return fmt.Sprintf("kmsperm: %s: %v", e.Op, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// invalid returns an *Error in the mpu.ErrInvalidInput category.
func invalid(op, key, format string, args ...any) error {
	return &Error{Op: op, Key: key, Err: s3err.MarkAs(fmt.Errorf(format, args...), s3err.InvalidInput)}
}

// wrapAPI wraps an AWS API error so that errors.Is reaches its category.
func wrapAPI(op, key string, err error) error {
	return &Error{Op: op, Key: key, Err: s3err.Mark(err)}
}

// detailError is a cause with a message of its own: the message says what
// happened in the terms of the check, and Unwrap still reaches the API error
// (errors.As(err, &smithy.APIError)).
type detailError struct {
	msg   string
	cause error
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.cause }
