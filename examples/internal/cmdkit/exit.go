package cmdkit

import (
	"errors"
	"fmt"
)

// Exit codes of both commands, documented in their READMEs and root help.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitDenied      = 3
	ExitInterrupted = 130
)

// ExitError carries the exit code a command's failure maps to.
type ExitError struct {
	Code int
	Err  error
	// Silent: the command already printed everything the user needs (e.g. a denial report).
	Silent bool
}

// Error returns the wrapped error's message, or "exit status N" without one.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *ExitError) Unwrap() error { return e.Err }

// UsageErr marks err as a usage or invalid-input error (exit 2).
func UsageErr(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

// UsageErrorf formats a usage error (exit 2).
func UsageErrorf(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// DeniedErr marks err as a denial by preflight or policy evaluation (exit 3).
func DeniedErr(err error) error { return &ExitError{Code: ExitDenied, Err: err} }

// SilentExit ends the command with code after the command printed its own output.
func SilentExit(code int) error { return &ExitError{Code: code, Silent: true} }

// Code returns the process exit code for err.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}

// IsSilent reports whether err's message was already shown to the user.
func IsSilent(err error) bool {
	var ee *ExitError
	return errors.As(err, &ee) && ee.Silent
}

// Relabeled gives Err a message of the CLI's own while errors.Is and errors.As still reach it.
type Relabeled struct {
	Msg string
	Err error
}

// Error returns the CLI's message.
func (e *Relabeled) Error() string { return e.Msg }

// Unwrap returns the original error.
func (e *Relabeled) Unwrap() error { return e.Err }
