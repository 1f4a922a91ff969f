package s3err

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkErr builds the error shape the SDK returns for a failed response: an
// OperationError around an awshttp.ResponseError around a
// smithyhttp.ResponseError carrying the status, around the API error.
func sdkErr(op string, status int, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: op,
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      apiErr,
			},
			RequestID: "req-1",
		},
	}
}

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "message text that must not matter"}
}

// opaque is an error without any code or status, whose text imitates
// classified errors to show that text is never used.
type opaque struct{}

func (opaque) Error() string { return "AccessDenied SlowDown 503 connection reset by peer" }

func TestClassify(t *testing.T) {
	connReset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	cases := []struct {
		name   string
		err    error
		kind   Kind
		code   string
		status int
		retry  bool
	}{
		{"nil", nil, Unknown, "", 0, false},
		{"opaque text", opaque{}, Unknown, "", 0, false},
		{"access denied", sdkErr("UploadPart", 403, apiErr("AccessDenied")), PermissionDenied, "AccessDenied", 403, false},
		{"bare generic access denied", apiErr("AccessDenied"), PermissionDenied, "AccessDenied", 0, false},
		{"kms denied", sdkErr("PutObject", 400, apiErr("KMS.DisabledException")), PermissionDenied, "KMS.DisabledException", 400, false},
		{"kms service access denied", sdkErr("Encrypt", 400, apiErr("AccessDeniedException")), PermissionDenied, "AccessDeniedException", 400, false},
		{"expired token", sdkErr("PutObject", 400, apiErr("ExpiredToken")), Credentials, "ExpiredToken", 400, false},
		{"unknown access key on 403", sdkErr("PutObject", 403, apiErr("InvalidAccessKeyId")), Credentials, "InvalidAccessKeyId", 403, false},
		{"wrong secret on 403", sdkErr("CreateMultipartUpload", 403, apiErr("SignatureDoesNotMatch")), Credentials, "SignatureDoesNotMatch", 403, false},
		{"clock skew on 403", sdkErr("UploadPart", 403, apiErr("RequestTimeTooSkewed")), Credentials, "RequestTimeTooSkewed", 403, false},
		{"token refresh on 400", sdkErr("PutObject", 400, apiErr("TokenRefreshRequired")), Credentials, "TokenRefreshRequired", 400, false},
		{"sts expired token exception", sdkErr("GetCallerIdentity", 400, apiErr("ExpiredTokenException")), Credentials, "ExpiredTokenException", 400, false},
		{"status 401 without code", sdkErr("HeadObject", 401, errors.New("no body")), Credentials, "", 401, false},
		{"status 403 without code", sdkErr("HeadObject", 403, errors.New("no body")), PermissionDenied, "", 403, false},
		{"no such upload", sdkErr("UploadPart", 404, apiErr("NoSuchUpload")), NotFound, "NoSuchUpload", 404, false},
		{"no such bucket", sdkErr("PutObject", 404, apiErr("NoSuchBucket")), NotFound, "NoSuchBucket", 404, false},
		{"head object not found type", sdkErr("HeadObject", 404, &types.NotFound{}), NotFound, "NotFound", 404, false},
		{"no such key type", sdkErr("GetObject", 404, &types.NoSuchKey{}), NotFound, "NoSuchKey", 404, false},
		{"status 404 without code", sdkErr("HeadObject", 404, errors.New("x")), NotFound, "", 404, false},
		{"invalid argument", sdkErr("UploadPart", 400, apiErr("InvalidArgument")), InvalidInput, "InvalidArgument", 400, false},
		{"entity too small", sdkErr("CompleteMultipartUpload", 400, apiErr("EntityTooSmall")), InvalidInput, "EntityTooSmall", 400, false},
		{"invalid part", sdkErr("CompleteMultipartUpload", 400, apiErr("InvalidPart")), InvalidInput, "InvalidPart", 400, false},
		{"status 400 unknown code", sdkErr("PutObject", 400, apiErr("SomethingNew")), InvalidInput, "SomethingNew", 400, false},
		{"slow down", sdkErr("UploadPart", 503, apiErr("SlowDown")), Throttled, "SlowDown", 503, true},
		{"status 503 without code", sdkErr("UploadPart", 503, errors.New("x")), Throttled, "", 503, true},
		{"status 429", sdkErr("UploadPart", 429, errors.New("x")), Throttled, "", 429, true},
		{"throttling exception", apiErr("ThrottlingException"), Throttled, "ThrottlingException", 0, true},
		{"internal error", sdkErr("UploadPart", 500, apiErr("InternalError")), Transient, "InternalError", 500, true},
		{"status 502", sdkErr("UploadPart", 502, errors.New("bad gateway")), Transient, "", 502, true},
		{"status 504 unknown code", sdkErr("UploadPart", 504, apiErr("GatewayTimeout")), Transient, "GatewayTimeout", 504, true},
		{"request timeout code on 400", sdkErr("UploadPart", 400, apiErr("RequestTimeout")), Transient, "RequestTimeout", 400, true},
		{"bad digest", sdkErr("UploadPart", 400, apiErr("BadDigest")), ChecksumMismatch, "BadDigest", 400, false},
		{"invalid digest", sdkErr("UploadPart", 400, apiErr("InvalidDigest")), ChecksumMismatch, "InvalidDigest", 400, false},
		{"sha256 mismatch", sdkErr("PutObject", 400, apiErr("XAmzContentSHA256Mismatch")), ChecksumMismatch, "XAmzContentSHA256Mismatch", 400, false},
		{"connection reset", connReset, Transient, "", 0, true},
		{"connection reset in url error in op error", &smithy.OperationError{ServiceID: "S3", OperationName: "UploadPart",
			Err: &url.Error{Op: "Put", URL: "http://127.0.0.1/b/k", Err: connReset}}, Transient, "", 0, true},
		{"bare econnreset", syscall.ECONNRESET, Transient, "", 0, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, Transient, "", 0, true},
		{"broken pipe", fmt.Errorf("write body: %w", syscall.EPIPE), Transient, "", 0, true},
		{"unexpected eof", fmt.Errorf("read response: %w", io.ErrUnexpectedEOF), Transient, "", 0, true},
		{"url error deadline timeout", &url.Error{Op: "Put", URL: "http://x", Err: os.ErrDeadlineExceeded}, Transient, "", 0, true},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, Transient, "", 0, true},
		{"context canceled", context.Canceled, Canceled, "", 0, false},
		{"wrapped context canceled", &smithy.OperationError{ServiceID: "S3", OperationName: "UploadPart",
			Err: &smithy.CanceledError{Err: context.Canceled}}, Canceled, "", 0, false},
		{"canceled beats reset", errors.Join(context.Canceled, connReset), Canceled, "", 0, false},
		{"deadline exceeded", context.DeadlineExceeded, Canceled, "", 0, false},
		{"deadline in url error", &url.Error{Op: "Put", URL: "http://x", Err: context.DeadlineExceeded}, Canceled, "", 0, false},
		{"http client timeout", &url.Error{Op: "Put", URL: "http://x", Err: clientTimeout{}}, Transient, "", 0, true},
		{"sentinel wrapped", fmt.Errorf("part 3: %w", ErrSourceChanged), SourceChanged, "", 0, false},
		{"marked checksum", MarkAs(errors.New("crc differs"), ChecksumMismatch), ChecksumMismatch, "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Classify(c.err); got != c.kind {
				t.Errorf("Classify = %v, want %v", got, c.kind)
			}
			if got := Code(c.err); got != c.code {
				t.Errorf("Code = %q, want %q", got, c.code)
			}
			if got := StatusCode(c.err); got != c.status {
				t.Errorf("StatusCode = %d, want %d", got, c.status)
			}
			if got := Retryable(c.err); got != c.retry {
				t.Errorf("Retryable = %v, want %v", got, c.retry)
			}
			if got, want := RetryableResend(c.err), c.retry || c.kind == ChecksumMismatch && c.code != ""; got != want {
				t.Errorf("RetryableResend = %v, want %v", got, want)
			}
		})
	}
}

// clientTimeout imitates net/http's timeout error: a net.Error with
// Timeout() true that also matches context.DeadlineExceeded.
type clientTimeout struct{}

func (clientTimeout) Error() string        { return "Client.Timeout exceeded" }
func (clientTimeout) Timeout() bool        { return true }
func (clientTimeout) Temporary() bool      { return true }
func (clientTimeout) Is(target error) bool { return target == context.DeadlineExceeded }

func TestMark(t *testing.T) {
	orig := sdkErr("UploadPart", 403, apiErr("AccessDenied"))
	m := Mark(orig)
	if !errors.Is(m, ErrPermissionDenied) {
		t.Fatal("marked error does not match ErrPermissionDenied")
	}
	if errors.Is(m, ErrNotFound) {
		t.Fatal("marked error matches ErrNotFound")
	}
	if m.Error() != orig.Error() {
		t.Fatalf("message changed: %q vs %q", m.Error(), orig.Error())
	}
	var ae smithy.APIError
	if !errors.As(m, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Fatal("errors.As does not reach the API error")
	}
	var re *awshttp.ResponseError
	if !errors.As(m, &re) || re.RequestID != "req-1" {
		t.Fatal("errors.As does not reach the awshttp.ResponseError")
	}
	if Mark(m) != m {
		t.Fatal("Mark of a marked error wraps again")
	}
	if Mark(nil) != nil {
		t.Fatal("Mark(nil) != nil")
	}
	plain := errors.New("plain")
	if Mark(plain) != plain {
		t.Fatal("Mark of an unknown error changed it")
	}
	if Classify(m) != PermissionDenied {
		t.Fatal("Classify of the marked error changed")
	}
	// A marked error keeps its kind through further wrapping and joins.
	j := errors.Join(fmt.Errorf("upload: %w", m), errors.New("abort failed"))
	if !errors.Is(j, ErrPermissionDenied) {
		t.Fatal("joined error lost its sentinel")
	}
}

// TestCredentialCodesAreNotDenials checks every credential code the
// classifier knows, with each status a server may send it with: it is
// ErrCredentials and never ErrPermissionDenied, so no caller reports a
// rejected key as a missing permission.
func TestCredentialCodesAreNotDenials(t *testing.T) {
	n := 0
	for code, k := range codeKinds {
		if k != Credentials {
			continue
		}
		n++
		for _, status := range []int{400, 401, 403} {
			m := Mark(sdkErr("PutObject", status, apiErr(code)))
			if !errors.Is(m, ErrCredentials) || errors.Is(m, ErrPermissionDenied) || Retryable(m) {
				t.Errorf("%s on %d: credentials %v, denied %v, retryable %v", code, status,
					errors.Is(m, ErrCredentials), errors.Is(m, ErrPermissionDenied), Retryable(m))
			}
		}
	}
	if n < 8 {
		t.Fatalf("only %d credential codes", n)
	}
}

func TestMarkAs(t *testing.T) {
	e := MarkAs(errors.New("size mismatch"), InvalidInput)
	if !errors.Is(e, ErrInvalidInput) || Classify(e) != InvalidInput {
		t.Fatal("MarkAs did not mark")
	}
	if MarkAs(nil, InvalidInput) != nil {
		t.Fatal("MarkAs(nil) != nil")
	}
	p := errors.New("p")
	if MarkAs(p, Unknown) != p {
		t.Fatal("MarkAs Unknown changed the error")
	}
}

func TestKind(t *testing.T) {
	for k := Unknown; k <= Undecided; k++ {
		if k.String() == "" {
			t.Errorf("Kind(%d) has no name", k)
		}
		if (k == Unknown) != (k.Sentinel() == nil) {
			t.Errorf("Kind %v sentinel = %v", k, k.Sentinel())
		}
		if k != Unknown && Classify(k.Sentinel()) != k {
			t.Errorf("Classify(sentinel of %v) = %v", k, Classify(k.Sentinel()))
		}
	}
	if Kind(99).String() != "unknown" || Kind(99).Sentinel() != nil || Kind(-1).Sentinel() != nil {
		t.Error("out-of-range kind")
	}
}

func ExampleMark() {
	err := &smithy.GenericAPIError{Code: "SlowDown", Message: "Please reduce your request rate."}
	marked := Mark(fmt.Errorf("upload part 7: %w", err))
	fmt.Println(errors.Is(marked, ErrThrottled), Retryable(marked), Code(marked))
	// Output: true true SlowDown
}

// TestNoAnswer: an SDK operation that got no HTTP answer (a refused connection after
// retries, credentials the SDK could not get) is NoAnswer; one the server answered, an
// error from outside the SDK and a canceled context are not.
func TestNoAnswer(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	noStatus := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{}}, Err: fmt.Errorf("request send failed: %w", refused)}}}
	noResponse := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &smithyhttp.ResponseError{Err: refused}}
	identity := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject",
		Err: errors.New("get identity: failed to refresh cached credentials, no EC2 IMDS role found")}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", noStatus, true},
		{"no response value at all", noResponse, true},
		{"no credentials", fmt.Errorf("probe: %w", identity), true},
		{"answered 403", sdkErr("PutObject", 403, apiErr("AccessDenied")), false},
		{"answered 500 without a code", sdkErr("PutObject", 500, errors.New("boom")), false},
		{"not from the SDK", refused, false},
		{"plain error", errors.New("boom"), false},
		{"canceled", &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: context.Canceled}, false},
		{"nil", nil, false},
	} {
		if got := NoAnswer(tc.err); got != tc.want {
			t.Errorf("%s: NoAnswer = %v, want %v", tc.name, got, tc.want)
		}
	}
}
