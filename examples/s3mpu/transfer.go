package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/preflight"
)

// What the transfer commands (upload, cp, plan, upload-shard, complete) share: their flags'
// parsing, the checks of the object and check flags, the preflight gate's setup and the
// progress listener.

// parsePartSize parses --part-size: "" is the default (0); S3 allows 5MiB to 5GiB.
func parsePartSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := cmdkit.ParseSize(s)
	if err != nil {
		return 0, cmdkit.UsageErrorf("--part-size: %v", err)
	}
	if n < minPartSize || n > maxPartSize {
		return 0, cmdkit.UsageErrorf("--part-size %s: S3 allows 5MiB to 5GiB", s)
	}
	return n, nil
}

// parseRateLimit parses --rate-limit: "" is no limit (0).
func parseRateLimit(s string) (rate int64, err error) {
	if s != "" {
		if rate, err = cmdkit.ParseRate(s); err != nil {
			return 0, cmdkit.UsageErrorf("--rate-limit: %v", err)
		}
	}
	return rate, nil
}

// checkConcurrency checks --concurrency.
func checkConcurrency(n int) error {
	if n < 1 {
		return cmdkit.UsageErrorf("--concurrency %d: must be at least 1", n)
	}
	return nil
}

// progressMode parses --progress; --quiet shows none.
func (a *app) progressMode(flag string) (progressMode, error) {
	pmode, err := parseProgressMode(flag)
	if err != nil {
		return "", cmdkit.UsageErr(err)
	}
	if a.g.quiet {
		pmode = progressNone
	}
	return pmode, nil
}

// validateFlags checks the object and the check flags that need no I/O and returns the
// server profile; copy says whether the command copies (see checkFlags.validateKMS).
func validateFlags(of *objectFlags, cf *checkFlags, copy bool) (preflight.Profile, error) {
	if err := of.validate(); err != nil {
		return 0, err
	}
	prof, err := cf.validate()
	if err != nil {
		return prof, err
	}
	return prof, cf.validateKMS(of, copy)
}

// connect returns the S3 client of a transfer and its preflight gate (see openGate).
func (a *app) connect(ctx context.Context, cf *checkFlags, prof preflight.Profile, mode, noun, verb string, plan func() (*preflight.Plan, error)) (*s3.Client, *preflightGate, error) {
	cli, err := a.S3Client(ctx)
	if err != nil {
		return nil, nil, err
	}
	gate, err := a.openGate(ctx, cli, cf, prof, mode, noun, verb, plan)
	return cli, gate, err
}

// openGate builds the preflight gate of a transfer for --preflight mode; nil for off. The
// policy files the user named must be readable, whatever the mode. plan returns the
// preflight plan of the transfer.
func (a *app) openGate(ctx context.Context, cli *s3.Client, cf *checkFlags, prof preflight.Profile, mode, noun, verb string, plan func() (*preflight.Plan, error)) (*preflightGate, error) {
	if mode == cmdkit.GateOff {
		return nil, nil
	}
	if _, err := cf.sources(); err != nil {
		return nil, err
	}
	if _, _, err := cf.keyPolicies(); err != nil {
		return nil, err
	}
	p, err := plan()
	if err != nil {
		return nil, err
	}
	return a.newPreflightGate(ctx, cli, cf, p, prof, mode, noun, verb)
}

// transferListener returns the progress display of an upload or a copy as the listener of
// its events: status lines go through Info, and the gate's warnings (gate nil: none) to
// stderr; copy counts a part's size when it is done.
func (a *app) transferListener(pmode progressMode, label string, gate *preflightGate, copy bool) *progressListener {
	lis := &progressListener{p: newProgress(pmode, a.stderr, label, a.now), note: func(msg string) { a.Info("%s", msg) }, copy: copy}
	if gate != nil {
		lis.preflight = gate.warn
	}
	return lis
}

// openInput opens a file the command reads and returns what Stat says of it; a file that
// cannot be opened is a usage error.
func openInput(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, cmdkit.UsageErrorf("cannot open %s: %v", path, errors.Unwrap(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// checksumTypeText returns a checksum type as the text output writes it ("full-object",
// "composite").
func checksumTypeText(t string) string {
	return strings.ToLower(strings.ReplaceAll(t, "_", "-"))
}
