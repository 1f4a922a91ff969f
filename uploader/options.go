package uploader

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/cenkalti/backoff/v4"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// Defaults applied by New and Upload to zero-valued Options fields;
// DefaultOptions returns them.
const (
	// defaultPartSize is the part size when Options.PartSize is 0: 16 MiB.
	defaultPartSize int64 = 16 << 20
	// defaultConcurrency is the number of parts in flight the adaptive
	// concurrency starts from when Options.Concurrency is 0.
	defaultConcurrency = 4
	// defaultMaxAttempts is the number of attempts (the first one included)
	// of each request when Options.MaxAttempts is 0.
	defaultMaxAttempts = 5
	// defaultMaxElapsed bounds the time spent retrying one request when
	// Options.MaxElapsed is 0.
	defaultMaxElapsed = 5 * time.Minute
	// defaultInitialBackoff is the first wait between attempts (before jitter).
	defaultInitialBackoff = 200 * time.Millisecond
	// defaultMaxBackoff caps the wait between attempts.
	defaultMaxBackoff = 20 * time.Second
	// defaultAbortTimeout bounds the whole abort, retries included.
	defaultAbortTimeout = 30 * time.Second
	// defaultAbortAttempts is the number of AbortMultipartUpload attempts.
	defaultAbortAttempts = 4
	// defaultChecksumAlgorithm is the checksum sent with every part and
	// checked after Complete.
	defaultChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
	// defaultMaxBufferMemory is the floor of the default of
	// Options.MaxBufferMemory: 512 MiB. The default is the larger of it and
	// defaultConcurrency+1 parts of Options.PartSize, so that it never
	// holds back the default concurrency, whatever the part size, while a
	// large Concurrency on a stream stays within a fraction of a common
	// host's memory.
	defaultMaxBufferMemory int64 = 512 << 20
	// defaultCopyThreshold is the largest object Copy copies with a single
	// CopyObject when Options.CopyThreshold is 0: 64 MiB.
	defaultCopyThreshold int64 = 64 << 20
)

// DefaultOptions returns the Options New starts from: every field with a
// fixed default holds it, so a program can show the defaults or start from
// them. Concurrency and MaxBufferMemory stay 0, their default being no
// fixed value (Concurrency 0 adapts; MaxBufferMemory 0 follows PartSize),
// so New(client, func(o *Options) { *o = DefaultOptions() }) behaves as
// New(client).
func DefaultOptions() Options {
	return Options{
		PartSize:          defaultPartSize,
		MaxConcurrency:    defaultMaxConcurrency,
		MaxAttempts:       defaultMaxAttempts,
		MaxElapsed:        defaultMaxElapsed,
		InitialBackoff:    defaultInitialBackoff,
		MaxBackoff:        defaultMaxBackoff,
		AbortTimeout:      defaultAbortTimeout,
		AbortAttempts:     defaultAbortAttempts,
		ChecksumAlgorithm: defaultChecksumAlgorithm,
		CopyThreshold:     defaultCopyThreshold,
		Hedge: HedgeOptions{
			After:       defaultHedgeAfter,
			MinDelay:    defaultHedgeMinDelay,
			MaxInFlight: defaultHedgeMaxInFlight,
			MaxFraction: defaultHedgeMaxFraction,
		},
	}
}

// PreflightMode says what Upload does with the answer of Options.Preflight.
type PreflightMode int

const (
	// PreflightAuto, the zero value, means PreflightEnforce when
	// Options.Preflight is set and PreflightOff otherwise.
	PreflightAuto PreflightMode = iota
	// PreflightOff skips the check.
	PreflightOff
	// PreflightWarn runs the check, reports a failure (a denial, a step it
	// could not decide, a failure to evaluate) in a Preflight event and
	// uploads anyway; only errors that say the upload would fail at once
	// (mpu.ErrCanceled, mpu.ErrCredentials, mpu.ErrInvalidInput) still refuse it.
	PreflightWarn
	// PreflightEnforce runs the check and returns its error (an
	// *UploadError with Op "Preflight") before the first request: a
	// denied step (mpu.ErrPermissionDenied), a step the checker could not
	// decide (mpu.ErrUndecided), or a failure to evaluate. An upload it cannot
	// judge is never started.
	PreflightEnforce
)

var preflightModeNames = [...]string{PreflightAuto: "auto", PreflightOff: "off", PreflightWarn: "warn", PreflightEnforce: "enforce"}

// String returns "auto", "off", "warn" or "enforce".
func (m PreflightMode) String() string {
	if m >= 0 && int(m) < len(preflightModeNames) {
		return preflightModeNames[m]
	}
	return fmt.Sprintf("PreflightMode(%d)", int(m))
}

// Checker checks, before an upload sends anything, that the caller may
// perform every step the upload will take. The preflight package provides
// one; Checker is declared here so that package need not be imported.
type Checker interface {
	// CheckUpload is given the request that will start the upload (bucket,
	// key and the headers that policy conditions see: SSE, ACL, storage
	// class, tagging, checksum) and the steps it will take: mpu.Initiate,
	// mpu.UploadPart, mpu.Complete and, unless parts are left on error,
	// mpu.Abort (Resume adds mpu.ListParts). A single PutObject is checked
	// as mpu.Initiate alone, which needs the same s3:PutObject permission
	// with the same headers. It returns nil when
	// every step is allowed, an error wrapping mpu.ErrPermissionDenied that
	// names the missing permissions when one is denied, an error wrapping
	// mpu.ErrUndecided when it could not decide a step, and any other error
	// when it could not evaluate (mpu.ErrCredentials when the server rejected
	// the credentials).
	CheckUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, steps []mpu.Step) error
}

// Options configure an Uploader. The zero value of every field means its
// default; New and Upload resolve the defaults in one place and reject
// invalid values with an error wrapping mpu.ErrInvalidInput.
type Options struct {
	// PartSize is the size of each part but the last, between 5 MiB and
	// 5 GiB (default 16 MiB). It grows when needed to fit a known
	// size in 10,000 parts, and for bodies of unknown size it doubles every
	// 1,000 parts so a stream of up to 5 TiB fits. Bodies no larger than
	// PartSize are sent with a single PutObject.
	PartSize int64
	// Concurrency is the number of parts uploaded at once. 0 (the default)
	// adapts it: a file (a body read in place) or a stream starts with 4
	// parts (at most MaxConcurrency) in flight, doubled while the
	// throughput rises, up to MaxConcurrency (ConcurrencyChanged events
	// report the level); a stream no further than the parts whose buffers
	// (one more than the parts in flight) fit in MaxBufferMemory. Streamed
	// bodies hold at most Concurrency+1 part buffers, within
	// MaxBufferMemory. Copy and UploadShard use 4 when it is 0.
	Concurrency int
	// MaxConcurrency bounds the parts in flight the adaptive concurrency
	// reaches (each is a connection); default 16. It does not apply to a
	// Concurrency set by the caller.
	MaxConcurrency int
	// MaxBufferMemory bounds the memory of the part buffers of a streamed
	// body (one that is not read in place), in bytes. Default: the larger
	// of 512 MiB and 5 parts (4 in flight and 1 filling) of PartSize. When Concurrency+1 buffers of the part size do not fit
	// in it, fewer parts are sent at once (one less than the buffers that
	// fit, at least one), and the Started event reports it
	// (ConcurrencyClamped). A value that cannot hold one part of PartSize
	// fails with mpu.ErrInvalidInput; so does a stream whose part size grows
	// beyond it (a body of known size needing larger parts, or an unknown
	// size past 1,000 parts, where the part size doubles). Bodies read in
	// place (files, io.ReaderAt) use no part buffers and are not affected.
	MaxBufferMemory int64
	// MaxAttempts is the number of attempts of each request, the first
	// included (default 5). Only errors the classifier
	// calls throttling or transient are retried.
	MaxAttempts int
	// MaxElapsed bounds the time spent retrying one request (default 5m).
	MaxElapsed time.Duration
	// InitialBackoff and MaxBackoff shape the exponential wait between
	// attempts, which has ±50% jitter (defaults 200ms and 20s).
	InitialBackoff, MaxBackoff time.Duration
	// ClientMaxAttempts sets the SDK's own attempts per request made by the
	// uploader. 0 (the default) means 1: the uploader's retries alone
	// decide, so attempts are not multiplied. A positive value sets the
	// SDK's attempts to it (total attempts are then up to MaxAttempts ×
	// ClientMaxAttempts); a negative value leaves the client's retryer as
	// configured.
	ClientMaxAttempts int
	// AbortTimeout bounds the abort that follows a failure, its retries
	// included (default 30s). The abort runs on a context
	// that the caller's cancellation does not end.
	AbortTimeout time.Duration
	// AbortAttempts is the number of AbortMultipartUpload attempts
	// (default 4).
	AbortAttempts int
	// LeavePartsOnError keeps the upload and its parts when the upload
	// fails, instead of aborting it. The returned *UploadError names the
	// upload ID.
	LeavePartsOnError bool
	// Listener receives progress events (see package event); nil means none.
	Listener event.Listener
	// RateLimit caps the bytes per second sent across all parts of one
	// upload; 0 means no limit.
	RateLimit int64
	// ChecksumAlgorithm is the checksum computed locally, sent with each
	// part and checked after Complete: CRC32, CRC32C (the default),
	// CRC64NVME, SHA1 or SHA256. UploadInput.ChecksumAlgorithm overrides it.
	ChecksumAlgorithm types.ChecksumAlgorithm
	// ChecksumType is the object checksum of a multipart upload:
	// FULL_OBJECT (the default for the CRC algorithms) or COMPOSITE (the
	// only choice, and the default, for SHA1 and SHA256).
	ChecksumType types.ChecksumType
	// Preflight, when set, checks permissions before the first request;
	// PreflightMode says what a failed check does.
	Preflight     Checker
	PreflightMode PreflightMode
	// CallerID is the caller's identity as the server names the
	// initiator of its multipart uploads (Initiator.ID in
	// ListMultipartUploads; on AWS the ARN of the IAM user or of the
	// assumed role's session, as sts:GetCallerIdentity returns it). It is
	// used only to tell the caller's uploads from others' when looking for
	// the uploads a CreateMultipartUpload whose answer was lost may have
	// made (see OrphanCheck), and only when no upload of the call exists to
	// learn the identity from: Resume after a run interrupted before
	// CreateMultipartUpload answered, and AbortResumable. Empty (the
	// default), such a check aborts nothing on a server that reports
	// initiators.
	CallerID string
	// Hedge configures straggler hedging of the parts of Upload and Resume
	// (on by default; see HedgeOptions).
	Hedge HedgeOptions
	// CopyThreshold is the largest object Copy copies with a single
	// CopyObject (default 64 MiB); larger objects, and always
	// those over 5 GiB, are copied in parts with UploadPartCopy.
	CopyThreshold int64

	// clock, when set, replaces the real clock and timers of the retries.
	clock clock
	// adaptive is set by resolve when Concurrency was 0.
	adaptive bool
}

// clock provides the time and timers of the retries, so tests need not sleep.
type clock interface {
	backoff.Clock
	NewTimer() backoff.Timer
}

// resolve returns o with defaults applied, or an error wrapping
// mpu.ErrInvalidInput when a field is out of range.
func (o Options) resolve() (Options, error) {
	d := DefaultOptions()
	o.adaptive = o.Concurrency == 0
	orDefault(&o.PartSize, d.PartSize)
	orDefault(&o.Concurrency, defaultConcurrency)
	orDefault(&o.MaxConcurrency, d.MaxConcurrency)
	orDefault(&o.MaxBufferMemory, max(defaultMaxBufferMemory, int64(defaultConcurrency+1)*o.PartSize))
	orDefault(&o.MaxAttempts, d.MaxAttempts)
	orDefault(&o.MaxElapsed, d.MaxElapsed)
	orDefault(&o.InitialBackoff, d.InitialBackoff)
	orDefault(&o.MaxBackoff, d.MaxBackoff)
	orDefault(&o.AbortTimeout, d.AbortTimeout)
	orDefault(&o.AbortAttempts, d.AbortAttempts)
	orDefault(&o.CopyThreshold, d.CopyThreshold)
	orDefault(&o.ChecksumAlgorithm, d.ChecksumAlgorithm)
	// The first rule broken, in this order, is the error.
	for _, r := range []struct {
		broken bool
		format string
		args   []any
	}{
		{o.PartSize < mpu.MinPartSize || o.PartSize > mpu.MaxPartSize, "PartSize %d is outside S3's range of %d to %d bytes", []any{o.PartSize, mpu.MinPartSize, mpu.MaxPartSize}},
		{o.Concurrency < 1, "Concurrency %d is less than 1", []any{o.Concurrency}},
		{o.MaxConcurrency < 1, "MaxConcurrency %d is less than 1", []any{o.MaxConcurrency}},
		{o.MaxBufferMemory < o.PartSize, "MaxBufferMemory %d cannot hold one part of PartSize %d bytes", []any{o.MaxBufferMemory, o.PartSize}},
		{o.MaxAttempts < 1, "MaxAttempts %d is less than 1", []any{o.MaxAttempts}},
		{o.MaxElapsed < 0 || o.InitialBackoff < 0 || o.MaxBackoff < 0, "negative retry durations", nil},
		{o.AbortTimeout < 0, "AbortTimeout %v is negative", []any{o.AbortTimeout}},
		{o.AbortAttempts < 1, "AbortAttempts %d is less than 1", []any{o.AbortAttempts}},
		{o.CopyThreshold < 0, "CopyThreshold %d is negative", []any{o.CopyThreshold}},
		{o.RateLimit < 0, "RateLimit %d is negative", []any{o.RateLimit}},
	} {
		if r.broken {
			return o, invalidf(r.format, r.args...)
		}
	}
	if o.adaptive {
		o.Concurrency = min(o.Concurrency, o.MaxConcurrency)
	}
	o.MaxBackoff = max(o.MaxBackoff, o.InitialBackoff)
	h, err := o.Hedge.resolve()
	if err != nil {
		return o, err
	}
	o.Hedge = h
	if _, err := checksumFor(o.ChecksumAlgorithm, o.ChecksumType); err != nil {
		return o, err
	}
	mode, err := resolveMode(o.PreflightMode, o.Preflight)
	if err != nil {
		return o, err
	}
	o.PreflightMode = mode
	if o.clock == nil {
		o.clock = realClock{}
	}
	return o, nil
}

// orDefault sets *v to d when *v is its type's zero value.
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// resolveMode applies PreflightAuto's rule and checks that a mode that
// runs the check has a checker.
func resolveMode(m PreflightMode, c Checker) (PreflightMode, error) {
	switch m {
	case PreflightAuto:
		m = PreflightOff
		if c != nil {
			m = PreflightEnforce
		}
	case PreflightOff, PreflightWarn, PreflightEnforce:
	default:
		return m, invalidf("unknown PreflightMode %d", int(m))
	}
	if m != PreflightOff && c == nil {
		return m, invalidf("PreflightMode %v needs a Preflight checker", m)
	}
	return m, nil
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer() backoff.Timer { return &realTimer{} }

// realTimer implements backoff.Timer with a time.Timer.
type realTimer struct{ t *time.Timer }

func (r *realTimer) Start(d time.Duration) {
	if r.t == nil {
		r.t = time.NewTimer(d)
		return
	}
	r.t.Reset(d)
}

func (r *realTimer) Stop() {
	if r.t != nil {
		r.t.Stop()
	}
}

func (r *realTimer) C() <-chan time.Time { return r.t.C }
