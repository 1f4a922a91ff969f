package mpu

import (
	"fmt"

	"github.com/s3mpu/s3mpu/internal/s3err"
	"github.com/s3mpu/s3mpu/internal/textenum"
)

// Step is one S3 call of a multipart upload whose permissions can be checked.
type Step int

// The steps of a multipart upload, in the order an upload performs them.
const (
	Initiate Step = iota + 1
	UploadPart
	UploadPartCopy
	Complete
	Abort
	ListParts
	ListUploads
)

// AllSteps lists every step, in order.
var AllSteps = []Step{Initiate, UploadPart, UploadPartCopy, Complete, Abort, ListParts, ListUploads}

var stepNames = map[Step]string{
	Initiate:       "Initiate",
	UploadPart:     "UploadPart",
	UploadPartCopy: "UploadPartCopy",
	Complete:       "Complete",
	Abort:          "Abort",
	ListParts:      "ListParts",
	ListUploads:    "ListUploads",
}

var stepOps = map[Step]string{
	Initiate:       "CreateMultipartUpload",
	UploadPart:     "UploadPart",
	UploadPartCopy: "UploadPartCopy",
	Complete:       "CompleteMultipartUpload",
	Abort:          "AbortMultipartUpload",
	ListParts:      "ListParts",
	ListUploads:    "ListMultipartUploads",
}

// String returns the step's name, e.g. "UploadPart".
func (s Step) String() string {
	if n, ok := stepNames[s]; ok {
		return n
	}
	return fmt.Sprintf("Step(%d)", int(s))
}

// Operation returns the S3 API operation the step calls, e.g. "CompleteMultipartUpload".
func (s Step) Operation() string { return stepOps[s] }

// ParseStep returns the step named name (as returned by String),
// case-sensitively; errors satisfy errors.Is(err, s3err.ErrInvalidInput),
// the sentinel every package of the module returns as its ErrInvalidInput.
func ParseStep(name string) (Step, error) {
	for s, n := range stepNames {
		if n == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("unknown multipart step %q: %w", name, s3err.ErrInvalidInput)
}

// MarshalText implements encoding.TextMarshaler.
func (s Step) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Step) UnmarshalText(b []byte) error { return textenum.Unmarshal(s, b, ParseStep) }

// S3's multipart limits.
const (
	MinPartSize   int64 = 5 << 20 // smallest part but the last
	MaxPartSize   int64 = 5 << 30 // largest part
	MaxParts            = 10000   // most parts in one upload
	MaxObjectSize int64 = 5 << 40 // largest object
	MaxKeyLength        = 1024    // bytes of a key, UTF-8
	MaxPutSize    int64 = 5 << 30 // largest single PutObject
)
