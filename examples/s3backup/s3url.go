package main

import (
	"fmt"
	"strings"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// destination is an s3://bucket/prefix argument. Prefix is empty or ends with "/".
type destination struct {
	Bucket, Prefix string
}

func (d destination) String() string { return "s3://" + d.Bucket + "/" + d.Prefix }

// key returns the object key of the file at the relative path rel.
func (d destination) key(rel string) string { return d.Prefix + rel }

// manifestKey returns the manifest object's key.
func (d destination) manifestKey() string { return d.Prefix + manifestName }

// parseDestination parses s3://bucket[/prefix] with the bucket rule of every s3:// argument
// (cmdkit.ParseS3URL). A prefix not ending in "/" gets one, so that the backup of DIR is the
// objects below a "directory" of the bucket.
func parseDestination(s string) (destination, error) {
	u, err := cmdkit.ParseS3URL(s)
	if err != nil {
		return destination{}, err
	}
	prefix := u.Key
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if strings.HasPrefix(prefix, "/") || strings.Contains(prefix, "//") {
		return destination{}, fmt.Errorf("%q: the prefix has an empty path segment", s)
	}
	return destination{Bucket: u.Bucket, Prefix: prefix}, nil
}
