package uploader

import "github.com/s3mpu/s3mpu/internal/mpu"

// Step is one S3 call of a multipart upload, as a Checker is asked about
// it. It is an alias of the module's shared step type (the same type as
// preflight.Step), so programs outside the module can name steps and
// implement Checker and CopyChecker; String returns the step's name
// ("Initiate", "UploadPart", ...).
type Step = mpu.Step

// The steps, in the order an upload performs them.
const (
	StepInitiate       = mpu.Initiate
	StepUploadPart     = mpu.UploadPart
	StepUploadPartCopy = mpu.UploadPartCopy
	StepComplete       = mpu.Complete
	StepAbort          = mpu.Abort
	StepListParts      = mpu.ListParts
	StepListUploads    = mpu.ListUploads
)
