// Package s3err is the one place where errors from S3 (and from the network
// and context beneath it) are sorted into stable categories; it only
// classifies, and never retries, logs or turns an error into a verdict.
//
// Every package of the module that talks to S3 classifies errors here, so a
// retry decision, a permission report and a returned error always agree. The
// decision is made from the error's structure: the smithy.APIError code, the
// HTTP status carried by a smithyhttp.ResponseError (which the SDK's
// awshttp.ResponseError wraps), net.Error and syscall errors, and context
// errors. It is never made from an error's text.
//
// # Errors
//
// The categories are exposed as sentinel errors (ErrPermissionDenied,
// ErrNotFound, ...). Public packages re-export them as their own variables
// (var ErrNotFound = s3err.ErrNotFound) so errors.Is works across packages.
// Mark wraps an error so that errors.Is(err, sentinel) holds for its category
// while errors.As still reaches the original SDK error.
//
// All functions are safe for concurrent use.
package s3err

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Sentinel errors, one per category. Compare with errors.Is.
var (
	// ErrPermissionDenied: the caller lacks a permission (AccessDenied, 403,
	// a KMS denial). Credentials the server rejects are ErrCredentials.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrCredentials: the server rejected the credentials themselves, before
	// any permission was weighed: an unknown access key
	// (InvalidAccessKeyId, InvalidClientTokenId), a signature made with the
	// wrong secret (SignatureDoesNotMatch), an expired or invalid session
	// token (ExpiredToken, TokenRefreshRequired, InvalidToken), a clock too
	// far off (RequestTimeTooSkewed), or an HTTP 401. It is not a
	// permission verdict: no policy change fixes it.
	ErrCredentials = errors.New("credentials rejected")
	// ErrNotFound: the bucket, key, upload or KMS key does not exist (404,
	// NoSuchBucket, NoSuchKey, NoSuchUpload).
	ErrNotFound = errors.New("not found")
	// ErrInvalidInput: the request or the options are invalid (400
	// InvalidArgument, InvalidPart, EntityTooSmall, or checks made before any request).
	ErrInvalidInput = errors.New("invalid input")
	// ErrThrottled: the server asked the caller to slow down (SlowDown, 429, 503).
	ErrThrottled = errors.New("throttled")
	// ErrCanceled: the caller's context was canceled or its deadline passed.
	ErrCanceled = errors.New("canceled")
	// ErrTransient: a failure that a retry may cure (5xx, timeouts, connection resets).
	ErrTransient = errors.New("transient failure")
	// ErrChecksumMismatch: data did not match its checksum (BadDigest,
	// InvalidDigest, XAmzContentSHA256Mismatch, or a local comparison after
	// an upload).
	ErrChecksumMismatch = errors.New("checksum mismatch")
	// ErrSourceChanged: the data being uploaded or copied changed while in use.
	ErrSourceChanged = errors.New("source changed")
	// ErrUndecided: a permission check could not decide whether a step is
	// allowed (its verdict is unknown). No S3 error code has this kind; the
	// preflight and uploader packages return it.
	ErrUndecided = errors.New("permission undecided")
)

// Kind is the category of an error.
type Kind int

// The kinds, one per sentinel, plus Unknown for errors that fit none.
const (
	Unknown Kind = iota
	PermissionDenied
	NotFound
	InvalidInput
	Throttled
	Canceled
	Transient
	ChecksumMismatch
	SourceChanged
	Credentials
	Undecided
)

var kindNames = [...]string{
	Unknown:          "unknown",
	PermissionDenied: "permission denied",
	NotFound:         "not found",
	InvalidInput:     "invalid input",
	Throttled:        "throttled",
	Canceled:         "canceled",
	Transient:        "transient",
	ChecksumMismatch: "checksum mismatch",
	SourceChanged:    "source changed",
	Credentials:      "credentials rejected",
	Undecided:        "permission undecided",
}

var kindSentinels = [...]error{
	PermissionDenied: ErrPermissionDenied,
	NotFound:         ErrNotFound,
	InvalidInput:     ErrInvalidInput,
	Throttled:        ErrThrottled,
	Canceled:         ErrCanceled,
	Transient:        ErrTransient,
	ChecksumMismatch: ErrChecksumMismatch,
	SourceChanged:    ErrSourceChanged,
	Credentials:      ErrCredentials,
	Undecided:        ErrUndecided,
}

// String returns the kind's name, e.g. "permission denied".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Sentinel returns the sentinel error of the kind, or nil for Unknown.
func (k Kind) Sentinel() error {
	if k > 0 && int(k) < len(kindSentinels) {
		return kindSentinels[k]
	}
	return nil
}

// Retryable reports whether errors of this kind may succeed when retried
// (Throttled and Transient).
func (k Kind) Retryable() bool { return k == Throttled || k == Transient }

// codeKinds maps S3, STS, IAM and KMS error codes to kinds. Codes are
// compared exactly, as the services send them.
var codeKinds = map[string]Kind{
	// Permission.
	"AccessDenied":                 PermissionDenied,
	"AccessDeniedException":        PermissionDenied, // KMS, IAM
	"KMS.AccessDeniedException":    PermissionDenied,
	"AllAccessDisabled":            PermissionDenied,
	"AccountProblem":               PermissionDenied,
	"NotSignedUp":                  PermissionDenied,
	"DisabledException":            PermissionDenied, // KMS key disabled
	"KMS.DisabledException":        PermissionDenied,
	"KMSInvalidStateException":     PermissionDenied,
	"KMS.KMSInvalidStateException": PermissionDenied,
	"KMS.InvalidStateException":    PermissionDenied,
	"InvalidGrantTokenException":   PermissionDenied,
	"AuthorizationHeaderMalformed": PermissionDenied,

	// Credentials the server rejects (S3, STS, IAM, KMS spellings).
	"InvalidAccessKeyId":           Credentials,
	"InvalidClientTokenId":         Credentials,
	"SignatureDoesNotMatch":        Credentials,
	"IncompleteSignature":          Credentials,
	"IncompleteSignatureException": Credentials,
	"ExpiredToken":                 Credentials,
	"ExpiredTokenException":        Credentials,
	"InvalidToken":                 Credentials,
	"TokenRefreshRequired":         Credentials,
	"UnrecognizedClientException":  Credentials,
	"InvalidSecurity":              Credentials,
	"RequestTimeTooSkewed":         Credentials,
	"RequestExpired":               Credentials,
	"MissingAuthenticationToken":   Credentials,
	"MissingSecurityHeader":        Credentials,

	// Not found.
	"NoSuchBucket":                 NotFound,
	"NoSuchKey":                    NotFound,
	"NoSuchUpload":                 NotFound,
	"NoSuchVersion":                NotFound,
	"NotFound":                     NotFound,
	"NoSuchEntity":                 NotFound, // IAM
	"NotFoundException":            NotFound, // KMS
	"KMS.NotFoundException":        NotFound,
	"NoSuchBucketPolicy":           NotFound,
	"NoSuchLifecycleConfiguration": NotFound,
	"NoSuchTagSet":                 NotFound,

	// Invalid input.
	"InvalidArgument":                 InvalidInput,
	"InvalidRequest":                  InvalidInput,
	"InvalidPart":                     InvalidInput,
	"InvalidPartOrder":                InvalidInput,
	"InvalidPartNumber":               InvalidInput,
	"EntityTooSmall":                  InvalidInput,
	"EntityTooLarge":                  InvalidInput,
	"InvalidBucketName":               InvalidInput,
	"KeyTooLongError":                 InvalidInput,
	"MalformedXML":                    InvalidInput,
	"MalformedPolicy":                 InvalidInput,
	"MalformedACLError":               InvalidInput,
	"MetadataTooLarge":                InvalidInput,
	"InvalidStorageClass":             InvalidInput,
	"InvalidRange":                    InvalidInput,
	"InvalidTag":                      InvalidInput,
	"InvalidEncryptionAlgorithmError": InvalidInput,
	"IncompleteBody":                  InvalidInput,
	"MissingContentLength":            InvalidInput,
	"InvalidKeyUsageException":        InvalidInput, // KMS
	"ValidationError":                 InvalidInput, // IAM, STS
	"ValidationException":             InvalidInput,
	"KMS.InvalidKeyUsageException":    InvalidInput,

	// Throttled.
	"SlowDown":                               Throttled,
	"Throttling":                             Throttled,
	"ThrottlingException":                    Throttled,
	"ThrottledException":                     Throttled,
	"RequestThrottled":                       Throttled,
	"RequestThrottledException":              Throttled,
	"TooManyRequestsException":               Throttled,
	"RequestLimitExceeded":                   Throttled,
	"BandwidthLimitExceeded":                 Throttled,
	"ProvisionedThroughputExceededException": Throttled,
	"LimitExceededException":                 Throttled,
	"KMS.ThrottlingException":                Throttled,
	"EC2ThrottledException":                  Throttled,

	// Transient.
	"InternalError":               Transient,
	"InternalFailure":             Transient,
	"InternalServerError":         Transient,
	"ServiceUnavailable":          Transient,
	"ServiceUnavailableException": Transient,
	"RequestTimeout":              Transient,
	"RequestTimeoutException":     Transient,
	"OperationAborted":            Transient,
	"KMSInternalException":        Transient,
	"KMS.KMSInternalException":    Transient,
	"DependencyTimeoutException":  Transient,
	"PriorRequestNotComplete":     Transient,
	"IDPCommunicationError":       Transient,

	// Checksum. InvalidDigest ("the Content-MD5 or checksum value you
	// specified is not valid") is here too: for a checksum computed from the
	// bytes sent, it says what BadDigest says.
	"BadDigest":                   ChecksumMismatch,
	"InvalidDigest":               ChecksumMismatch,
	"XAmzContentSHA256Mismatch":   ChecksumMismatch,
	"XAmzContentChecksumMismatch": ChecksumMismatch,
	"InvalidChecksum":             ChecksumMismatch,
}

// Classify returns the kind of err, or Unknown (also for nil).
//
// An error that already matches a sentinel with errors.Is (because it was
// made by Mark or wraps a sentinel) has that sentinel's kind. Otherwise, in
// order: context.Canceled and a bare context.DeadlineExceeded are Canceled;
// a known smithy.APIError code decides; then the HTTP status of a
// smithyhttp.ResponseError (403, 401, 404, 400/405/411/413/416, 429/503, other
// 5xx, 408); then network failures (timeouts, connection resets, refused
// connections, broken pipes, unexpected EOF) are Transient.
func Classify(err error) Kind {
	if err == nil {
		return Unknown
	}
	for k := Kind(1); int(k) < len(kindSentinels); k++ {
		if errors.Is(err, kindSentinels[k]) {
			return k
		}
	}
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	if code := Code(err); code != "" {
		if k, ok := codeKinds[code]; ok {
			return k
		}
	}
	if k := statusKind(StatusCode(err)); k != Unknown {
		return k
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// net/http's and the network's own timeouts (a net.Error with
		// Timeout() true that is neither the context error itself nor the
		// *url.Error around it) are transient; a bare deadline is the caller's.
		if hasOwnTimeout(err) {
			return Transient
		}
		return Canceled
	}
	if isNetworkFailure(err) {
		return Transient
	}
	return Unknown
}

func statusKind(status int) Kind {
	switch {
	case status == 0:
		return Unknown
	case status == http.StatusForbidden:
		return PermissionDenied
	case status == http.StatusUnauthorized:
		return Credentials
	case status == http.StatusNotFound:
		return NotFound
	case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
		return Throttled
	case status == http.StatusRequestTimeout:
		return Transient
	case status == http.StatusBadRequest, status == http.StatusMethodNotAllowed,
		status == http.StatusLengthRequired, status == http.StatusRequestEntityTooLarge,
		status == http.StatusRequestedRangeNotSatisfiable, status == http.StatusNotImplemented:
		return InvalidInput
	case status >= 500:
		return Transient
	}
	return Unknown
}

// hasOwnTimeout reports whether err's tree holds a timeout that is not a
// context deadline: a net.Error whose Timeout is true, other than
// context.DeadlineExceeded and *url.Error (which only reports its cause).
func hasOwnTimeout(err error) bool {
	if err == nil || err == context.DeadlineExceeded {
		return false
	}
	if _, isURL := err.(*url.Error); !isURL {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return true
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return hasOwnTimeout(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if hasOwnTimeout(e) {
				return true
			}
		}
	}
	return false
}

func isNetworkFailure(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ETIMEDOUT) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && (dns.IsTimeout || dns.IsTemporary) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op)
}

// Code returns the API error code of err (smithy.APIError.ErrorCode), or ""
// when err carries none.
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// StatusCode returns the HTTP status of the response that caused err, or 0
// when err carries none.
func StatusCode(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Response != nil {
		return re.HTTPStatusCode()
	}
	return 0
}

// NoAnswer reports whether err is the failure of an SDK operation that got
// no answer from the server at all: no HTTP status and no API error code.
// The request was never sent (the SDK could not get credentials, for
// example) or never answered (the connection was refused, the host name not
// found, the TLS certificate not trusted, every attempt timed out). Such a
// failure says nothing about permissions; errors that do not come from an
// SDK operation (a *smithy.OperationError) are never NoAnswer, nor is a
// canceled context's.
func NoAnswer(err error) bool {
	var oe *smithy.OperationError
	if err == nil || !errors.As(err, &oe) || errors.Is(err, context.Canceled) {
		return false
	}
	return StatusCode(err) == 0 && Code(err) == ""
}

// Retryable reports whether err may succeed when the request is retried:
// its kind is Throttled or Transient.
func Retryable(err error) bool { return Classify(err).Retryable() }

// RetryableResend reports whether err, the failure of a request carrying
// data whose body is read afresh from its source for every attempt, may
// succeed when the request is sent again: err is Retryable, or it is the
// server's answer (an API error code) of kind ChecksumMismatch, such as
// BadDigest, XAmzContentSHA256Mismatch or InvalidDigest. When the checksum
// and the payload's SHA-256 are computed from the bytes as they are sent,
// such an answer means the bytes were damaged on the way, and a resend may
// go through. A mismatch found by a local comparison (an error wrapping
// ErrChecksumMismatch without an API error) is not: the server accepted
// the request and stored what it reports. Requests without such a body
// must use Retryable.
func RetryableResend(err error) bool {
	k := Classify(err)
	return k.Retryable() || k == ChecksumMismatch && Code(err) != ""
}

// Mark wraps err so that errors.Is(err, s) holds for the sentinel s of its
// kind. The message is unchanged and errors.As still reaches every error
// inside err. Mark returns err itself when it is nil, of kind Unknown, or
// already matches its sentinel.
func Mark(err error) error {
	if err == nil {
		return nil
	}
	s := Classify(err).Sentinel()
	if s == nil || errors.Is(err, s) {
		return err
	}
	return &marked{err: err, sentinel: s}
}

// MarkAs wraps err so that errors.Is(err, Kind.Sentinel()) holds for kind k,
// whatever err's own classification. It returns err unchanged when it is nil
// or k is Unknown.
func MarkAs(err error, k Kind) error {
	s := k.Sentinel()
	if err == nil || s == nil || errors.Is(err, s) {
		return err
	}
	return &marked{err: err, sentinel: s}
}

type marked struct {
	err      error
	sentinel error
}

func (m *marked) Error() string   { return m.err.Error() }
func (m *marked) Unwrap() []error { return []error{m.err, m.sentinel} }
