package cmdkit

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3mpu/s3mpu/uploader"
)

// sdkErr builds an error shaped as the SDK returns a failed S3 request: an operation error
// around an HTTP response error around the API error.
func sdkErr(status int, code string, header http.Header) error {
	resp := &http.Response{StatusCode: status, Header: header}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	re := &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp},
		Err: &smithy.GenericAPIError{Code: code, Message: "message of " + code}}, RequestID: "REQ123"}
	return fmt.Errorf("upload s3://bkt/k: PutObject: %w", &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: re})
}

func TestExplain(t *testing.T) {
	a := NewApp("tool", io.Discard, io.Discard, nil, nil)
	a.Args = []string{"upload", "f", "s3://bkt/k"}
	a.G.EndpointURL = "http://127.0.0.1:9000"
	a.DeniedHint = "`tool preflight %s` explains"
	dial := &url.Error{Op: "Put", URL: "http://127.0.0.1:9000/bkt/k", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	tls := &url.Error{Op: "Put", URL: "https://127.0.0.1:9443/bkt/k", Err: x509.UnknownAuthorityError{}}
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"no such bucket", sdkErr(404, "NoSuchBucket", nil), []string{`bucket "bkt" does not exist at http://127.0.0.1:9000`, "--endpoint-url", "aws s3 mb s3://bkt"}},
		{"preflight on a missing bucket", fmt.Errorf("preflight s3://bkt: %w", ErrNoSuchBucket), []string{`bucket "bkt" does not exist`}},
		{"no credentials", errors.New("operation error S3: PutObject, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found"), []string{"no AWS credentials found", "AWS_ACCESS_KEY_ID", "--profile"}},
		{"unknown key", sdkErr(403, "InvalidAccessKeyId", nil), []string{"does not know the access key", "AWS_ACCESS_KEY_ID"}},
		{"wrong secret", sdkErr(403, "SignatureDoesNotMatch", nil), []string{"signature", "AWS_SECRET_ACCESS_KEY"}},
		{"expired", sdkErr(400, "ExpiredToken", nil), []string{"expired", "AWS_SESSION_TOKEN"}},
		{"token refresh", sdkErr(400, "TokenRefreshRequired", nil), []string{"expired"}},
		{"clock", sdkErr(403, "RequestTimeTooSkewed", nil), []string{"clock", "NTP"}},
		{"port closed", fmt.Errorf("gave up after 5 attempts: %w", dial), []string{"cannot connect to http://127.0.0.1:9000", "connection refused", "--endpoint-url"}},
		{"untrusted certificate", tls, []string{"https://127.0.0.1:9443 is not trusted", "--ca-bundle", "AWS_CA_BUNDLE"}},
		{"unknown host", &url.Error{Op: "Put", URL: "http://nowhere.invalid/", Err: &net.DNSError{Name: "nowhere.invalid", Err: "no such host"}}, []string{`"nowhere.invalid"`, "--endpoint-url"}},
		{"wrong region, AWS", sdkErr(400, "AuthorizationHeaderMalformed", http.Header{"X-Amz-Bucket-Region": {"eu-west-1"}}), []string{"is in region eu-west-1", "--region eu-west-1"}},
		{"wrong region, message", sdkErr(400, "AuthorizationHeaderMalformed", nil), []string{"--region"}},
		{"redirect", sdkErr(301, "PermanentRedirect", http.Header{"X-Amz-Bucket-Region": {"ap-south-1"}}), []string{"--region ap-south-1"}},
		{"denied", sdkErr(403, "AccessDenied", nil), []string{`access denied (AccessDenied) to bucket "bkt"`, "--profile", "`tool preflight s3://bkt/k` explains"}},
		{"denied, no body", sdkErr(403, "Forbidden", nil), []string{"access denied (HTTP 403 Forbidden)"}},
		{"object missing", sdkErr(404, "NoSuchKey", nil), []string{"does not exist (NoSuchKey)", "s3:// URL"}},
		{"object missing, HEAD", sdkErr(404, "NotFound", nil), []string{"does not exist (HTTP 404)", "s3:// URL"}},
		{"invalid bucket name", sdkErr(400, "InvalidBucketName", nil), []string{`bucket "bkt"`, "InvalidBucketName", "lower-case"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := a.Explain(tt.err)
			for _, w := range tt.want {
				if !strings.Contains(m.Line, w) {
					t.Errorf("line %q lacks %q", m.Line, w)
				}
			}
			for _, noise := range []string{"operation error", "REQ123", "StatusCode", "PutObject"} {
				if strings.Contains(m.Line, noise) {
					t.Errorf("line %q holds the SDK's %q", m.Line, noise)
				}
			}
			if m.Detail != Message(tt.err) {
				t.Errorf("detail %q, want the full message", m.Detail)
			}
		})
	}
}

// TestExplainKeepsOthers: an error that is none of the known mistakes keeps its message, and
// the CLI's own further lines follow a mapped first line.
func TestExplainKeepsOthers(t *testing.T) {
	a := NewApp("tool", io.Discard, io.Discard, nil, nil)
	for _, err := range []error{errors.New("--part-size: bad"), UsageErrorf("x"), sdkErr(500, "InternalError", nil), sdkErr(404, "NoSuchUpload", nil)} {
		if m := a.Explain(err); m.Line != Message(err) || m.Detail != "" {
			t.Errorf("Explain(%v) = %+v, want the message unchanged", err, m)
		}
	}
	err := fmt.Errorf("%w\nupload U kept with its parts", sdkErr(403, "AccessDenied", nil))
	m := a.Explain(err)
	if len(m.More) != 1 || m.More[0] != "upload U kept with its parts" || !strings.HasPrefix(m.Text(), "access denied") {
		t.Errorf("got %+v", m)
	}
}

// TestExplainKeepsLeftUpload: when a known mistake's plain line replaces an upload error's
// text, the fact that the multipart upload is still on the server (and how to remove it)
// must not be lost with it; an aborted upload adds no such line.
func TestExplainKeepsLeftUpload(t *testing.T) {
	a := NewApp("tool", io.Discard, io.Discard, nil, nil)
	a.Args = []string{"upload", "f", "s3://bkt/k"}
	cause := sdkErr(403, "AccessDenied", nil)
	for _, tc := range []struct {
		name string
		ue   *uploader.UploadError
		want string
	}{
		{"left", &uploader.UploadError{Op: "UploadPart", Bucket: "bkt", Key: "k", UploadID: "U1", Err: cause}, "U1 of s3://bkt/k was left in place"},
		{"abort failed", &uploader.UploadError{Op: "UploadPart", Bucket: "bkt", Key: "k", UploadID: "U2", Err: cause, AbortErr: sdkErr(403, "AccessDenied", nil)}, "--upload-id U2"},
		{"aborted", &uploader.UploadError{Op: "UploadPart", Bucket: "bkt", Key: "k", UploadID: "U3", Aborted: true, Err: cause}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := a.Explain(tc.ue)
			if !strings.HasPrefix(m.Line, "access denied") {
				t.Fatalf("first line %q: want the plain cause", m.Line)
			}
			text := m.Text()
			if tc.want == "" {
				if strings.Contains(text, "uploads abort") {
					t.Fatalf("aborted upload reported as left: %q", text)
				}
				return
			}
			if !strings.Contains(text, tc.want) || !strings.Contains(text, "s3mpu uploads abort") {
				t.Fatalf("message %q does not say the upload is left and how to remove it (want %q)", text, tc.want)
			}
		})
	}
}
