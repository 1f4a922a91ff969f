package mpu

import "github.com/s3mpu/s3mpu/internal/s3err"

// The error categories every package of this module reports: errors.Is(err,
// ErrX) holds for every error of that category, whichever package (uploader,
// preflight, kmsperm) returned it. Classification happens in one place, so a
// denial is ErrPermissionDenied whether it came from S3, IAM, STS or KMS.
var (
	// ErrInvalidInput: a plan, input, option, policy document, ARN, key
	// ID or ACL grant is malformed.
	ErrInvalidInput = s3err.ErrInvalidInput
	// ErrPermissionDenied: a call the check needs in order to evaluate at
	// all was denied (for example sts:GetCallerIdentity), or, from
	// UploadChecker, a step is denied (DeniedError).
	ErrPermissionDenied = s3err.ErrPermissionDenied
	// ErrCredentials: the server rejected the credentials themselves (an
	// unknown access key, a wrong secret, an expired session token, a
	// skewed clock). It is returned as an error, never as a denied step:
	// no policy change fixes it.
	ErrCredentials = s3err.ErrCredentials
	// ErrUndecided: a step an upload needs has the verdict Unknown
	// (preflight's UndecidedError, returned by Report.Gate and
	// UploadChecker).
	ErrUndecided = s3err.ErrUndecided
	// ErrNotFound: the bucket or the target KMS key does not exist.
	ErrNotFound = s3err.ErrNotFound
	// ErrCanceled: the context was canceled or its deadline passed.
	ErrCanceled = s3err.ErrCanceled
	// ErrThrottled: the server kept asking to slow down until the retries
	// ran out.
	ErrThrottled = s3err.ErrThrottled
	// ErrTransient: a failure that retries did not cure (5xx, timeouts,
	// connection resets).
	ErrTransient = s3err.ErrTransient
	// ErrChecksumMismatch: a checksum the server reported differs from the
	// one computed locally, or the server rejected a part's (or a
	// PutObject's) bytes as not matching their checksum on every attempt.
	ErrChecksumMismatch = s3err.ErrChecksumMismatch
	// ErrSourceChanged: the file being uploaded or copied changed during
	// the upload, or since the plan or state file recorded it.
	ErrSourceChanged = s3err.ErrSourceChanged
)
