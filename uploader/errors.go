package uploader

import (
	"errors"
	"fmt"
	"strings"

	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/mpu"
)

// ErrListenerPanic: a Listener panicked; the upload was stopped. The
// other categories (permission denied, not found, throttled, ...) are
// mpu's: errors.Is(err, mpu.ErrPermissionDenied) and so on hold for every
// error Upload returns, by the categories of its cause and, when an abort
// failed, of the abort error.
var (
	// ErrListenerPanic: a Listener panicked; the upload was stopped.
	ErrListenerPanic = errors.New("listener panicked")
)

// UploadError is the error Upload returns. Use errors.As to read it and
// errors.Is with the Err* sentinels to test the category of the cause.
type UploadError struct {
	// Op is the operation that failed: an S3 operation name such as
	// "UploadPart", or mpu.OpValidate, mpu.OpPreflight, mpu.OpReadBody, mpu.OpListener.
	Op mpu.Op
	// Bucket and Key name the object.
	Bucket, Key string
	// UploadID is the multipart upload's ID, or "" when none was created.
	UploadID string
	// PartNumber is the part whose upload failed, or 0.
	PartNumber int32
	// Aborted reports whether the multipart upload was aborted (or found
	// already gone), so that no parts are left behind. False when there
	// was no upload, when LeavePartsOnError was set, or when the abort failed.
	Aborted bool
	// AbortErr is the abort's error, nil when it succeeded or did not run.
	AbortErr error
	// Err is the cause.
	Err error
}

// Error describes the failure; when the abort was denied it says who may
// abort the upload and how to clean it up.
func (e *UploadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "upload s3://%s/%s: %s", e.Bucket, e.Key, e.Op)
	if e.PartNumber > 0 {
		fmt.Fprintf(&b, " part %d", e.PartNumber)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	switch {
	case e.UploadID == "":
	case s3err.Code(e.Err) == "NoSuchUpload" && !e.Aborted && e.AbortErr == nil:
		// The server says the upload is gone: nothing was left in place.
	case e.Aborted:
		fmt.Fprintf(&b, " (upload %s aborted)", e.UploadID)
	case e.AbortErr != nil:
		fmt.Fprintf(&b, "; abort of upload %s failed: %v", e.UploadID, e.AbortErr)
		if errors.Is(e.AbortErr, mpu.ErrPermissionDenied) {
			b.WriteString("; " + abortDeniedHelp(e.Bucket, e.Key, e.UploadID))
		} else {
			b.WriteString("; " + cleanupHelp(e.Bucket, e.Key, e.UploadID))
		}
	default:
		fmt.Fprintf(&b, " (upload %s left in place with its parts)", e.UploadID)
	}
	return b.String()
}

// Unwrap returns the cause joined with the abort error, so errors.Is and
// errors.As reach both.
func (e *UploadError) Unwrap() error {
	if e.AbortErr == nil {
		return e.Err
	}
	return errors.Join(e.Err, e.AbortErr)
}

// abortDeniedHelp explains S3's owner-or-initiator rule for aborting.
func abortDeniedHelp(bucket, key, id string) string {
	return "the parts stay stored (and billed) until someone aborts the upload. " +
		"By S3's rules the bucket owner and the upload's initiator (and, when the initiator is an IAM user, " +
		"that user's account) may abort it by default, and anyone else needs s3:AbortMultipartUpload on arn:aws:s3:::" +
		bucket + "/" + key + "; a policy of the bucket owner can deny it to anyone. " +
		"So either a policy denies this identity s3:AbortMultipartUpload, or the server does not apply S3's " +
		"initiator default (some S3-compatible servers need an explicit allow). " +
		cleanupHelp(bucket, key, id)
}

func cleanupHelp(bucket, key, id string) string {
	return fmt.Sprintf("To clean up, as the bucket owner or the initiator run "+
		"`s3mpu uploads abort s3://%s/%s --upload-id %s` (or `s3mpu uploads cleanup s3://%s/%s`), "+
		"or give the bucket a lifecycle rule with AbortIncompleteMultipartUpload so incomplete uploads are removed after a few days",
		bucket, key, id, bucket, key)
}

// invalidf returns an error wrapping mpu.ErrInvalidInput.
func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", mpu.ErrInvalidInput, fmt.Sprintf(format, a...))
}

func isInvalid(err error) bool { return errors.Is(err, mpu.ErrInvalidInput) }

// validateError is the error of a call whose input or options are rejected
// before any request: Op mpu.OpValidate, naming the object when known.
func validateError(bucket, key string, err error) *UploadError {
	return &UploadError{Op: mpu.OpValidate, Bucket: bucket, Key: key, Err: err}
}
