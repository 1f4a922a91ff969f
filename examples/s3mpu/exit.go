package main

import (
	"errors"
	"fmt"
)

// Exit codes, documented in README.md and in the root command's help.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitDenied      = 3
	exitInterrupted = 130
)

// exitError carries the exit code a command's failure maps to.
type exitError struct {
	code int
	err  error
	// silent: the command already printed everything the user needs (e.g. a denial report).
	silent bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as a usage or invalid-input error (exit 2).
func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }

// usageErrorf formats a usage error (exit 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// deniedErr marks err as a denial by preflight or policy evaluation (exit 3).
func deniedErr(err error) error { return &exitError{code: exitDenied, err: err} }

// silentExit ends the command with code after the command printed its own output.
func silentExit(code int) error { return &exitError{code: code, silent: true} }

// exitCode returns the process exit code for err.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}

// isSilent reports whether err's message was already shown to the user.
func isSilent(err error) bool {
	var ee *exitError
	return errors.As(err, &ee) && ee.silent
}

// relabeled gives err a message of the CLI's own while errors.Is and errors.As still reach it.
type relabeled struct {
	msg string
	err error
}

func (e *relabeled) Error() string { return e.msg }
func (e *relabeled) Unwrap() error { return e.err }
