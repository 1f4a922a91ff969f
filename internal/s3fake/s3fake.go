// Package s3fake is the name the project's unit tests use for package
// s3mem, the public in-memory S3: every identifier here is an alias of the
// s3mem identifier of the same name, with no behaviour of its own. New
// tests may import s3mem directly.
package s3fake

import (
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/s3mem"
)

// Operation names, as recorded in Call.Op and used to install hooks.
const (
	OpPutObject               = s3mem.OpPutObject
	OpCreateMultipartUpload   = s3mem.OpCreateMultipartUpload
	OpUploadPart              = s3mem.OpUploadPart
	OpCompleteMultipartUpload = s3mem.OpCompleteMultipartUpload
	OpAbortMultipartUpload    = s3mem.OpAbortMultipartUpload
	OpListParts               = s3mem.OpListParts
	OpListMultipartUploads    = s3mem.OpListMultipartUploads
	OpHeadObject              = s3mem.OpHeadObject
	OpGetObject               = s3mem.OpGetObject
	OpCopyObject              = s3mem.OpCopyObject
	OpUploadPartCopy          = s3mem.OpUploadPartCopy
	OpGetObjectTagging        = s3mem.OpGetObjectTagging
)

type (
	// Client is s3mem.Client.
	Client = s3mem.Client
	// Call is s3mem.Call.
	Call = s3mem.Call
	// Next is s3mem.Next.
	Next = s3mem.Next
	// Hook is s3mem.Hook.
	Hook = s3mem.Hook
	// Object is s3mem.Object.
	Object = s3mem.Object
	// Part is s3mem.Part.
	Part = s3mem.Part
	// Upload is s3mem.Upload.
	Upload = s3mem.Upload
)

// New is s3mem.New.
func New(buckets ...string) *Client { return s3mem.New(buckets...) }

// Checksum is s3mem.Checksum.
func Checksum(a types.ChecksumAlgorithm, data []byte) string { return s3mem.Checksum(a, data) }

// APIError is s3mem.APIError.
func APIError(op string, status int, code, message string) error {
	return s3mem.APIError(op, status, code, message)
}

// Wrap is s3mem.Wrap.
func Wrap(op string, status int, apiErr error) error { return s3mem.Wrap(op, status, apiErr) }

// AccessDenied is s3mem.AccessDenied.
func AccessDenied(op string) error { return s3mem.AccessDenied(op) }

// SlowDown is s3mem.SlowDown.
func SlowDown(op string) error { return s3mem.SlowDown(op) }

// InternalError is s3mem.InternalError.
func InternalError(op string) error { return s3mem.InternalError(op) }

// NoSuchUpload is s3mem.NoSuchUpload.
func NoSuchUpload(op string) error { return s3mem.NoSuchUpload(op) }

// Fail is s3mem.Fail.
func Fail(err error) Hook { return s3mem.Fail(err) }

// FailTimes is s3mem.FailTimes.
func FailTimes(n int, err error) Hook { return s3mem.FailTimes(n, err) }

// FailIf is s3mem.FailIf.
func FailIf(pred func(call *Call) error) Hook { return s3mem.FailIf(pred) }

// Sequence is s3mem.Sequence.
func Sequence(errs ...error) Hook { return s3mem.Sequence(errs...) }

// Block is s3mem.Block.
func Block(release <-chan struct{}, started chan<- *Call) Hook { return s3mem.Block(release, started) }
