package cmdkit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3mpu/s3mpu/uploader"
)

// ErrNoSuchBucket marks an error that says the bucket does not exist (a preflight whose every
// request answered NoSuchBucket, for example).
var ErrNoSuchBucket = errors.New("NoSuchBucket: the bucket does not exist")

// Msg is an error as the user reads it.
type Msg struct {
	// Line is the first line: the cause in plain words and the next step.
	Line string
	// More are the CLI's own further lines (what was kept, how to resume), without SDK detail.
	More []string
	// Detail is the full error text, shown with --debug; "" when Line already is all of it.
	Detail string
}

// Text returns Line and More, one per line.
func (m Msg) Text() string { return strings.Join(append([]string{m.Line}, m.More...), "\n") }

// Explain is the one place an error becomes the message the user reads. For the common
// mistakes (a bucket that does not exist, no credentials or credentials the server refuses
// or that expired, an endpoint that refuses connections, a TLS certificate not trusted, a
// bucket in another region, a clock off, access denied) the first line names the cause in
// plain words and the next step (a flag, an environment variable, a command), and the SDK's
// text goes to Detail. Other errors keep their message (see Message).
func (a *App) Explain(err error) Msg {
	full := Message(err)
	line, ok := a.cause(err)
	if !ok {
		return Msg{Line: full}
	}
	m := Msg{Line: line, Detail: full}
	if _, rest, found := strings.Cut(ownText(err), "\n"); found {
		m.More = strings.Split(rest, "\n")
	}
	if left := leftUpload(err); left != "" {
		m.More = append(m.More, left)
	}
	return m
}

// leftUpload says, for an upload error whose multipart upload was not aborted, that the
// upload and its parts are still on the server and how to remove them: the first line of a
// known mistake replaces the error's own text, which carried that fact.
func leftUpload(err error) string {
	var ue *uploader.UploadError
	if !errors.As(err, &ue) || ue.UploadID == "" || ue.Aborted {
		return ""
	}
	why := "left in place with its parts"
	if ue.AbortErr != nil {
		why = "not aborted (the abort failed too)"
	}
	return fmt.Sprintf("multipart upload %s of s3://%s/%s was %s: remove it with `s3mpu uploads abort s3://%s/%s --upload-id %s`, or let a lifecycle rule with AbortIncompleteMultipartUpload do it",
		ue.UploadID, ue.Bucket, ue.Key, why, ue.Bucket, ue.Key, ue.UploadID)
}

// ownText is Message(err) without the text of the SDK's operation error inside it, so that
// what follows its first line is only the CLI's own further lines ("upload U kept ..."),
// never lines of the SDK's text (which may quote a credential process's output).
func ownText(err error) string {
	msg := err.Error()
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		msg = strings.Replace(msg, oe.Error(), "", 1)
	}
	return withholdSecrets(err, msg)
}

// credentialCodes are the API error codes of credentials the server does not accept.
var credentialCodes = map[string]string{
	"InvalidAccessKeyId":          "the server does not know the access key",
	"InvalidClientTokenId":        "the server does not know the access key",
	"SignatureDoesNotMatch":       "the server rejected the request's signature: the secret key does not belong to the access key",
	"ExpiredToken":                "the credentials have expired",
	"ExpiredTokenException":       "the credentials have expired",
	"TokenRefreshRequired":        "the credentials have expired",
	"InvalidToken":                "the session token is not valid",
	"RequestTimeTooSkewed":        "this machine's clock differs too much from the server's",
	"AuthFailure":                 "the server does not accept these credentials",
	"UnrecognizedClientException": "the server does not know the access key",
}

// cause returns the plain first line for err, and whether err is one of the known mistakes.
func (a *App) cause(err error) (string, bool) {
	if err == nil || errors.Is(err, context.Canceled) {
		return "", false
	}
	if s, ok := a.transportCause(err); ok {
		return s, true
	}
	// S3's credential resolver flattens the provider's error with %v, so its type may be lost.
	var pe *processcreds.ProviderError
	if errors.As(err, &pe) || strings.Contains(err.Error(), "process provider error") {
		return "the profile's credential_process failed or printed something other than one JSON object of credentials: run the command by hand and fix it, or use other credentials (--profile, AWS_PROFILE or AWS_ACCESS_KEY_ID)", true
	}
	if noCredentials(err) {
		return "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or choose a profile with --profile (or AWS_PROFILE)", true
	}
	code := APICode(err)
	if what, ok := credentialCodes[code]; ok {
		return a.credentialCause(code, what), true
	}
	switch {
	case code == "NoSuchBucket" || errors.Is(err, ErrNoSuchBucket):
		return fmt.Sprintf("%s does not exist%s: check the bucket name and --endpoint-url (or AWS_ENDPOINT_URL), or create the bucket first (e.g. aws s3 mb s3://%s)",
			a.bucketPhrase(), a.where(), a.bucketOrName()), true
	case code == "NoSuchKey":
		return "the object does not exist (NoSuchKey): check the key in the s3:// URL", true
	case code == "NotFound" && HTTPStatus(err) == 404:
		// A HEAD request's 404 has no body: the object, or its bucket, is missing.
		return "the object or its bucket does not exist (HTTP 404): check the s3:// URL", true
	case code == "InvalidBucketName":
		return fmt.Sprintf("the server does not accept the name of %s (InvalidBucketName): S3 bucket names are 3 to 63 lower-case letters, digits, dots and hyphens; check the s3:// URL", a.bucketPhrase()), true
	case code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" || code == "IllegalLocationConstraintException" || HTTPStatus(err) == 301:
		return a.regionCause(err), true
	case IsAccessDenied(err):
		return fmt.Sprintf("access denied (%s) to %s for %s: ask for the S3 permissions the command needs, or use other credentials (--profile or AWS_PROFILE)%s",
			deniedCode(err), a.bucketPhrase(), a.credentialsPhrase(), a.deniedHint()), true
	}
	return "", false
}

func (a *App) credentialCause(code, what string) string {
	switch code {
	case "ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired":
		return fmt.Sprintf("%s (%s%s): refresh them (a new AWS_SESSION_TOKEN, or aws sso login for an SSO --profile) and run again", what, code, a.sourcePhrase())
	case "RequestTimeTooSkewed":
		return fmt.Sprintf("%s (%s): set the clock right (NTP) and run again", what, code)
	}
	return fmt.Sprintf("%s (%s%s): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or --profile), and that --endpoint-url is the server they belong to", what, code, a.sourcePhrase())
}

// transportCause explains an error of the connection itself: TLS trust, connection refused,
// an unknown host, a timeout.
func (a *App) transportCause(err error) (string, bool) {
	var ua x509.UnknownAuthorityError
	var cv *tls.CertificateVerificationError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &he):
		return fmt.Sprintf("the TLS certificate of %s is not valid for that host name (%v): use a host name the certificate names in --endpoint-url", a.endpoint(err), he), true
	case errors.As(err, &ua) || (errors.As(err, &cv) && !errors.As(err, &ci)):
		return fmt.Sprintf("the TLS certificate of %s is not trusted (signed by an unknown authority): pass the server's CA certificate with --ca-bundle FILE (or set AWS_CA_BUNDLE)", a.endpoint(err)), true
	case errors.As(err, &ci):
		return fmt.Sprintf("the TLS certificate of %s is not valid (%v): check the server's certificate, or --endpoint-url", a.endpoint(err), ci), true
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot connect to %s: connection refused: is the server running? check --endpoint-url (or AWS_ENDPOINT_URL)", a.endpoint(err)), true
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return fmt.Sprintf("cannot find the host %q (%s): check --endpoint-url (or AWS_ENDPOINT_URL) and --region", de.Name, de.Err), true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Sprintf("cannot connect to %s (%v): is the server running and reachable? check --endpoint-url (or AWS_ENDPOINT_URL)", a.endpoint(err), oe.Err), true
	}
	return "", false
}

// noCredentials reports whether the SDK found no credentials at all. The SDK has no error
// type for it; its messages are matched.
func noCredentials(err error) bool {
	s := err.Error()
	return strings.Contains(s, "failed to refresh cached credentials") || strings.Contains(s, "failed to retrieve credentials") ||
		strings.Contains(s, "get credentials:") || strings.Contains(s, "static credentials are empty")
}

var expectingRegion = regexp.MustCompile(`expecting ['"]([a-z0-9-]+)['"]`)

// regionCause names the bucket's region when the server said it (the x-amz-bucket-region
// header, or the "expecting 'REGION'" of AuthorizationHeaderMalformed).
func (a *App) regionCause(err error) string {
	region := ""
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		region = re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	if m := expectingRegion.FindStringSubmatch(err.Error()); region == "" && m != nil {
		region = m[1]
	}
	used := a.Region()
	if used == "" {
		used = "?"
	}
	if region == "" {
		return fmt.Sprintf("%s is not in region %s: pass the bucket's region with --region (or set AWS_REGION)", a.bucketPhrase(), used)
	}
	return fmt.Sprintf("%s is in region %s, not %s: pass --region %s (or set AWS_REGION=%s)", a.bucketPhrase(), region, used, region, region)
}

// endpoint names the server a failed request went to: the request's host, else the S3
// endpoint in use, else "AWS".
func (a *App) endpoint(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	if ep := a.G.S3Endpoint(); ep != "" {
		return shownURL(ep)
	}
	return "AWS"
}

// shownURL is an endpoint URL as messages show it: without the password of a user:password@
// part.
func shownURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.LastIndexByte(s, '@'); i >= 0 && err != nil {
			return "(an endpoint URL that does not parse)"
		}
		return s
	}
	return u.Redacted()
}

// where says which server and region were asked: " at http://127.0.0.1:9000" or
// " in region us-east-1".
func (a *App) where() string {
	if ep := a.G.S3Endpoint(); ep != "" {
		return " at " + shownURL(ep)
	}
	if r := a.Region(); r != "" {
		return " in region " + r
	}
	return ""
}

func (a *App) bucketOrName() string {
	if bs := a.buckets(); len(bs) > 0 {
		return bs[0]
	}
	return "BUCKET"
}

// sourcePhrase names where the credentials came from: "; credentials from EnvConfigCredentials".
func (a *App) sourcePhrase() string {
	if s := a.CredentialSource(context.Background()); s != "" {
		return "; credentials from " + s
	}
	return ""
}

// credentialsPhrase is "the credentials from SOURCE", or "these credentials".
func (a *App) credentialsPhrase() string {
	if s := a.CredentialSource(context.Background()); s != "" {
		return "the credentials from " + s
	}
	return "these credentials"
}

// deniedHint returns "; " and DeniedHint with its %s filled, or "".
func (a *App) deniedHint() string {
	if a.DeniedHint == "" {
		return ""
	}
	target := "s3://BUCKET/KEY"
	for _, s := range a.Args {
		if u, err := ParseS3URL(s); err == nil {
			target = u.String()
			break
		}
	}
	return "; " + strings.ReplaceAll(a.DeniedHint, "%s", target)
}

// deniedCode names how the server said no: its error code, else the HTTP status.
func deniedCode(err error) string {
	if c := APICode(err); c != "" && c != "Forbidden" {
		return c
	}
	return fmt.Sprintf("HTTP %d %s", HTTPStatus(err), http.StatusText(HTTPStatus(err)))
}
