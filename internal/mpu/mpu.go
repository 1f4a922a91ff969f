// Package mpu repeats the step names and limits of the public package
// github.com/s3mpu/s3mpu/mpu under their former import path, for code that
// still imports it. New code imports the public package; this one must
// not grow.
package mpu

import "github.com/s3mpu/s3mpu/mpu"

// Step is mpu.Step.
type Step = mpu.Step

// The steps (see mpu.Initiate).
const (
	Initiate       = mpu.Initiate
	UploadPart     = mpu.UploadPart
	UploadPartCopy = mpu.UploadPartCopy
	Complete       = mpu.Complete
	Abort          = mpu.Abort
	ListParts      = mpu.ListParts
	ListUploads    = mpu.ListUploads
)

// S3's multipart limits (see mpu.MinPartSize).
const (
	MinPartSize   = mpu.MinPartSize
	MaxPartSize   = mpu.MaxPartSize
	MaxParts      = mpu.MaxParts
	MaxObjectSize = mpu.MaxObjectSize
	MaxKeyLength  = mpu.MaxKeyLength
	MaxPutSize    = mpu.MaxPutSize
)

// AllSteps is mpu.AllSteps.
var AllSteps = mpu.AllSteps

// ParseStep is mpu.ParseStep.
func ParseStep(name string) (Step, error) { return mpu.ParseStep(name) }
