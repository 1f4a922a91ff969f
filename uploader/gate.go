package uploader

import (
	"context"
	"errors"

	"github.com/s3mpu/s3mpu/internal/optfn"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// gate runs the preflight check and applies PreflightMode; it is the one
// place the module decides between warning and refusing. check runs the
// checker. It returns nil when the upload may start, else the error to
// fail with; upload.fail reports a listener's panic as mpu.OpListener.
//
// PreflightOff skips the check. PreflightEnforce refuses on any error of
// the checker: a denial (mpu.ErrPermissionDenied), a step it could not decide
// (mpu.ErrUndecided), or a failure to evaluate. PreflightWarn sends the error
// in a Preflight event and lets the upload start, except for errors that
// say the upload itself would fail at once, which refuse in every mode: a
// canceled context (mpu.ErrCanceled), credentials the server rejected
// (mpu.ErrCredentials) and invalid input (mpu.ErrInvalidInput, for example an
// SSE-KMS key that does not exist).
func gate(ctx context.Context, mode PreflightMode, em *emitter, check func() error) error {
	if mode == PreflightOff {
		return nil
	}
	err := check()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && !errors.Is(err, mpu.ErrCanceled) {
		err = errors.Join(err, mpu.ErrCanceled)
	}
	if mode == PreflightWarn && !refusesInWarn(err) {
		return em.emit(event.Preflight{Err: err})
	}
	return err
}

// refusesInWarn reports whether a checker's error stops the upload even
// under PreflightWarn: the upload would fail at its first request anyway.
func refusesInWarn(err error) bool {
	return errors.Is(err, mpu.ErrCanceled) || errors.Is(err, mpu.ErrCredentials) || errors.Is(err, mpu.ErrInvalidInput)
}

// Preflight runs the permission check Upload would run for in, before any
// request of an upload, and applies Options.PreflightMode as Upload does:
// it returns nil when the upload may start (every step allowed, no
// Preflight checker, PreflightOff, or PreflightWarn after the problem was
// sent to the Listener in a Preflight event), else an *UploadError with Op
// mpu.OpPreflight whose cause is the checker's error: errors.Is
// mpu.ErrPermissionDenied for a denied step, mpu.ErrUndecided for a step the
// checker could not decide, mpu.ErrCredentials for credentials the server
// rejected. steps are the steps to check; nil means those of a multipart
// Upload: mpu.Initiate, mpu.UploadPart, mpu.Complete and, unless
// Options.LeavePartsOnError, mpu.Abort. in.Body is not read and may be
// nil.
//
// Use it to check once before starting many uploads that share the same
// permissions (for example every key under one prefix), then upload with
// PreflightOff.
func (u *Uploader) Preflight(ctx context.Context, in *UploadInput, steps []mpu.Step, optFns ...func(*Options)) error {
	o := optfn.With(u.options, optFns)
	if in == nil {
		return validateError("", "", invalidf("nil input"))
	}
	bad := func(err error) error { return validateError(in.Bucket, in.Key, err) }
	if ctx == nil {
		return bad(invalidf("nil context"))
	}
	o, err := o.resolve()
	if err != nil {
		return bad(err)
	}
	if err := checkBucket("", in.Bucket); err != nil {
		return bad(err)
	}
	if in.Key == "" {
		return bad(invalidf("empty key"))
	}
	if steps == nil {
		steps = []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.Complete}
		if !o.LeavePartsOnError {
			steps = append(steps, mpu.Abort)
		}
	}
	algo, typ := o.ChecksumAlgorithm, o.ChecksumType
	if in.ChecksumAlgorithm != "" {
		algo, typ = in.ChecksumAlgorithm, in.ChecksumType
	}
	cs, err := checksumFor(algo, typ)
	if err != nil {
		return bad(err)
	}
	up := &upload{client: u.client, o: o, in: in, cs: cs, em: &emitter{l: o.Listener}, size: SizeUnknown}
	cin := in.createInput(cs)
	cin.SSECustomerKey = nil
	if err := gate(ctx, o.PreflightMode, up.em, func() error { return o.Preflight.CheckUpload(ctx, cin, steps) }); err != nil {
		return up.fail(mpu.OpPreflight, 0, err)
	}
	return nil
}
