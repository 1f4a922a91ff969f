package preflight

import "github.com/s3mpu/s3mpu/internal/mpu"

// Step is one S3 call of a multipart upload (an alias of the module's
// shared step type, so programs outside the module can name steps).
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

// AllSteps returns every step, in order.
func AllSteps() []Step { return append([]Step(nil), mpu.AllSteps...) }

// ParseStep returns the step named s ("Initiate", "UploadPart", ...);
// errors satisfy errors.Is(err, ErrInvalidInput).
func ParseStep(s string) (Step, error) {
	st, err := mpu.ParseStep(s)
	if err != nil {
		return 0, invalidf("%v", err)
	}
	return st, nil
}
