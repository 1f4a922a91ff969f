package main

import (
	"errors"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// apiCode returns the S3 error code of err ("AccessDenied", "NoSuchUpload", ...), or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus returns the HTTP status of a failed request, or 0.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// isAccessDenied reports whether the server refused the request for lack of permission.
func isAccessDenied(err error) bool {
	switch apiCode(err) {
	case "AccessDenied", "AllAccessDisabled", "AccessDeniedException":
		return true
	}
	return httpStatus(err) == 403
}

// isNotFound reports whether err says the bucket, key or upload does not exist.
func isNotFound(err error) bool {
	switch apiCode(err) {
	case "NoSuchUpload", "NoSuchBucket", "NoSuchKey", "NotFound":
		return true
	}
	return httpStatus(err) == 404
}
