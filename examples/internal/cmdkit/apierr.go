package cmdkit

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// APICode returns the S3 error code of err ("AccessDenied", "NoSuchUpload", ...), or "".
func APICode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// HTTPStatus returns the HTTP status of a failed request, or 0.
func HTTPStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

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
// known, the error code.
func Message(err error) string {
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
	return err.Error()
}
