package mpu

// Op names the operation an uploader.UploadError or a Retry event is about:
// an S3 operation, or one of the uploader's own steps (OpValidate,
// OpPreflight, OpReadBody, OpListener, OpResume, OpCheckParts). Every Op is
// declared here.
type Op string

// The S3 operations.
const (
	OpPutObject               Op = "PutObject"
	OpCreateMultipartUpload   Op = "CreateMultipartUpload"
	OpUploadPart              Op = "UploadPart"
	OpCompleteMultipartUpload Op = "CompleteMultipartUpload"
	OpAbortMultipartUpload    Op = "AbortMultipartUpload"
	OpHeadObject              Op = "HeadObject"
	// OpListParts: listing the parts of the upload being resumed failed.
	OpListParts Op = "ListParts"
	// OpListMultipartUploads: looking for an upload an interrupted
	// CreateMultipartUpload may have made failed.
	OpListMultipartUploads Op = "ListMultipartUploads"
	// OpCopyObject: the single-request copy failed.
	OpCopyObject Op = "CopyObject"
	// OpUploadPartCopy: copying a part's byte range failed.
	OpUploadPartCopy Op = "UploadPartCopy"
	// OpGetObjectTagging: reading the copy source's tags failed.
	OpGetObjectTagging Op = "GetObjectTagging"
)

// The uploader's own steps.
const (
	OpValidate  Op = "Validate"  // the input or the options were rejected
	OpPreflight Op = "Preflight" // the preflight check failed in enforce mode
	OpReadBody  Op = "ReadBody"  // reading the body failed, stalled past the context, or gave the wrong size
	OpListener  Op = "Listener"  // a Listener panicked
	// OpResume: the state file could not be read or written, or it does
	// not allow resuming (another object, other encryption settings, a
	// changed source).
	OpResume Op = "Resume"
	// OpCheckParts: CompletePlan found parts of the plan missing or not
	// matching it (see IncompleteError); nothing was completed.
	OpCheckParts Op = "CheckParts"
)

// String returns the operation's name.
func (op Op) String() string { return string(op) }
