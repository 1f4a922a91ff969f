// Command s3backup backs a directory up to S3, incrementally, and restores it.
//
//	s3backup run DIR s3://bucket/prefix        upload new and changed files (and --delete gone ones)
//	s3backup verify s3://bucket/prefix DIR     compare the manifest, the objects and the local files
//	s3backup restore s3://bucket/prefix DIR    download the backup into DIR
//
// A backup is the objects under the prefix (one per file, keyed by its path relative to DIR)
// plus a manifest object, PREFIX.s3backup/manifest.json, recording each file's size,
// modification time, mode, CRC32C and the object's ETag and version. The manifest is also
// cached locally; it lists only files whose upload completed, so an interrupted run is picked
// up by the next one, which skips what is recorded and unchanged (by size and modification
// time, without reading the file), continues the large files' multipart uploads from their
// resume state files (sending only the missing parts), and aborts any other multipart upload
// the interrupted run left.
//
// README.md in this directory describes the commands, the manifest and the exit codes.
//
// It is built on the s3mpu public API: the uploader for large files (multipart, retries,
// abort on failure) and preflight for checking permissions before anything is sent.
package main

import (
	"context"
	"os"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

func main() {
	cmdkit.Main(func(ctx context.Context, stop func(), args []string) int {
		return run(ctx, stop, args, os.Stdout, os.Stderr)
	})
}
