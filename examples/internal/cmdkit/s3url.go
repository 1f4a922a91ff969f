package cmdkit

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxKeyLength is S3's limit on an object key, in bytes of UTF-8.
const MaxKeyLength = 1024

// URL is a parsed s3://bucket/key address.
type URL struct {
	Bucket string
	Key    string // may be empty (a bucket, or a bucket with a prefix of "")
}

// String returns the address in s3://bucket/key form.
func (u URL) String() string {
	if u.Key == "" {
		return "s3://" + u.Bucket
	}
	return "s3://" + u.Bucket + "/" + u.Key
}

// ParseS3URL parses "s3://bucket", "s3://bucket/" or "s3://bucket/key". The key is taken
// verbatim after the first slash following the bucket (it may contain further slashes and
// spaces); it is not URL-decoded, as in the AWS CLI.
func ParseS3URL(s string) (URL, error) {
	const scheme = "s3://"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return URL{}, fmt.Errorf("%q is not an s3:// URL (expected s3://bucket/key)", s)
	}
	rest := s[len(scheme):]
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return URL{}, fmt.Errorf("%q has no bucket name (expected s3://bucket/key)", s)
	}
	if err := CheckBucketName(bucket); err != nil {
		return URL{}, fmt.Errorf("%q: %w", s, err)
	}
	if len(key) > MaxKeyLength {
		return URL{}, fmt.Errorf("%q: key is %d bytes long; S3 allows at most %d", s, len(key), MaxKeyLength)
	}
	if !utf8.ValidString(key) {
		return URL{}, fmt.Errorf("%q: key is not valid UTF-8", s)
	}
	return URL{Bucket: bucket, Key: key}, nil
}

// ParseObjectURL parses an s3:// URL that must name an object (a non-empty key that does
// not end with a slash).
func ParseObjectURL(s string) (URL, error) {
	u, err := ParseS3URL(s)
	if err != nil {
		return u, err
	}
	if u.Key == "" {
		return u, fmt.Errorf("%q names a bucket, not an object (expected s3://bucket/key)", s)
	}
	return u, nil
}

// CheckBucketName applies the rules every S3 bucket name follows (3 to 63 characters of
// lower-case letters, digits, dots and hyphens; legacy names with upper case or underscores
// are accepted since some S3-compatible servers allow them). It rejects what can never be a
// bucket: empty, too long, or holding characters that would change the request's path.
func CheckBucketName(b string) error {
	if len(b) < 3 || len(b) > 255 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters long (255 for legacy buckets)", b)
	}
	for _, r := range b {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
		default:
			return fmt.Errorf("bucket name %q contains %q; only letters, digits, '.', '-' and '_' are allowed", b, r)
		}
	}
	return nil
}
