// Command s3mpu uploads large files to S3 as multipart uploads, checks beforehand that every
// multipart step is permitted (preflight), evaluates IAM policies offline, and lists, aborts
// and cleans up unfinished multipart uploads.
//
// It is built on the public packages of github.com/s3mpu/s3mpu (uploader, preflight, kmsperm)
// and the AWS SDK for Go v2. See README.md beside this file for the commands, the flags and the
// exit codes:
//
//	0    success
//	1    failure
//	2    usage error or invalid input
//	3    denied by preflight or by policy evaluation
//	130  interrupted (Ctrl-C): the upload was aborted, or kept for a later resume with --state
package main

import (
	"context"
	"os"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

func main() {
	cmdkit.Main(func(ctx context.Context, stop func(), args []string) int {
		return run(ctx, stop, args, os.Stdin, os.Stdout, os.Stderr)
	})
}
