package main

import (
	"errors"
	"hash/crc32"

	"github.com/aws/smithy-go"
)

// apiCode returns the S3 error code of err ("AccessDenied", "NoSuchKey", ...), or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// errText returns a short form of an SDK error: "Code: message" for an S3 error, else the
// error's text.
func errText(err error) string {
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

func crc32cOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
