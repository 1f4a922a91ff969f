package cmdkit

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/smithy-go"

	"github.com/s3mpu/s3mpu/internal/s3err"
)

// APICode returns the S3 error code of err ("AccessDenied", "NoSuchUpload", ...), or "".
func APICode(err error) string { return s3err.Code(err) }

// HTTPStatus returns the HTTP status of a failed request, or 0.
func HTTPStatus(err error) int { return s3err.StatusCode(err) }

// IsAccessDenied reports whether the server refused the request for lack of permission.
func IsAccessDenied(err error) bool {
	switch APICode(err) {
	case "AccessDenied", "AllAccessDisabled", "AccessDeniedException":
		return true
	}
	return HTTPStatus(err) == 403
}

// IsNotFound reports whether err says the bucket, key or upload does not exist.
func IsNotFound(err error) bool {
	switch APICode(err) {
	case "NoSuchUpload", "NoSuchBucket", "NoSuchKey", "NotFound":
		return true
	}
	return HTTPStatus(err) == 404
}

// Message returns err's message for the user. When the SDK could not read a failed
// response's body (the server cut it short, e.g. while refusing a large PUT), the SDK's text
// reads "deserialization failed, failed to copy error response body"; the HTTP status that
// says what happened is in the error tree, so that part is replaced by the status and, when
// known, the error code. Credentials the text might quote are withheld (see withholdSecrets).
func Message(err error) string {
	return withholdSecrets(err, describeStatuses(err))
}

// describeStatuses is err's text with each unreadable error response named by its status.
func describeStatuses(err error) string {
	msg := err.Error()
	walkErrors(err, func(e error) {
		// *awshttp.ResponseError, *smithyhttp.ResponseError, and the S3 client's own
		// response error that embeds them.
		re, ok := e.(interface {
			HTTPStatusCode() int
			Unwrap() error
		})
		if !ok {
			return
		}
		var de *smithy.DeserializationError
		if !errors.As(re.Unwrap(), &de) {
			return
		}
		status := re.HTTPStatusCode()
		if status < 300 {
			return
		}
		old := e.Error()
		desc := describeStatus(status, APICode(re.Unwrap()), de.Err)
		if strings.Contains(msg, old) {
			msg = strings.Replace(msg, old, desc, 1)
		} else {
			msg += " (" + desc + ")"
		}
	})
	return msg
}

// processOutputPrefix starts the SDK's error for a credential process whose output is not
// one JSON object; the SDK quotes the whole output after it, secret key and session token
// included.
const processOutputPrefix = "parse failed of process output: "

// withheldOutput replaces the quoted output.
const withheldOutput = processOutputPrefix + "(the output is not shown: it may hold credentials)"

// withholdSecrets returns msg (err's text) without credentials: the output of a credential
// process that the SDK quotes, and the values of AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN
// wherever they appear.
func withholdSecrets(err error, msg string) string {
	walkErrors(err, func(e error) {
		pe, ok := e.(*processcreds.ProviderError)
		if !ok || pe.Err == nil {
			return
		}
		t := pe.Err.Error()
		if !strings.HasPrefix(t, processOutputPrefix) {
			return
		}
		shown := withheldOutput
		if inner := errors.Unwrap(pe.Err); inner != nil {
			shown += ", error: " + inner.Error()
		}
		msg = strings.ReplaceAll(msg, t, shown)
	})
	return WithholdSecrets(msg)
}

// processOutputText matches a quoted credential process output in text whose error type is
// gone (flattened by a %v on the way, or quoted in a report): from the SDK's prefix up to the
// JSON decoder's error that follows the output.
var processOutputText = regexp.MustCompile(`(?s)` + regexp.QuoteMeta(processOutputPrefix) + `.*?, error: (invalid character|unexpected end of JSON input|json: |EOF)`)

// WithholdSecrets returns text for output without credentials it might quote: a credential
// process's output (as the SDK quotes it in its error), and the values of
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN wherever they appear.
func WithholdSecrets(text string) string {
	text = processOutputText.ReplaceAllStringFunc(text, func(m string) string {
		if strings.HasPrefix(m, withheldOutput) {
			return m
		}
		sub := processOutputText.FindStringSubmatch(m)
		return withheldOutput + ", error: " + sub[1]
	})
	// A prefix without a recognisable end: withhold everything after it.
	if i := strings.Index(text, processOutputPrefix); i >= 0 && !strings.HasPrefix(text[i:], withheldOutput) {
		text = text[:i] + withheldOutput
	}
	for _, name := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"} {
		if v := os.Getenv(name); len(v) >= 8 {
			text = strings.ReplaceAll(text, v, "["+name+" not shown]")
		}
	}
	return text
}

// describeStatus names a failed response: "HTTP 403 Forbidden (access denied)".
func describeStatus(status int, code string, readErr error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", status)
	if t := http.StatusText(status); t != "" {
		b.WriteString(" " + t)
	}
	switch {
	case code != "":
		b.WriteString(" (" + code + ")")
	case status == http.StatusForbidden:
		b.WriteString(" (access denied)")
	case status == http.StatusNotFound:
		b.WriteString(" (not found)")
	}
	b.WriteString("; the server's error response could not be read")
	if readErr != nil {
		fmt.Fprintf(&b, " (%v)", readErr)
	}
	return b.String()
}

// walkErrors calls f for err and every error it wraps, through Unwrap() error and
// Unwrap() []error (errors.Join).
func walkErrors(err error, f func(error)) {
	for depth := 0; err != nil && depth < 100; depth++ {
		f(err)
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walkErrors(e, f)
			}
			return
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return
		}
	}
}

// ErrText returns a short form of an SDK error: "Code: message" for an S3 error, else the
// error's text.
func ErrText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorMessage()
		if msg == "" {
			return ae.ErrorCode()
		}
		return ae.ErrorCode() + ": " + msg
	}
	return withholdSecrets(err, err.Error())
}
